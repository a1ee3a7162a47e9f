#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <optional>

#include "raftbgp/transport/fragment.h"

namespace raftbgp::transport {
namespace {

using Status = Reassembler::Status;

// What one fragment slot of a pending message costs in the byte budget.
constexpr std::size_t kSlot = sizeof(std::optional<Bytes>);

FrameHeader frag(std::uint16_t index, std::uint16_t count, std::uint64_t seq = 1, std::uint64_t src = 1) {
  FrameHeader h;
  h.src = src;
  h.epoch = 1;
  h.sequence = seq;
  h.fragment_index = index;
  h.fragment_count = count;
  h.destinations = {2};
  return h;
}

Bytes body(std::size_t n, std::uint8_t seed = 0) {
  Bytes b(n);
  std::iota(b.begin(), b.end(), seed);
  return b;
}

TEST(Split, Cuts_into_budget_sized_pieces_and_keeps_empty_messages) {
  const Bytes m = body(10);
  auto pieces = split_message(m, 4);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[2].size(), 2u);
  EXPECT_EQ(split_message(ByteView{}, 4).size(), 1u);
  EXPECT_EQ(split_message(m, 10).size(), 1u);
}

TEST(Split, Budget_counts_header_and_tag) {
  EXPECT_EQ(max_fragment_bytes(2900, 1), 2900u - 46 - 8 - 16);
  EXPECT_EQ(max_fragment_bytes(2900, 2), 2900u - 46 - 16 - 16);
  EXPECT_EQ(max_fragment_bytes(50, 1), 0u);
}

TEST(Reassembler, Single_fragment_completes_without_buffering) {
  Reassembler r;
  auto o = r.add(frag(0, 1), body(5), 0);
  EXPECT_EQ(o.status, Status::kComplete);
  EXPECT_EQ(o.message, body(5));
  EXPECT_EQ(r.pending_messages(), 0u);
}

TEST(Reassembler, Reordered_and_duplicated_fragments_complete_once) {
  Reassembler r;
  const Bytes whole = body(30);
  auto piece = [&](int i) { return Bytes(whole.begin() + i * 10, whole.begin() + i * 10 + 10); };
  EXPECT_EQ(r.add(frag(2, 3), piece(2), 0).status, Status::kPending);
  EXPECT_EQ(r.add(frag(2, 3), piece(2), 0).status, Status::kDuplicate);
  EXPECT_EQ(r.add(frag(0, 3), piece(0), 1).status, Status::kPending);
  EXPECT_EQ(r.pending_bytes(), 20u + 3 * kSlot);
  auto o = r.add(frag(1, 3), piece(1), 2);
  EXPECT_EQ(o.status, Status::kComplete);
  EXPECT_EQ(o.message, whole);
  EXPECT_EQ(r.pending_messages(), 0u);
  EXPECT_EQ(r.pending_bytes(), 0u);
  EXPECT_EQ(r.stats().duplicate_fragments, 1u);
}

TEST(Reassembler, Lost_fragment_loses_the_message_after_max_age) {
  Reassembler r(ReassemblyLimits{.max_messages = 4, .max_bytes = 1000, .max_age_ticks = 10});
  r.add(frag(0, 2), body(10), 100);
  r.expire(110);
  EXPECT_EQ(r.pending_messages(), 1u);
  r.expire(111);
  EXPECT_EQ(r.pending_messages(), 0u);
  EXPECT_EQ(r.stats().expired, 1u);
  EXPECT_EQ(r.add(frag(1, 2), body(10), 112).status, Status::kPending);  // the rest alone never completes
}

TEST(Reassembler, Count_bound_evicts_the_oldest) {
  Reassembler r(ReassemblyLimits{.max_messages = 2, .max_bytes = 1000, .max_age_ticks = 100});
  r.add(frag(0, 2, 1), body(1), 1);
  r.add(frag(0, 2, 2), body(1), 2);
  r.add(frag(0, 2, 3), body(1), 3);
  EXPECT_EQ(r.pending_messages(), 2u);
  EXPECT_EQ(r.stats().evicted_count, 1u);
  EXPECT_EQ(r.add(frag(1, 2, 1), body(1), 4).status, Status::kPending);  // seq 1 was evicted
  EXPECT_EQ(r.add(frag(1, 2, 3), body(1), 4).status, Status::kComplete);
}

TEST(Reassembler, Byte_bound_evicts_the_oldest_possibly_itself) {
  Reassembler r(ReassemblyLimits{.max_messages = 10, .max_bytes = 6 * kSlot + 25, .max_age_ticks = 100});
  r.add(frag(0, 3, 1), body(10), 1);
  r.add(frag(0, 3, 2), body(10), 2);
  r.add(frag(1, 3, 2), body(10), 3);  // 6 slots + 30 > 6 slots + 25: seq 1 goes
  EXPECT_EQ(r.pending_messages(), 1u);
  EXPECT_EQ(r.pending_bytes(), 3 * kSlot + 20);
  EXPECT_EQ(r.stats().evicted_bytes, 1u);
  r.add(frag(0, 2, 9), body(3 * kSlot), 0);  // older first_tick than seq 2 -> it is the victim itself
  EXPECT_EQ(r.pending_bytes(), 3 * kSlot + 20);
  EXPECT_EQ(r.stats().evicted_bytes, 2u);
}

TEST(Reassembler, Too_large_and_inconsistent_messages_are_refused) {
  Reassembler r(ReassemblyLimits{
      .max_messages = 10, .max_bytes = 1000, .max_age_ticks = 100, .max_message_bytes = 2 * kMinFragmentBytes});
  EXPECT_EQ(r.add(frag(0, 1, 5), body(2 * kMinFragmentBytes + 1), 0).status, Status::kTooLarge);
  EXPECT_EQ(r.add(frag(0, 2, 1), body(300), 0).status, Status::kPending);
  EXPECT_EQ(r.add(frag(1, 2, 1), body(300), 0).status, Status::kTooLarge);
  EXPECT_EQ(r.pending_messages(), 0u);
  EXPECT_EQ(r.add(frag(0, 2, 2), body(1), 0).status, Status::kPending);
  EXPECT_EQ(r.add(frag(0, 3, 2), body(1), 0).status, Status::kInconsistent);
  EXPECT_EQ(r.pending_messages(), 0u);
}

TEST(Reassembler, Forget_drops_one_sender) {
  Reassembler r;
  r.add(frag(0, 2, 1, 1), body(3), 0);
  r.add(frag(0, 2, 1, 2), body(3), 0);
  r.forget(1);
  EXPECT_EQ(r.pending_messages(), 1u);
  EXPECT_EQ(r.pending_bytes(), 3u + 2 * kSlot);
}

// A header may claim up to 65,535 fragments; the old code allocated a slot table for that many (about
// 2 MiB per pending message, outside max_bytes). Counts no honest sender uses are refused outright.
TEST(Reassembler, Fragment_count_beyond_what_max_message_bytes_allows_is_refused_before_allocating) {
  Reassembler r;  // max_message_bytes 1 MiB -> at most 4,096 fragments of kMinFragmentBytes
  EXPECT_EQ(max_fragment_count(ReassemblyLimits{}.max_message_bytes), 4096u);
  EXPECT_EQ(r.add(frag(0, 65535), body(1), 0).status, Status::kTooLarge);
  EXPECT_EQ(r.add(frag(0, 4097), body(1), 0).status, Status::kTooLarge);
  EXPECT_EQ(r.pending_messages(), 0u);
  EXPECT_EQ(r.pending_bytes(), 0u);
}

// Allowed counts are charged to max_bytes for their slot tables, so many pending messages with large
// counts and one tiny fragment each stay within the budget (evicting the oldest).
TEST(Reassembler, Slot_tables_are_charged_to_the_byte_budget) {
  const ReassemblyLimits limits{.max_messages = 64, .max_bytes = 1 << 20, .max_age_ticks = 100};
  Reassembler r(limits);
  EXPECT_EQ(r.add(frag(0, 4096, 1), body(1), 0).status, Status::kPending);
  EXPECT_EQ(r.pending_bytes(), 4096 * kSlot + 1);
  for (std::uint64_t seq = 2; seq <= 64; ++seq) r.add(frag(0, 4096, seq), body(1), seq);
  EXPECT_LE(r.pending_bytes(), limits.max_bytes);
  EXPECT_GT(r.stats().evicted_bytes, 0u);
  const Reassembler tiny(ReassemblyLimits{.max_bytes = 100});
  Reassembler t = tiny;
  EXPECT_EQ(t.add(frag(0, 4, 1), body(1), 0).status, Status::kTooLarge);  // 4 slots alone exceed 100 bytes
}

}  // namespace
}  // namespace raftbgp::transport
