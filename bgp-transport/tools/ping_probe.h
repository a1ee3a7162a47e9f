// The probe that raftbgp-ping carries (tools/ping.cc): a small fixed header followed by filler.
//
// Sealed mode: the probe is the `context` of a raftbgp::v1::Message (type MSG_UNKNOWN, so a Raft node that
// receives one drops it) sent through the Transport. Raw mode: the probe is the attribute payload itself,
// announced unsealed on a prefix outside the mailbox plan, so the two can be compared in one run.
//
// Layout, big-endian, kProbeHeaderBytes bytes, then filler up to `size`:
//   0  4  magic "RBPG"
//   4  1  kind (1 ping, 2 pong)
//   5  1  mode (0 sealed, 1 raw)
//   6  2  reserved (0)
//   8  8  src: node that sent this probe
//  16  8  dst: node it is for
//  24  8  epoch of the ping's originator (ids restart with every epoch)
//  32  8  id: per originator and epoch, unique; a pong repeats its ping's id
//  40  8  t_send_ns: originator's CLOCK_REALTIME when it handed the ping to the transport (a pong repeats it)
//  48  4  size: total probe bytes the originator asked for
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "raftbgp/transport/big_endian.h"

namespace raftbgp::ping {

inline constexpr std::size_t kProbeHeaderBytes = 52;

enum class Kind : std::uint8_t { kPing = 1, kPong = 2 };
enum class Mode : std::uint8_t { kSealed = 0, kRaw = 1 };

struct Probe {
  Kind kind = Kind::kPing;
  Mode mode = Mode::kSealed;
  std::uint64_t src = 0;
  std::uint64_t dst = 0;
  std::uint64_t epoch = 0;
  std::uint64_t id = 0;
  std::uint64_t t_send_ns = 0;
  std::uint32_t size = 0;
};

// Encodes `p` padded to max(p.size, kProbeHeaderBytes) bytes. The filler depends on the id, so two probes
// never share a payload (ExaBGP suppresses an identical re-announcement, docs/exabgp.md §4.2).
inline std::string encode_probe(const Probe& p) {
  using transport::put_be;
  std::vector<std::uint8_t> b{'R', 'B', 'P', 'G', static_cast<std::uint8_t>(p.kind), static_cast<std::uint8_t>(p.mode),
                              0,   0};
  put_be(b, p.src, 8);
  put_be(b, p.dst, 8);
  put_be(b, p.epoch, 8);
  put_be(b, p.id, 8);
  put_be(b, p.t_send_ns, 8);
  put_be(b, p.size, 4);
  for (std::size_t i = kProbeHeaderBytes; i < p.size; ++i)
    b.push_back(static_cast<std::uint8_t>((i * 7 + p.id) & 0xff));
  return std::string(b.begin(), b.end());
}

// nullopt unless the bytes start with a well-formed header.
inline std::optional<Probe> decode_probe(std::string_view s) {
  if (s.size() < kProbeHeaderBytes || s.substr(0, 4) != "RBPG") return std::nullopt;
  Probe p;
  const auto kind = static_cast<unsigned char>(s[4]);
  const auto mode = static_cast<unsigned char>(s[5]);
  if ((kind != 1 && kind != 2) || mode > 1) return std::nullopt;
  p.kind = static_cast<Kind>(kind);
  p.mode = static_cast<Mode>(mode);
  const auto* b = reinterpret_cast<const std::uint8_t*>(s.data());
  p.src = transport::get_be(b + 8, 8);
  p.dst = transport::get_be(b + 16, 8);
  p.epoch = transport::get_be(b + 24, 8);
  p.id = transport::get_be(b + 32, 8);
  p.t_send_ns = transport::get_be(b + 40, 8);
  p.size = static_cast<std::uint32_t>(transport::get_be(b + 48, 4));
  return p;
}

}  // namespace raftbgp::ping
