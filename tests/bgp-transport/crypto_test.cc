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
  const SubkeyId a{7, 1, 1, 5};
  EXPECT_NE(derive_sender_key(k, a), derive_sender_key(k, {7, 1, 2, 5}));
  EXPECT_NE(derive_sender_key(k, a), derive_sender_key(k, {8, 1, 1, 5}));
  EXPECT_NE(derive_sender_key(k, a), derive_sender_key(k, {7, 2, 1, 5}));
  EXPECT_EQ(derive_sender_key(k, a), derive_sender_key(k, a));
  KeyRing ring;
  ring.add(1, k);
  EXPECT_EQ(ring.sender_key({7, 1, 2, 5})->key, derive_sender_key(k, {7, 1, 2, 5}));
  EXPECT_FALSE(ring.sender_key({7, 9, 2, 5}));
}

// A rolled-back epoch repeats (epoch, sequence, fragment), hence the nonce; the boot id makes the key differ.
TEST(SenderKey, Subkeys_differ_per_boot_id_so_a_repeated_epoch_never_reuses_a_key_nonce_pair) {
  const Key k = key_of(1);
  EXPECT_NE(derive_sender_key(k, {7, 1, 1, 5}), derive_sender_key(k, {7, 1, 1, 6}));
  EXPECT_NE(derive_sender_key(k, {7, 1, 1, 5}), derive_sender_key(k, {7, 1, 1, 0}));  // v1 derivation
  EXPECT_NE(random_boot_id(), random_boot_id());
  EXPECT_NE(random_boot_id(), 0u);
}

// The v1 derivation is unchanged (HKDF-SHA256, salt "raftbgp/v1", info cluster||key id||sender), so v1
// frames sealed by not yet upgraded nodes still open. Expected bytes computed with the released v1 code.
TEST(SenderKey, V1_derivation_is_unchanged_for_rolling_upgrades) {
  EXPECT_EQ(to_hex(derive_sender_key(key_of(1), {7, 1, 2, 0})),
            "6a8d9becec6c4e0d0435872ebd44bd45340a432abaeefc1e9fda3a7db2fb3261");
}

TEST(KeyFile, Parse_accepts_ids_hex_algorithms_and_comments) {
  const std::string text =
      "# cluster keys\n1 " + std::string(64, 'a') + "\n\n  2 " + std::string(64, 'B') + " aes-256-gcm  # rotated in\n";
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

// A temporary key file holding key id 5; its path is empty if it could not be written.
std::string write_temp_key_file() {
  char path[] = "/tmp/raftbgp-keys-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) return "";
  const std::string line = "5 " + std::string(64, 'c') + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  return ok ? std::string(path) : "";
}

TEST(KeyFile, Load_rejects_a_file_readable_by_group_or_other) {
  const std::string file = write_temp_key_file();
  ASSERT_FALSE(file.empty());
  const char* path = file.c_str();
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

// A key file must be the file itself: a symlink (which could point anywhere, checked or not), a FIFO (a
// writer could feed keys, and open() would block) or a device is refused with the path in the error.
TEST(KeyFile, Load_refuses_symlinks_fifos_and_devices) {
  char dir[] = "/tmp/raftbgp-keydir-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string real = std::string(dir) + "/keys", link = std::string(dir) + "/link",
                    fifo = std::string(dir) + "/fifo";
  std::ofstream(real) << "5 " << std::string(64, 'c') << "\n";
  ::chmod(real.c_str(), 0600);
  ASSERT_TRUE(std::holds_alternative<KeyRing>(load_key_file(real)));
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& bad : {link, fifo, std::string("/dev/null")}) {
    auto r = load_key_file(bad);
    ASSERT_TRUE(std::holds_alternative<KeyFileError>(r)) << bad;
    EXPECT_NE(std::get<KeyFileError>(r).message.find(bad), std::string::npos) << std::get<KeyFileError>(r).message;
  }
  EXPECT_NE(std::get<KeyFileError>(load_key_file(link)).message.find("symlink"), std::string::npos);
  EXPECT_NE(std::get<KeyFileError>(load_key_file(fifo)).message.find("regular file"), std::string::npos);
  ::unlink(link.c_str());
  ::unlink(fifo.c_str());
  ::unlink(real.c_str());
  ::rmdir(dir);
}

// Another user's key file is refused (it could swap the keys under us); root-owned is fine.
TEST(KeyFile, Load_refuses_a_file_owned_by_another_user) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown the file to another user";
  const std::string file = write_temp_key_file();
  ASSERT_FALSE(file.empty());
  const char* path = file.c_str();
  ASSERT_EQ(::chown(path, 4242, 4242), 0);
  auto r = load_key_file(path);
  ASSERT_TRUE(std::holds_alternative<KeyFileError>(r));
  EXPECT_NE(std::get<KeyFileError>(r).message.find("owned by uid 4242"), std::string::npos);
  ::unlink(path);
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
