// decode_hex's SSE2 path (16 digits at a time, src/hex.cc) against a digit-by-digit decoder: every pair of
// bytes at every position of a 40-digit string (two SSE2 blocks, then one word, then the table).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "raftbgp/transport/hex.h"

namespace raftbgp::transport {
namespace {

int value_of(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

TEST(DecodeHexSimd, Every_pair_of_bytes_at_every_position_of_two_blocks_decodes_as_digit_by_digit) {
  const std::string base = "0123456789abcdefABCDEF0123456789aBcDeF01";
  ASSERT_EQ(base.size(), 40u);
  std::vector<std::uint8_t> out(20);
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const bool valid = value_of(a) >= 0 && value_of(b) >= 0;
      for (std::size_t at = 0; at < base.size(); at += 2) {
        std::string hex = base;
        hex[at] = static_cast<char>(a);
        hex[at + 1] = static_cast<char>(b);
        ASSERT_EQ(decode_hex(hex, out), valid) << a << " " << b << " at " << at;
        if (!valid) continue;
        for (std::size_t i = 0; i < out.size(); ++i)
          ASSERT_EQ(out[i], value_of(hex[2 * i]) * 16 + value_of(hex[2 * i + 1])) << a << " " << b << " at " << at;
      }
    }
  }
}

TEST(DecodeHexSimd, Long_strings_round_trip_at_every_length_and_reject_one_bad_digit_anywhere) {
  for (std::size_t n = 0; n < 70; ++n) {
    Bytes bytes(n);
    for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<std::uint8_t>(i * 91 + n);
    const std::string hex = to_hex(bytes);
    EXPECT_EQ(from_hex(hex), bytes) << n;
    for (std::size_t at = 0; at < hex.size(); ++at) {
      std::string bad = hex;
      bad[at] = 'g';
      EXPECT_FALSE(from_hex(bad).has_value()) << n << " at " << at;
    }
  }
}

}  // namespace
}  // namespace raftbgp::transport
