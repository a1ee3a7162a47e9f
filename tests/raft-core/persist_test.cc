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

TEST(Persist, Truncates_the_overwritten_suffix_then_syncs_once_when_entries_start_inside_the_log) {
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

// The leader's commit-only Ready (the step that lets it answer a client) costs no fsync; a term or a vote
// is durable before the Ready's messages leave; a crash that loses the commit loses nothing else.
TEST(Persist, Syncs_a_term_or_vote_change_but_not_a_commit_only_change) {
  MemoryStorage s;
  HardState hs;
  hs.set_term(2);
  const std::vector<Entry> two{make_entry(1, 2), make_entry(2, 2)};
  EXPECT_TRUE(must_sync(s, std::nullopt, hs, two));
  persist(s, hs, two);
  ASSERT_EQ(s.sync_count(), 1u);
  hs.set_commit(1);
  EXPECT_FALSE(must_sync(s, std::nullopt, hs, {})) << "what the agent's replay windows follow too";
  EXPECT_FALSE(must_sync(s, std::nullopt, std::nullopt, {}));
  persist(s, hs, {});
  EXPECT_EQ(s.sync_count(), 1u);
  EXPECT_EQ(s.hard_state().commit(), 1u);  // written, readable at once
  s.drop_unsynced();                       // a crash now
  EXPECT_EQ(s.hard_state().commit(), 0u);
  EXPECT_EQ(s.last_index(), 2u);  // the entries were synced before
  hs.set_commit(2);
  persist(s, hs, {});
  hs.set_vote(3);
  EXPECT_TRUE(must_sync(s, std::nullopt, hs, {}));
  persist(s, hs, {});
  EXPECT_EQ(s.sync_count(), 2u);
  s.drop_unsynced();
  EXPECT_EQ(s.hard_state().vote(), 3u);
  EXPECT_EQ(s.hard_state().commit(), 2u);  // the vote's sync carried the commit along
  hs.set_term(3);
  hs.set_vote(0);
  persist(s, hs, {});
  EXPECT_EQ(s.sync_count(), 3u);
}

TEST(MemoryStorage, Drop_unsynced_forgets_the_writes_after_the_last_sync) {
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

Snapshot snapshot_at(Index index, Term term) {
  Snapshot snap;
  snap.meta.set_index(index);
  snap.meta.set_term(term);
  snap.data = "sm";
  return snap;
}

TEST(Persist, Syncs_once_and_saves_the_snapshot_before_the_entries_when_a_snapshot_comes) {
  MemoryStorage s;
  persist(s, std::nullopt, std::vector<Entry>{make_entry(1, 1), make_entry(2, 1)});
  HardState hs;
  hs.set_term(3);
  hs.set_commit(11);
  persist(s, snapshot_at(10, 3), hs, std::vector<Entry>{make_entry(11, 3)});
  EXPECT_EQ(s.sync_count(), 2u);
  EXPECT_EQ(s.first_index(), 11u);
  EXPECT_EQ(s.last_index(), 11u);
  EXPECT_EQ(s.hard_state().commit(), 11u);
}

// sync() copies only what changed since the last sync; with a snapshot offset the synced copy must
// still line up index for index.
TEST(MemoryStorage, Drop_unsynced_keeps_the_snapshot_and_forgets_only_later_writes) {
  MemoryStorage s;
  std::vector<Entry> log;
  for (Index i = 1; i <= 10; ++i) log.push_back(make_entry(i, 1));
  persist(s, std::nullopt, log);
  HardState hs;
  hs.set_term(1);
  hs.set_commit(5);
  s.save_hard_state(hs);
  s.save_snapshot(snapshot_at(5, 1));  // durable, with the commit before it
  s.store(std::vector<Entry>{make_entry(11, 1), make_entry(12, 1)});
  s.truncate(8);
  s.store(std::vector<Entry>{make_entry(8, 2)});
  s.drop_unsynced();
  EXPECT_EQ(s.first_index(), 6u);
  EXPECT_EQ(s.last_index(), 10u);
  EXPECT_EQ(s.term(5), Term{1});
  EXPECT_EQ(s.term(8), Term{1});
  EXPECT_EQ(s.hard_state().commit(), 5u);
  EXPECT_EQ(s.snapshot_metadata().index(), 5u);
  s.truncate(9);
  s.store(std::vector<Entry>{make_entry(9, 2), make_entry(10, 2), make_entry(11, 2)});
  s.sync();
  s.store(std::vector<Entry>{make_entry(12, 2)});
  s.drop_unsynced();
  EXPECT_EQ(s.last_index(), 11u);
  EXPECT_EQ(s.term(8), Term{1});
  EXPECT_EQ(s.term(9), Term{2});
  EXPECT_EQ(s.entries(6, 12, UINT64_MAX).size(), 6u);
}

}  // namespace
}  // namespace raftbgp::raft
