#include <gtest/gtest.h>

#include <openssl/evp.h>

#include <string>

#include "raftbgp/transport/replay.h"

namespace raftbgp::transport {
namespace {

TEST(ReplayWindow, Accepts_new_and_rejects_repeated_sequences) {
  ReplayWindow w;
  EXPECT_FALSE(w.is_replay(1, 1));
  w.mark(1, 1);
  EXPECT_TRUE(w.is_replay(1, 1));
  EXPECT_FALSE(w.is_replay(1, 2));
}

TEST(ReplayWindow, Accepts_reordered_sequences_inside_the_window_once) {
  ReplayWindow w;
  w.mark(1, 100);
  EXPECT_FALSE(w.is_replay(1, 99));
  w.mark(1, 99);
  EXPECT_TRUE(w.is_replay(1, 99));
  EXPECT_FALSE(w.is_replay(1, 50));
}

TEST(ReplayWindow, Edges_of_the_window) {
  ReplayWindow w;
  const std::uint64_t top = 5000;
  w.mark(1, top);
  EXPECT_FALSE(w.is_replay(1, top - (ReplayWindow::kWindowBits - 1)));  // oldest slot still in the window
  EXPECT_TRUE(w.is_replay(1, top - ReplayWindow::kWindowBits));         // just below: treated as replay
  w.mark(1, top - (ReplayWindow::kWindowBits - 1));
  EXPECT_TRUE(w.is_replay(1, top - (ReplayWindow::kWindowBits - 1)));
}

TEST(ReplayWindow, Sliding_clears_the_bits_of_skipped_sequences) {
  ReplayWindow w;
  w.mark(1, 1);                                                 // bit 1
  w.mark(1, 1 + ReplayWindow::kWindowBits + 1);                 // jump past the window: everything cleared
  EXPECT_TRUE(w.is_replay(1, 1));                               // too old
  EXPECT_FALSE(w.is_replay(1, ReplayWindow::kWindowBits + 1));  // same bit as 1, but never seen
  ReplayWindow v;
  v.mark(1, 10);
  v.mark(1, 10 + ReplayWindow::kWindowBits - 1);  // slide by less than the window
  EXPECT_TRUE(v.is_replay(1, 10));
  v.mark(1, 10 + ReplayWindow::kWindowBits);  // 10's slot now stands for 10 + kWindowBits
  EXPECT_TRUE(v.is_replay(1, 10));            // out of the window
  EXPECT_FALSE(v.is_replay(1, 11));
}

TEST(ReplayWindow, Higher_epoch_resets_lower_epoch_is_replay) {
  ReplayWindow w;
  w.mark(5, 900);
  EXPECT_FALSE(w.is_replay(6, 1));
  EXPECT_TRUE(w.is_replay(4, 1000));
  w.mark(6, 1);
  EXPECT_TRUE(w.is_replay(5, 901));  // the old boot can never come back
  EXPECT_TRUE(w.is_replay(6, 1));
  EXPECT_FALSE(w.is_replay(6, 2));
}

TEST(ReplayGuard, Windows_are_per_sender) {
  ReplayGuard g;
  g.mark(1, 1, 5);
  EXPECT_TRUE(g.is_replay(1, 1, 5));
  EXPECT_FALSE(g.is_replay(2, 1, 5));
  EXPECT_EQ(g.senders(), 1u);
}

TEST(ReplayGuard, Full_resend_after_session_reset_delivers_nothing_twice) {
  // The receiver saw sequences 1..300 in random-ish order, some lost; then the session flaps and the
  // sender's ExaBGP re-sends every still-announced slot (the last 64), in any order.
  ReplayGuard g;
  std::vector<std::uint64_t> delivered;
  for (std::uint64_t s = 1; s <= 300; ++s) {
    const std::uint64_t seq = (s % 2 == 0) ? s - 1 : s + 1 <= 300 ? s + 1 : s;  // pairwise swap
    if (seq % 7 == 0) continue;                                                 // lost
    if (!g.is_replay(1, 1, seq)) {
      g.mark(1, 1, seq);
      delivered.push_back(seq);
    }
  }
  std::size_t again = 0;
  for (std::uint64_t seq = 300; seq > 236; --seq) {
    if (!g.is_replay(1, 1, seq)) {
      EXPECT_EQ(seq % 7, 0u) << "only messages never delivered may pass: " << seq;
      g.mark(1, 1, seq);
      ++again;
    }
  }
  EXPECT_EQ(again, 9u);  // the lost ones inside the re-sent range: 238, 245, ..., 294
  for (std::uint64_t seq = 237; seq <= 300; ++seq) EXPECT_TRUE(g.is_replay(1, 1, seq));
}

ReplayGuard guard_with_history() {
  ReplayGuard g;
  g.mark(3, 7, 5000);
  g.mark(3, 7, 4990);
  g.mark(1, 2, 1);
  g.mark(9, 4, 70);
  return g;
}

std::string import_error(const Bytes& b) {
  auto r = ReplayGuard::import_state(b);
  return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : "";
}

TEST(ReplayGuard, Exported_state_imports_to_the_same_decisions) {
  const ReplayGuard g = guard_with_history();
  auto r = ReplayGuard::import_state(g.export_state());
  ASSERT_TRUE(std::holds_alternative<ReplayGuard>(r)) << std::get<std::string>(r);
  const ReplayGuard& back = std::get<ReplayGuard>(r);
  EXPECT_EQ(back.senders(), 3u);
  for (std::uint64_t src : {1u, 3u, 9u, 4u})
    for (std::uint64_t epoch : {1u, 2u, 4u, 7u, 8u})
      for (std::uint64_t seq : {1u, 2u, 69u, 70u, 71u, 3976u, 3977u, 4989u, 4990u, 4991u, 5000u, 5001u})
        EXPECT_EQ(back.is_replay(src, epoch, seq), g.is_replay(src, epoch, seq)) << src << " " << epoch << " " << seq;
  EXPECT_EQ(back.export_state(), g.export_state());
  EXPECT_EQ(ReplayGuard().export_state().size(), 14u + 32u);
  EXPECT_TRUE(std::holds_alternative<ReplayGuard>(ReplayGuard::import_state(ReplayGuard().export_state())));
}

TEST(ReplayGuard, Marks_count_every_change) {
  ReplayGuard g;
  EXPECT_EQ(g.marks(), 0u);
  g.mark(1, 1, 1);
  g.mark(1, 1, 2);
  EXPECT_EQ(g.marks(), 2u);
}

TEST(ReplayGuard, Import_refuses_truncated_corrupt_or_foreign_bytes_saying_why) {
  const Bytes good = guard_with_history().export_state();
  EXPECT_NE(import_error(Bytes(good.begin(), good.end() - 1)).find("does not match"), std::string::npos);
  EXPECT_NE(import_error(Bytes(good.begin(), good.begin() + 10)).find("truncated"), std::string::npos);
  EXPECT_NE(import_error(Bytes{}).find("truncated"), std::string::npos);
  Bytes flipped = good;
  flipped[40] ^= 1;
  EXPECT_NE(import_error(flipped).find("checksum"), std::string::npos);
  Bytes magic = good;
  magic[0] = 'X';
  EXPECT_NE(import_error(magic).find("magic"), std::string::npos);
  Bytes version = good;
  version[9] = 2;
  EXPECT_NE(import_error(version).find("version 2"), std::string::npos);
  Bytes longer = good;
  longer.push_back(0);
  EXPECT_NE(import_error(longer).find("does not match"), std::string::npos);
}

// Even with a valid checksum, entries must make sense (a file written by a buggy or foreign writer).
TEST(ReplayGuard, Import_refuses_unsorted_senders_and_out_of_range_values) {
  auto rewrite = [](Bytes b, std::size_t off, std::uint8_t v) {
    b[off] = v;
    b.resize(b.size() - 32);
    Bytes digest(32);
    unsigned int n = 0;
    EVP_Digest(b.data(), b.size(), digest.data(), &n, EVP_sha256(), nullptr);
    b.insert(b.end(), digest.begin(), digest.end());
    return b;
  };
  ReplayGuard one;
  one.mark(5, 1, 1);
  const Bytes good = one.export_state();
  EXPECT_NE(import_error(rewrite(good, 14 + 7, 0)).find("ascending"), std::string::npos);  // src 0
  EXPECT_NE(import_error(rewrite(good, 14 + 8, 1)).find("range"), std::string::npos);      // epoch >= 2^56
  EXPECT_NE(import_error(rewrite(good, 14 + 15, 0)).find("range"), std::string::npos);     // epoch 0
  EXPECT_NE(import_error(rewrite(good, 14 + 16, 1)).find("range"), std::string::npos);     // sequence >= 2^56
  EXPECT_EQ(import_error(rewrite(good, 14 + 23, 9)), "");  // a plain value change with a good checksum loads
}

}  // namespace
}  // namespace raftbgp::transport
