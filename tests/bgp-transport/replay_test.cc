#include <gtest/gtest.h>

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
  w.mark(1, 1);  // bit 1
  w.mark(1, 1 + ReplayWindow::kWindowBits + 1);  // jump past the window: everything cleared
  EXPECT_TRUE(w.is_replay(1, 1));                // too old
  EXPECT_FALSE(w.is_replay(1, ReplayWindow::kWindowBits + 1));  // same bit as 1, but never seen
  ReplayWindow v;
  v.mark(1, 10);
  v.mark(1, 10 + ReplayWindow::kWindowBits - 1);  // slide by less than the window
  EXPECT_TRUE(v.is_replay(1, 10));
  v.mark(1, 10 + ReplayWindow::kWindowBits);      // 10's slot now stands for 10 + kWindowBits
  EXPECT_TRUE(v.is_replay(1, 10));                // out of the window
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
    if (seq % 7 == 0) continue;  // lost
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

}  // namespace
}  // namespace raftbgp::transport
