#include <gtest/gtest.h>

#include <algorithm>

#include "raftbgp/transport/frame.h"
#include "raftbgp/transport/hex.h"
#include "test_util.h"

namespace raftbgp::transport {
namespace {

FrameHeader header(std::vector<std::uint64_t> dst = {2}) {
  FrameHeader h;
  h.cluster_id = 7;
  h.key_id = 1;
  h.src = 1;
  h.epoch = 4;
  h.sequence = 10;
  h.boot_id = 0x0102030405060708;
  h.destinations = std::move(dst);
  return h;
}

Bytes seal(const FrameHeader& h, std::string_view payload, KeyRing ring = testing::ring_with(1, 0x10)) {
  const Bytes p(payload.begin(), payload.end());
  return seal_frame(h, p, *ring.sender_key(h.subkey_id()));
}

RejectReason reason_of(ByteView frame, std::uint64_t me = 2, std::uint32_t cluster = 7) {
  KeyRing ring = testing::ring_with(1, 0x10);
  auto r = open_frame(frame, cluster, me, ring);
  EXPECT_FALSE(r.ok());
  return r.ok() ? RejectReason::kCount : r.reason();
}

TEST(Frame, Header_is_big_endian_with_the_documented_layout) {
  FrameHeader h = header({2, 3});
  h.fragment_index = 1;
  h.fragment_count = 2;
  Bytes out;
  h.encode(out);
  EXPECT_EQ(to_hex(out),
            "02"  // version
            "02"  // destination count
            "0001"
            "0002"              // fragment index, count
            "00000007"          // cluster
            "00000001"          // key id
            "0000000000000001"  // src
            "0000000000000004"  // epoch
            "000000000000000a"  // sequence
            "0102030405060708"  // boot id
            "0000000000000002"
            "0000000000000003");
  EXPECT_EQ(out.size(), h.encoded_size());
}

TEST(Frame, Seal_then_open_round_trips_for_every_destination) {
  const Bytes frame = seal(header({2, 3}), "hello");
  KeyRing ring = testing::ring_with(1, 0x10);
  for (std::uint64_t me : {std::uint64_t{2}, std::uint64_t{3}}) {
    auto r = open_frame(frame, 7, me, ring);
    ASSERT_TRUE(r.ok()) << to_string(r.reason());
    EXPECT_EQ(r.value().header.destinations, (std::vector<std::uint64_t>{2, 3}));
    EXPECT_EQ(std::string(r.value().plaintext.begin(), r.value().plaintext.end()), "hello");
    EXPECT_EQ(r.value().header.sequence, 10u);
  }
}

TEST(Frame, Aes_gcm_keys_work_too) {
  KeyRing ring = testing::ring_with(1, 0x10, AeadAlgorithm::kAes256Gcm);
  const Bytes frame = seal(header(), "x", ring);
  EXPECT_TRUE(open_frame(frame, 7, 2, ring).ok());
  KeyRing chacha = testing::ring_with(1, 0x10);
  EXPECT_EQ(open_frame(frame, 7, 2, chacha).reason(), RejectReason::kBadTag);
}

TEST(Frame, Rejects_malformed_when_empty_short_or_inconsistent) {
  EXPECT_EQ(reason_of({}), RejectReason::kMalformed);
  const Bytes good = seal(header(), "p");
  EXPECT_EQ(reason_of(ByteView(good).first(20)), RejectReason::kMalformed);
  EXPECT_EQ(reason_of(ByteView(good).first(kFrameFixedHeaderBytes + 8 + kTagBytes - 1)), RejectReason::kMalformed);
  auto patched = [&](std::size_t at, std::uint8_t v) {
    Bytes b = good;
    b[at] = v;
    return reason_of(b);
  };
  EXPECT_EQ(patched(1, 0), RejectReason::kMalformed);   // no destination
  EXPECT_EQ(patched(1, 33), RejectReason::kMalformed);  // too many
  EXPECT_EQ(patched(5, 0), RejectReason::kMalformed);   // fragment count 0
  EXPECT_EQ(patched(3, 1), RejectReason::kMalformed);   // index >= count
  EXPECT_EQ(patched(29, 0), RejectReason::kMalformed);  // epoch 0
  EXPECT_EQ(patched(37, 0), RejectReason::kMalformed);  // sequence 0
  EXPECT_EQ(patched(22, 1), RejectReason::kMalformed);  // epoch >= 2^32
}

TEST(Frame, Rejects_unsorted_or_zero_destinations_as_malformed) {
  Bytes b = seal(header({2, 3}), "p");
  std::swap_ranges(b.begin() + 38, b.begin() + 46, b.begin() + 46);  // {3, 2}
  EXPECT_EQ(reason_of(b), RejectReason::kMalformed);
}

TEST(Frame, Rejects_wrong_version) {
  Bytes b = seal(header(), "p");
  b[0] = 4;  // 1, 2 and 3 (v2 compressed) are known
  EXPECT_EQ(reason_of(b), RejectReason::kWrongVersion);
  b[0] = 0;
  EXPECT_EQ(reason_of(b), RejectReason::kWrongVersion);
}

TEST(Frame, Rejects_wrong_cluster) { EXPECT_EQ(reason_of(seal(header(), "p"), 2, 8), RejectReason::kWrongCluster); }

TEST(Frame, Rejects_not_for_me) { EXPECT_EQ(reason_of(seal(header({2, 3}), "p"), 4), RejectReason::kNotForMe); }

TEST(Frame, Rejects_own_echo) { EXPECT_EQ(reason_of(seal(header({2}), "p"), 1), RejectReason::kOwnEcho); }

TEST(Frame, Rejects_unknown_key) {
  FrameHeader h = header();
  KeyRing ring = testing::ring_with(9, 0x10);
  const Bytes p{1};
  h.key_id = 9;
  EXPECT_EQ(reason_of(seal_frame(h, p, *ring.sender_key(h.subkey_id()))), RejectReason::kUnknownKey);
}

TEST(Frame, Rejects_bad_tag_for_wrong_key_tampered_header_or_body) {
  EXPECT_EQ(reason_of(seal(header(), "p", testing::ring_with(1, 0x99))), RejectReason::kBadTag);
  Bytes b = seal(header(), "payload");
  b[37] ^= 1;  // sequence: authenticated as associated data
  EXPECT_EQ(reason_of(b), RejectReason::kBadTag);
  Bytes c = seal(header(), "payload");
  c.back() ^= 1;
  EXPECT_EQ(reason_of(c), RejectReason::kBadTag);
}

TEST(Frame, Rejects_too_large) {
  Bytes b = seal(header(), std::string(kMaxFrameBytes, 'x').substr(0, kMaxFrameBytes - 100));
  b.resize(kMaxFrameBytes + 1);
  EXPECT_EQ(reason_of(b), RejectReason::kTooLarge);
}

// Rolling upgrade: frames sealed by a node still on v1 (no boot id, v1 subkey) are opened.
TEST(Frame, V1_frames_from_not_yet_upgraded_nodes_still_open) {
  FrameHeader h = header();
  h.version = kFrameVersionV1;
  h.boot_id = 0;
  Bytes frame;
  h.encode(frame);
  EXPECT_EQ(frame.size(), kFrameFixedHeaderBytesV1 + 8);
  const Bytes p{'v', '1'};
  const Key sub = derive_sender_key(testing::key_of(0x10), {7, 1, 1, 0});
  const Bytes sealed = aead_seal(AeadAlgorithm::kChaCha20Poly1305, sub, derive_nonce(4, 10, 0), frame, p);
  frame.insert(frame.end(), sealed.begin(), sealed.end());
  KeyRing ring = testing::ring_with(1, 0x10);
  auto r = open_frame(frame, 7, 2, ring);
  ASSERT_TRUE(r.ok()) << to_string(r.reason());
  EXPECT_EQ(r.value().header.version, kFrameVersionV1);
  EXPECT_EQ(r.value().plaintext, p);
}

TEST(Frame, V2_header_without_a_boot_id_is_malformed) {
  Bytes b = seal(header(), "p");
  for (std::size_t i = 38; i < 46; ++i) b[i] = 0;
  EXPECT_EQ(reason_of(b), RejectReason::kMalformed);
}

// Same (epoch, sequence) from two boots of one sender (a rolled-back epoch file): different ciphertexts,
// because the boot id selects another subkey; each still opens.
TEST(Frame, Same_epoch_and_sequence_in_two_boots_seal_under_different_keys) {
  FrameHeader a = header(), b = header();
  b.boot_id = a.boot_id + 1;
  const Bytes fa = seal(a, "same plaintext"), fb = seal(b, "same plaintext");
  EXPECT_FALSE(std::equal(fa.begin() + 46 + 8, fa.end(), fb.begin() + 46 + 8));
  KeyRing ring = testing::ring_with(1, 0x10);
  EXPECT_TRUE(open_frame(fa, 7, 2, ring).ok());
  EXPECT_TRUE(open_frame(fb, 7, 2, ring).ok());
}

// Forged sender (or boot) ids cost one HKDF each but never enter the subkey cache, so they cannot flush
// the subkeys of real peers (on the old code 4,096 forged ids cleared the whole cache).
TEST(Frame, Forged_sender_ids_do_not_churn_the_subkey_cache) {
  KeyRing ring = testing::ring_with(1, 0x10);
  ASSERT_TRUE(open_frame(seal(header(), "real"), 7, 2, ring).ok());
  EXPECT_EQ(ring.cached_subkeys(), 1u);
  KeyRing attacker = testing::ring_with(1, 0x99);
  for (std::uint64_t src = 100; src < 100 + 2 * KeyRing::kMaxCachedSubkeys; ++src) {
    FrameHeader h = header();
    h.src = src;
    auto r = open_frame(seal(h, "forged", attacker), 7, 2, ring);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.reason(), RejectReason::kBadTag);
  }
  EXPECT_EQ(ring.cached_subkeys(), 1u);
  const std::uint64_t before = ring.derivations();
  ASSERT_TRUE(open_frame(seal(header(), "real again"), 7, 2, ring).ok());
  EXPECT_EQ(ring.derivations(), before);  // the real peer's subkey was still cached
}

TEST(Frame, Source_other_than_the_mailbox_is_refused_before_any_key_work) {
  KeyRing ring = testing::ring_with(1, 0x10);
  auto r = open_frame(seal(header(), "p"), 7, 2, ring, /*expected_src=*/3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.reason(), RejectReason::kMalformed);
  EXPECT_EQ(ring.derivations(), 0u);
  EXPECT_EQ(ring.cached_subkeys(), 0u);
  EXPECT_TRUE(open_frame(seal(header(), "p"), 7, 2, ring, 1).ok());
}

TEST(Frame, Every_reason_has_a_name) {
  for (std::size_t i = 0; i < kRejectReasonCount; ++i) EXPECT_NE(to_string(static_cast<RejectReason>(i)), "unknown");
}

}  // namespace
}  // namespace raftbgp::transport
