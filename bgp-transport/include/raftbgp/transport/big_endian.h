// Big-endian (network byte order) integers of 1..8 bytes, for the hand-written binary layouts: the frame header
// (frame.h), the replay state file (replay.h) and raftbgp-ping's probe (tools/ping_probe.h). Pure, no IO.
#pragma once

#include <cstdint>
#include <vector>

namespace raftbgp::transport {

// Appends the low `bytes` bytes of `v`, most significant first. Precondition: 1 <= bytes <= 8.
inline void put_be(std::vector<std::uint8_t>& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// Reads `bytes` bytes at `p`, most significant first. Precondition: p points at `bytes` readable bytes.
inline std::uint64_t get_be(const std::uint8_t* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace raftbgp::transport
