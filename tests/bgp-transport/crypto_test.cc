#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "raftbgp/transport/crypto.h"
#include "raftbgp/transport/hex.h"
#include "test_util.h"

namespace raftbgp::transport {
namespace {

using testing::key_of;

Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

class AeadTest : public ::testing::TestWithParam<AeadAlgorithm> {};

TEST_P(AeadTest, Seal_then_open_round_trips_and_binds_aad) {
  const Key k = key_of(1);
  const Nonce n = derive_nonce(3, 99, 2);
  const Bytes aad = bytes_of("header"), pt = bytes_of("raft message");
  const Bytes sealed = aead_seal(GetParam(), k, n, aad, pt);
  ASSERT_EQ(sealed.size(), pt.size() + kTagBytes);
  auto opened = aead_open(GetParam(), k, n, aad, sealed);
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, pt);
  EXPECT_FALSE(aead_open(GetParam(), k, n, bytes_of("headeR"), sealed));
  EXPECT_FALSE(aead_open(GetParam(), key_of(2), n, aad, sealed));
  EXPECT_FALSE(aead_open(GetParam(), k, derive_nonce(3, 99, 3), aad, sealed));
  Bytes tampered = sealed;
  tampered[0] ^= 1;
  EXPECT_FALSE(aead_open(GetParam(), k, n, aad, tampered));
  EXPECT_FALSE(aead_open(GetParam(), k, n, aad, ByteView(sealed).first(kTagBytes - 1)));
}

INSTANTIATE_TEST_SUITE_P(Both, AeadTest,
                         ::testing::Values(AeadAlgorithm::kChaCha20Poly1305, AeadAlgorithm::kAes256Gcm));

TEST(Nonce, Derive_nonce_is_epoch_sequence_fragment_big_endian) {
  const Nonce n = derive_nonce(0x01020304, 0x0a0b0c0d0e0f, 0x1112);
  EXPECT_EQ(to_hex(n), "010203040a0b0c0d0e0f1112");
  EXPECT_NE(derive_nonce(1, 2, 0), derive_nonce(1, 2, 1));
  EXPECT_NE(derive_nonce(1, 2, 0), derive_nonce(2, 2, 0));
}

TEST(SenderKey, Subkeys_differ_per_sender_cluster_and_key_id) {
  const Key k = key_of(1);
  EXPECT_NE(derive_sender_key(k, 7, 1, 1), derive_sender_key(k, 7, 1, 2));
  EXPECT_NE(derive_sender_key(k, 7, 1, 1), derive_sender_key(k, 8, 1, 1));
  EXPECT_NE(derive_sender_key(k, 7, 1, 1), derive_sender_key(k, 7, 2, 1));
  EXPECT_EQ(derive_sender_key(k, 7, 1, 1), derive_sender_key(k, 7, 1, 1));
  KeyRing ring;
  ring.add(1, k);
  EXPECT_EQ(ring.sender_key(7, 1, 2)->key, derive_sender_key(k, 7, 1, 2));
  EXPECT_FALSE(ring.sender_key(7, 9, 2));
}

TEST(KeyFile, Parse_accepts_ids_hex_algorithms_and_comments) {
  const std::string text = "# cluster keys\n1 " + std::string(64, 'a') + "\n\n  2 " + std::string(64, 'B') +
                           " aes-256-gcm  # rotated in\n";
  auto r = parse_key_file(text, "keys");
  ASSERT_TRUE(std::holds_alternative<KeyRing>(r)) << std::get<KeyFileError>(r).message;
  const KeyRing& ring = std::get<KeyRing>(r);
  EXPECT_EQ(ring.size(), 2u);
  EXPECT_EQ(ring.find(1)->algorithm, AeadAlgorithm::kChaCha20Poly1305);
  EXPECT_EQ(ring.find(2)->algorithm, AeadAlgorithm::kAes256Gcm);
  EXPECT_EQ(ring.find(2)->key[0], 0xbb);
}

TEST(KeyFile, Parse_rejects_bad_lines_with_line_number) {
  for (const std::string& bad : {"x " + std::string(64, 'a'), "1 " + std::string(62, 'a'),
                                 "1 " + std::string(63, 'a') + "g", "1 " + std::string(64, 'a') + " rot13",
                                 "1 " + std::string(64, 'a') + "\n1 " + std::string(64, 'b'), std::string("# none")}) {
    auto r = parse_key_file(bad, "k");
    ASSERT_TRUE(std::holds_alternative<KeyFileError>(r)) << bad;
    EXPECT_EQ(std::get<KeyFileError>(r).message.rfind("k:", 0), 0u);
  }
}

TEST(KeyFile, Load_rejects_a_file_readable_by_group_or_other) {
  char path[] = "/tmp/raftbgp-keys-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string line = "5 " + std::string(64, 'c') + "\n";
  ASSERT_EQ(::write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
  ::close(fd);
  ::chmod(path, 0600);
  auto ok = load_key_file(path);
  ASSERT_TRUE(std::holds_alternative<KeyRing>(ok)) << std::get<KeyFileError>(ok).message;
  EXPECT_TRUE(std::get<KeyRing>(ok).contains(5));
  ::chmod(path, 0640);
  auto bad = load_key_file(path);
  ASSERT_TRUE(std::holds_alternative<KeyFileError>(bad));
  EXPECT_NE(std::get<KeyFileError>(bad).message.find("0640"), std::string::npos);
  ::unlink(path);
  auto missing = load_key_file(path);
  ASSERT_TRUE(std::holds_alternative<KeyFileError>(missing));
  EXPECT_NE(std::get<KeyFileError>(missing).message.find(path), std::string::npos);
}

TEST(Hex, Round_trips_and_rejects_odd_or_non_hex) {
  EXPECT_EQ(to_hex(Bytes{0x00, 0xab, 0xff}), "00abff");
  EXPECT_EQ(*from_hex("00ABff"), (Bytes{0x00, 0xab, 0xff}));
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
  EXPECT_TRUE(from_hex("")->empty());
}

}  // namespace
}  // namespace raftbgp::transport
