// Entry points shared by the libFuzzer targets (built with clang when RAFTBGP_BUILD_FUZZ=ON) and by the
// corpus replay test (tests/bgp-transport/corpus_test.cc, always built), so both drive the same code.
// Each must accept any bytes without crashing, throwing, or leaking.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "raftbgp/transport/transport.h"

namespace raftbgp::transport::fuzz {

// The golden key (tests/bgp-transport/golden/golden.key): seeds sealed with it reach past the tag check.
inline KeyRing fuzz_key_ring() {
  Key k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i);
  KeyRing r;
  r.add(1, k);
  return r;
}

// Frame parser and opener as node 2 of cluster 7, then the replay and reassembly path of a Transport.
inline void fuzz_frame(const std::uint8_t* data, std::size_t size) {
  const ByteView bytes(data, size);
  (void)Frame::parse(bytes);
  static KeyRing ring = fuzz_key_ring();
  Result<OpenedFrame> r = open_frame(bytes, 7, 2, ring);
  if (r.ok()) {
    static Reassembler reassembler(ReassemblyLimits{.max_messages = 8, .max_bytes = 1 << 16, .max_age_ticks = 4});
    static std::uint64_t tick = 0;
    (void)reassembler.add(r.value().header, r.value().plaintext, ++tick);
    reassembler.expire(tick);
  }
}

// The replay state file decoder (replay.h): any bytes give a guard or an error; a guard re-exports to
// exactly the bytes it was read from (the format has one encoding per state).
inline void fuzz_replay_state(const std::uint8_t* data, std::size_t size) {
  auto r = ReplayGuard::import_state(ByteView(data, size));
  if (auto* g = std::get_if<ReplayGuard>(&r)) {
    const Bytes again = g->export_state();
    if (again.size() != size || !std::equal(again.begin(), again.end(), data)) __builtin_trap();
    (void)g->is_replay(1, 1, 1);
  }
}

// The ExaBGP line parser, and the whole receive path of node 2's Transport (state persists across inputs,
// like a long-running agent).
inline void fuzz_exabgp_line(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  (void)parse_exabgp_line(line, 0xff);
  static Transport* transport = [] {
    TransportConfig c;
    c.cluster_id = 7;
    c.my_id = 2;
    c.members = {1, 2, 3};
    c.next_hop_ipv6 = "fd00:255:3::2";
    c.keys = fuzz_key_ring();
    c.active_key_id = 1;
    c.epoch = 1;
    return new Transport(std::get<Transport>(Transport::create(c)));  // lives for the process
  }();
  static std::uint64_t tick = 0;
  (void)transport->on_line(line, ++tick);
  transport->tick(tick);
}

}  // namespace raftbgp::transport::fuzz
