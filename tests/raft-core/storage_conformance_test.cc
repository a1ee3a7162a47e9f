// One conformance suite for every Storage (storage.h): MemoryStorage and WalStorage must answer the
// same calls the same way, so the core and the simulator can rely on the contract, not on one store.
#include <stdlib.h>  // mkdtemp

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "raftbgp/raft/memory_storage.h"
#include "raftbgp/raft/storage.h"
#include "raftbgp/raft/wal_storage.h"

namespace raftbgp::raft {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/raftbgp-conformance-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A harness gives the suite a fresh store and a way to "restart the process" on it.
class MemoryHarness {
 public:
  Storage& storage() { return storage_; }
  // A restart keeps what was synced (the simulator's crash model, memory_storage.h).
  Storage& reopen() {
    storage_.drop_unsynced();
    return storage_;
  }

 private:
  MemoryStorage storage_;
};

class WalHarness {
 public:
  WalHarness() { open(); }
  Storage& storage() { return *storage_; }
  Storage& reopen() {
    storage_.reset();
    open();
    return *storage_;
  }

 private:
  void open() {
    // Tiny segments, so that the suite also runs across segment roll-overs.
    WalOpenResult r = WalStorage::open(dir_.path() + "/wal", WalOptions{.segment_bytes = 512});
    if (!r.ok()) {
      ADD_FAILURE() << r.error().message();
      std::abort();
    }
    storage_ = r.take();
  }
  TempDir dir_;
  std::unique_ptr<WalStorage> storage_;
};

Entry make_entry(Index index, Term term, std::string data = {}) {
  Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(std::move(data));
  return e;
}

// Entries first..last (inclusive) of one term, each with `data_bytes` of payload.
std::vector<Entry> make_entries(Index first, Index last, Term term, std::size_t data_bytes = 16) {
  std::vector<Entry> out;
  for (Index i = first; i <= last; ++i) {
    out.push_back(make_entry(i, term, std::string(data_bytes, static_cast<char>('a' + i % 26))));
  }
  return out;
}

HardState make_hard_state(Term term, NodeId vote, Index commit) {
  HardState hs;
  hs.set_term(term);
  hs.set_vote(vote);
  hs.set_commit(commit);
  return hs;
}

Snapshot make_snapshot(Index index, Term term, std::string data = "state machine bytes") {
  Snapshot snap;
  snap.meta.set_index(index);
  snap.meta.set_term(term);
  snap.meta.mutable_conf_state()->add_voters(1);
  snap.meta.mutable_conf_state()->add_voters(2);
  snap.meta.mutable_conf_state()->add_learners(7);
  snap.data = std::move(data);
  return snap;
}

void expect_same_snapshot(const std::optional<Snapshot>& got, const Snapshot& want) {
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->meta.SerializeAsString(), want.meta.SerializeAsString());
  EXPECT_EQ(got->data, want.data);
}

void expect_same_entries(const std::vector<Entry>& got, const std::vector<Entry>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].SerializeAsString(), want[i].SerializeAsString()) << "entry " << i;
  }
}

template <class Harness>
class StorageConformance : public ::testing::Test {
 protected:
  Harness harness_;
  Storage& s() { return harness_.storage(); }
};

class HarnessNames {
 public:
  template <class T>
  static std::string GetName(int) {
    return std::is_same_v<T, MemoryHarness> ? "MemoryStorage" : "WalStorage";
  }
};

using Harnesses = ::testing::Types<MemoryHarness, WalHarness>;
TYPED_TEST_SUITE(StorageConformance, Harnesses, HarnessNames);

TYPED_TEST(StorageConformance, Empty_store_has_first_index_1_last_index_0_and_zero_hard_state) {
  Storage& s = this->s();
  EXPECT_EQ(s.first_index(), 1u);
  EXPECT_EQ(s.last_index(), 0u);
  EXPECT_EQ(s.term(0), Term{0});
  EXPECT_EQ(s.term(1), std::nullopt);
  EXPECT_TRUE(s.entries(1, 1, 1000).empty());
  const HardState hs = s.hard_state();
  EXPECT_EQ(hs.term(), 0u);
  EXPECT_EQ(hs.vote(), 0u);
  EXPECT_EQ(hs.commit(), 0u);
}

TYPED_TEST(StorageConformance, Store_then_query_returns_the_entries_and_their_terms) {
  Storage& s = this->s();
  std::vector<Entry> want = make_entries(1, 2, 1);
  const std::vector<Entry> more = make_entries(3, 5, 2);
  want.insert(want.end(), more.begin(), more.end());
  s.store(std::span<const Entry>(want).first(2));
  s.store(std::span<const Entry>(want).subspan(2));
  EXPECT_EQ(s.first_index(), 1u);
  EXPECT_EQ(s.last_index(), 5u);
  EXPECT_EQ(s.term(2), Term{1});
  EXPECT_EQ(s.term(3), Term{2});
  EXPECT_EQ(s.term(5), Term{2});
  EXPECT_EQ(s.term(6), std::nullopt);
  expect_same_entries(s.entries(1, 6, UINT64_MAX), want);
  expect_same_entries(s.entries(2, 4, UINT64_MAX), {want[1], want[2]});
}

TYPED_TEST(StorageConformance, Store_of_an_empty_batch_changes_nothing) {
  Storage& s = this->s();
  s.store({});
  EXPECT_EQ(s.last_index(), 0u);
  s.store(make_entries(1, 1, 1));
  s.store({});
  EXPECT_EQ(s.last_index(), 1u);
}

TYPED_TEST(StorageConformance, Entries_stop_at_max_bytes_but_return_at_least_one) {
  Storage& s = this->s();
  const std::vector<Entry> all = make_entries(1, 5, 1, 100);
  s.store(all);
  const std::uint64_t one = all[0].ByteSizeLong();
  EXPECT_EQ(s.entries(1, 6, 0).size(), 1u);
  EXPECT_EQ(s.entries(1, 6, one - 1).size(), 1u);
  EXPECT_EQ(s.entries(1, 6, one).size(), 1u);
  EXPECT_EQ(s.entries(1, 6, 2 * one).size(), 2u);
  EXPECT_EQ(s.entries(1, 6, 3 * one - 1).size(), 2u);
  EXPECT_EQ(s.entries(2, 6, 3 * one).size(), 3u);
  expect_same_entries(s.entries(1, 6, UINT64_MAX), all);
}

TYPED_TEST(StorageConformance, Truncate_then_store_overwrites_the_suffix) {
  Storage& s = this->s();
  s.store(make_entries(1, 5, 1));
  s.truncate(3);
  EXPECT_EQ(s.last_index(), 2u);
  EXPECT_EQ(s.term(3), std::nullopt);
  s.store(make_entries(3, 4, 2));
  EXPECT_EQ(s.last_index(), 4u);
  EXPECT_EQ(s.term(2), Term{1});
  EXPECT_EQ(s.term(3), Term{2});
  EXPECT_EQ(s.entries(3, 4, UINT64_MAX).at(0).term(), 2u);
}

TYPED_TEST(StorageConformance, Truncate_at_last_index_plus_one_is_a_no_op) {
  Storage& s = this->s();
  s.store(make_entries(1, 3, 1));
  s.truncate(4);
  EXPECT_EQ(s.last_index(), 3u);
  s.truncate(1);
  EXPECT_EQ(s.last_index(), 0u);
  EXPECT_EQ(s.term(1), std::nullopt);
}

TYPED_TEST(StorageConformance, Hard_state_round_trips) {
  Storage& s = this->s();
  s.save_hard_state(make_hard_state(3, 2, 0));
  EXPECT_EQ(s.hard_state().term(), 3u);
  EXPECT_EQ(s.hard_state().vote(), 2u);
  s.store(make_entries(1, 4, 3));
  s.save_hard_state(make_hard_state(3, 2, 3));
  EXPECT_EQ(s.hard_state().commit(), 3u);
  s.save_hard_state(make_hard_state(4, 0, 3));
  const HardState hs = s.hard_state();
  EXPECT_EQ(hs.term(), 4u);
  EXPECT_EQ(hs.vote(), 0u);
  EXPECT_EQ(hs.commit(), 3u);
}

TYPED_TEST(StorageConformance, Persist_truncates_a_conflicting_suffix_stores_and_saves) {
  Storage& s = this->s();
  persist(s, make_hard_state(1, 1, 0), make_entries(1, 3, 1));
  const std::vector<Entry> second = make_entries(2, 2, 2);
  persist(s, make_hard_state(2, 1, 2), second);
  EXPECT_EQ(s.last_index(), 2u);
  EXPECT_EQ(s.term(2), Term{2});
  EXPECT_EQ(s.hard_state().term(), 2u);
  EXPECT_EQ(s.hard_state().commit(), 2u);
  persist(s, std::nullopt, {});
  EXPECT_EQ(s.last_index(), 2u);
}

TYPED_TEST(StorageConformance, Synced_state_survives_a_restart) {
  Storage& s = this->s();
  const std::vector<Entry> first = make_entries(1, 30, 1, 40);
  persist(s, make_hard_state(1, 7, 0), first);
  s.truncate(20);
  const std::vector<Entry> second = make_entries(20, 25, 2, 40);
  persist(s, make_hard_state(2, 0, 22), second);
  Storage& r = this->harness_.reopen();
  EXPECT_EQ(r.last_index(), 25u);
  EXPECT_EQ(r.term(19), Term{1});
  EXPECT_EQ(r.term(20), Term{2});
  expect_same_entries(r.entries(20, 26, UINT64_MAX), second);
  EXPECT_EQ(r.hard_state().term(), 2u);
  EXPECT_EQ(r.hard_state().vote(), 0u);
  EXPECT_EQ(r.hard_state().commit(), 22u);
}

// Precondition violations are bugs in the caller: they abort loudly (types.h, RAFT_ASSERT).
TYPED_TEST(StorageConformance, Store_with_a_gap_aborts) {
  Storage& s = this->s();
  s.store(make_entries(1, 2, 1));
  const std::vector<Entry> gap = make_entries(4, 4, 1);
  EXPECT_DEATH(s.store(gap), "invariant violated");
}

TYPED_TEST(StorageConformance, Truncate_at_or_below_commit_aborts) {
  Storage& s = this->s();
  s.store(make_entries(1, 3, 1));
  s.save_hard_state(make_hard_state(1, 0, 2));
  EXPECT_DEATH(s.truncate(2), "invariant violated");
}

TYPED_TEST(StorageConformance, Entries_outside_the_log_abort) {
  Storage& s = this->s();
  s.store(make_entries(1, 3, 1));
  EXPECT_DEATH(s.entries(2, 5, UINT64_MAX), "invariant violated");
  EXPECT_DEATH(s.entries(0, 2, UINT64_MAX), "invariant violated");
}

// ---- snapshots (storage.h, save_snapshot) ----

TYPED_TEST(StorageConformance, New_store_has_no_snapshot) {
  Storage& s = this->s();
  EXPECT_EQ(s.snapshot_metadata().index(), 0u);
  EXPECT_EQ(s.snapshot_metadata().term(), 0u);
  EXPECT_EQ(s.snapshot_metadata().conf_state().voters_size(), 0);
  EXPECT_FALSE(s.snapshot().has_value());
}

TYPED_TEST(StorageConformance, Snapshot_of_an_own_log_prefix_compacts_and_keeps_later_entries) {
  Storage& s = this->s();
  const std::vector<Entry> log = make_entries(1, 10, 2, 40);
  persist(s, make_hard_state(2, 1, 7), log);
  const Snapshot snap = make_snapshot(6, 2);
  s.save_snapshot(snap);
  // Checked before and after a restart (the reopen replaces the object `s` refers to).
  const auto check = [&](Storage& st) {
    EXPECT_EQ(st.first_index(), 7u);
    EXPECT_EQ(st.last_index(), 10u);
    EXPECT_EQ(st.term(6), Term{2});
    EXPECT_EQ(st.term(5), std::nullopt);
    EXPECT_EQ(st.term(10), Term{2});
    expect_same_entries(st.entries(7, 11, UINT64_MAX), {log.begin() + 6, log.end()});
    EXPECT_EQ(st.hard_state().commit(), 7u);  // already above the snapshot: unchanged
    EXPECT_EQ(st.snapshot_metadata().SerializeAsString(), snap.meta.SerializeAsString());
    expect_same_snapshot(st.snapshot(), snap);
  };
  check(s);
  check(this->harness_.reopen());
}

TYPED_TEST(StorageConformance, Snapshot_at_the_last_index_leaves_an_empty_log_after_it) {
  Storage& s = this->s();
  persist(s, make_hard_state(1, 1, 5), make_entries(1, 5, 1));
  s.save_snapshot(make_snapshot(5, 1));
  EXPECT_EQ(s.first_index(), 6u);
  EXPECT_EQ(s.last_index(), 5u);
  EXPECT_TRUE(s.entries(6, 6, UINT64_MAX).empty());
  persist(s, make_hard_state(1, 1, 6), make_entries(6, 6, 1));
  Storage& r = this->harness_.reopen();
  EXPECT_EQ(r.first_index(), 6u);
  EXPECT_EQ(r.last_index(), 6u);
  EXPECT_EQ(r.term(5), Term{1});
  EXPECT_EQ(r.hard_state().commit(), 6u);
}

TYPED_TEST(StorageConformance, Snapshot_beyond_the_log_discards_it_and_raises_commit) {
  Storage& s = this->s();
  persist(s, make_hard_state(3, 2, 2), make_entries(1, 5, 1));
  const Snapshot snap = make_snapshot(20, 3);
  s.save_snapshot(snap);
  // Checked before and after a restart (the reopen replaces the object `s` refers to).
  const auto check = [&](Storage& st) {
    EXPECT_EQ(st.first_index(), 21u);
    EXPECT_EQ(st.last_index(), 20u);
    EXPECT_EQ(st.term(20), Term{3});
    EXPECT_EQ(st.term(5), std::nullopt);
    EXPECT_EQ(st.term(21), std::nullopt);
    EXPECT_TRUE(st.entries(21, 21, UINT64_MAX).empty());
    EXPECT_EQ(st.hard_state().commit(), 20u);
    EXPECT_EQ(st.hard_state().term(), 3u);  // term and vote untouched
    EXPECT_EQ(st.hard_state().vote(), 2u);
    expect_same_snapshot(st.snapshot(), snap);
  };
  check(s);
  check(this->harness_.reopen());
}

TYPED_TEST(StorageConformance, Snapshot_whose_term_disagrees_with_the_log_discards_all_of_it) {
  Storage& s = this->s();
  persist(s, make_hard_state(2, 1, 2), make_entries(1, 10, 1));
  // Entry 8 has term 1 here; the leader's snapshot says term 2: §7, rule 7 discards the log.
  s.save_snapshot(make_snapshot(8, 2));
  // Checked before and after a restart (the reopen replaces the object `s` refers to).
  const auto check = [&](Storage& st) {
    EXPECT_EQ(st.first_index(), 9u);
    EXPECT_EQ(st.last_index(), 8u);
    EXPECT_EQ(st.term(8), Term{2});
    EXPECT_EQ(st.term(9), std::nullopt);
    EXPECT_EQ(st.hard_state().commit(), 8u);
  };
  check(s);
  check(this->harness_.reopen());
}

TYPED_TEST(StorageConformance, Store_after_an_install_continues_at_its_index_plus_one) {
  Storage& s = this->s();
  persist(s, make_hard_state(1, 1, 0), make_entries(1, 3, 1));
  s.save_snapshot(make_snapshot(50, 4));
  const std::vector<Entry> more = make_entries(51, 60, 4, 40);
  persist(s, make_hard_state(4, 0, 55), more);
  s.truncate(58);
  persist(s, std::nullopt, make_entries(58, 58, 5));
  Storage& r = this->harness_.reopen();
  EXPECT_EQ(r.first_index(), 51u);
  EXPECT_EQ(r.last_index(), 58u);
  EXPECT_EQ(r.term(50), Term{4});
  EXPECT_EQ(r.term(57), Term{4});
  EXPECT_EQ(r.term(58), Term{5});
  expect_same_entries(r.entries(51, 58, UINT64_MAX), {more.begin(), more.begin() + 7});
  EXPECT_EQ(r.hard_state().commit(), 55u);
}

TYPED_TEST(StorageConformance, Later_snapshots_compact_further_and_the_latest_is_returned) {
  Storage& s = this->s();
  persist(s, make_hard_state(1, 1, 30), make_entries(1, 30, 1, 40));
  s.save_snapshot(make_snapshot(10, 1, "ten"));
  s.save_snapshot(make_snapshot(20, 1, "twenty"));
  const Snapshot latest = make_snapshot(25, 1, std::string("with\0zero", 9));
  s.save_snapshot(latest);
  // Checked before and after a restart (the reopen replaces the object `s` refers to).
  const auto check = [&](Storage& st) {
    EXPECT_EQ(st.first_index(), 26u);
    EXPECT_EQ(st.last_index(), 30u);
    expect_same_snapshot(st.snapshot(), latest);
  };
  check(s);
  check(this->harness_.reopen());
}

TYPED_TEST(StorageConformance, Empty_snapshot_data_round_trips) {
  Storage& s = this->s();
  persist(s, make_hard_state(1, 1, 2), make_entries(1, 2, 1));
  const Snapshot snap = make_snapshot(2, 1, "");
  s.save_snapshot(snap);
  expect_same_snapshot(this->harness_.reopen().snapshot(), snap);
}

TYPED_TEST(StorageConformance, Save_snapshot_is_durable_on_return_with_the_writes_before_it) {
  Storage& s = this->s();
  s.store(make_entries(1, 10, 1));  // never synced by the caller
  s.save_hard_state(make_hard_state(1, 1, 4));
  s.save_snapshot(make_snapshot(4, 1));
  Storage& r = this->harness_.reopen();
  EXPECT_EQ(r.first_index(), 5u);
  EXPECT_EQ(r.last_index(), 10u);
  EXPECT_EQ(r.hard_state().commit(), 4u);
  EXPECT_EQ(r.hard_state().term(), 1u);
}

TYPED_TEST(StorageConformance, Persist_saves_the_snapshot_before_entries_and_hard_state) {
  Storage& s = this->s();
  persist(s, make_hard_state(1, 1, 1), make_entries(1, 3, 1));
  const Snapshot snap = make_snapshot(10, 2);
  persist(s, snap, make_hard_state(2, 0, 12), make_entries(11, 12, 2));
  Storage& r = this->harness_.reopen();
  EXPECT_EQ(r.first_index(), 11u);
  EXPECT_EQ(r.last_index(), 12u);
  EXPECT_EQ(r.term(10), Term{2});
  EXPECT_EQ(r.term(12), Term{2});
  EXPECT_EQ(r.hard_state().commit(), 12u);
  expect_same_snapshot(r.snapshot(), snap);
}

TYPED_TEST(StorageConformance, Truncate_below_first_index_aborts) {
  Storage& s = this->s();
  persist(s, make_hard_state(1, 1, 5), make_entries(1, 10, 1));
  s.save_snapshot(make_snapshot(5, 1));
  EXPECT_DEATH(s.truncate(5), "invariant violated");
  EXPECT_DEATH(s.truncate(1), "invariant violated");
  EXPECT_DEATH(s.entries(5, 7, UINT64_MAX), "invariant violated");
}

TYPED_TEST(StorageConformance, Snapshot_not_beyond_the_current_one_aborts) {
  Storage& s = this->s();
  persist(s, make_hard_state(1, 1, 5), make_entries(1, 10, 1));
  s.save_snapshot(make_snapshot(5, 1));
  EXPECT_DEATH(s.save_snapshot(make_snapshot(5, 1)), "invariant violated");
  EXPECT_DEATH(s.save_snapshot(make_snapshot(3, 1)), "invariant violated");
}

TYPED_TEST(StorageConformance, Install_that_would_discard_committed_entries_aborts) {
  Storage& s = this->s();
  persist(s, make_hard_state(1, 1, 8), make_entries(1, 10, 1));
  EXPECT_DEATH(s.save_snapshot(make_snapshot(8, 2)), "invariant violated");
  EXPECT_DEATH(s.save_snapshot(make_snapshot(6, 2)), "invariant violated");
}

TYPED_TEST(StorageConformance, Commit_below_the_snapshot_aborts) {
  Storage& s = this->s();
  persist(s, make_hard_state(1, 1, 2), make_entries(1, 3, 1));
  s.save_snapshot(make_snapshot(9, 1));
  EXPECT_DEATH(s.save_hard_state(make_hard_state(1, 1, 8)), "invariant violated");
}

}  // namespace
}  // namespace raftbgp::raft
