// CRC32C (crc32c.h): the standard check value, known vectors from RFC 3720 (iSCSI) B.4, and the
// slicing-by-8 path agreeing with a bit-at-a-time reference at every length and alignment.
#include "raftbgp/raft/crc32c.h"

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace raftbgp::raft {
namespace {

std::uint32_t reference_crc32c(std::span<const std::uint8_t> data) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (const std::uint8_t b : data) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c & 1u) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return ~c;
}

TEST(Crc32c, Matches_the_standard_check_value_for_123456789) { EXPECT_EQ(crc32c("123456789"), 0xE3069283u); }

TEST(Crc32c, Matches_rfc3720_vectors_for_zeros_ones_and_counting_bytes) {
  std::vector<std::uint8_t> bytes(32, 0x00);
  EXPECT_EQ(crc32c(bytes), 0x8A9136AAu);
  bytes.assign(32, 0xFF);
  EXPECT_EQ(crc32c(bytes), 0x62A8AB43u);
  for (std::size_t i = 0; i < 32; ++i) bytes[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(crc32c(bytes), 0x46DD794Eu);
  for (std::size_t i = 0; i < 32; ++i) bytes[i] = static_cast<std::uint8_t>(31 - i);
  EXPECT_EQ(crc32c(bytes), 0x113FDB5Cu);
}

TEST(Crc32c, Is_zero_when_the_input_is_empty) { EXPECT_EQ(crc32c(""), 0u); }

TEST(Crc32c, Agrees_with_the_bitwise_reference_at_every_length_and_offset) {
  std::vector<std::uint8_t> bytes(300);
  std::uint32_t x = 12345;
  for (auto& b : bytes) {
    x = x * 1103515245u + 12345u;
    b = static_cast<std::uint8_t>(x >> 16);
  }
  for (std::size_t offset = 0; offset < 8; ++offset) {
    for (std::size_t len = 0; offset + len <= bytes.size(); ++len) {
      const std::span<const std::uint8_t> part(bytes.data() + offset, len);
      ASSERT_EQ(crc32c(part), reference_crc32c(part)) << "offset " << offset << " len " << len;
    }
  }
}

TEST(Crc32c, Extend_continues_a_crc_when_the_input_is_split_anywhere) {
  const std::string text = "The quick brown fox jumps over the lazy dog, twice over.";
  const std::uint32_t whole = crc32c(text);
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    const std::string_view view(text);
    EXPECT_EQ(crc32c_extend(crc32c(view.substr(0, cut)), view.substr(cut)), whole) << cut;
  }
}

}  // namespace
}  // namespace raftbgp::raft
