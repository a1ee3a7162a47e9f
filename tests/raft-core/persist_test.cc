// persist(): the driver's step 1 of the ready loop (node.h). It must overwrite a conflicting suffix,
// save the hard state after the entries it refers to, and sync exactly once per Ready.
#include <gtest/gtest.h>

#include "raftbgp/raft/memory_storage.h"
#include "raftbgp/raft/storage.h"

namespace raftbgp::raft {
namespace {

Entry make_entry(Index index, Term term) {
  Entry e;
  e.set_index(index);
  e.set_term(term);
  return e;
}

TEST(Persist_truncates_overwritten_suffix_then_syncs_once, when_entries_start_inside_the_log) {
  MemoryStorage s;
  std::vector<Entry> first{make_entry(1, 1), make_entry(2, 1), make_entry(3, 1)};
  persist(s, std::nullopt, first);
  ASSERT_EQ(s.last_index(), 3u);
  std::vector<Entry> second{make_entry(2, 2)};
  HardState hs;
  hs.set_term(2);
  hs.set_commit(2);
  persist(s, hs, second);
  EXPECT_EQ(s.last_index(), 2u);
  EXPECT_EQ(s.term(2), Term{2});
  EXPECT_EQ(s.hard_state().commit(), 2u);
  EXPECT_EQ(s.sync_count(), 2u);
}

TEST(MemoryStorage_drop_unsynced_forgets_writes, after_the_last_sync) {
  MemoryStorage s;
  std::vector<Entry> one{make_entry(1, 1)};
  persist(s, std::nullopt, one);
  std::vector<Entry> two{make_entry(2, 1)};
  s.store(two);
  HardState hs;
  hs.set_term(5);
  hs.set_vote(3);
  s.save_hard_state(hs);
  s.drop_unsynced();
  EXPECT_EQ(s.last_index(), 1u);
  EXPECT_EQ(s.hard_state().term(), 0u);
}

}  // namespace
}  // namespace raftbgp::raft
