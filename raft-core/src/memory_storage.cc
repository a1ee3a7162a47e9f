#include "raftbgp/raft/memory_storage.h"

#include <algorithm>

namespace raftbgp::raft {

HardState MemoryStorage::hard_state() const { return current_.hard_state; }

Index MemoryStorage::first_index() const { return offset() + 1; }

Index MemoryStorage::last_index() const { return offset() + current_.log.size(); }

std::optional<Term> MemoryStorage::term(Index index) const {
  if (index == offset()) return snapshot_.meta.term();  // 0 with no snapshot
  if (index < offset() || index > last_index()) return std::nullopt;
  return current_.log[index - offset() - 1].term();
}

std::vector<Entry> MemoryStorage::entries(Index lo, Index hi, std::uint64_t max_bytes) const {
  RAFT_ASSERT(lo >= first_index() && lo <= hi && hi <= last_index() + 1);
  std::vector<Entry> out;
  std::uint64_t bytes = 0;
  for (Index i = lo; i < hi; ++i) {
    const Entry& e = current_.log[i - offset() - 1];
    bytes += e.ByteSizeLong();
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

SnapshotMetadata MemoryStorage::snapshot_metadata() const { return snapshot_.meta; }

std::optional<Snapshot> MemoryStorage::snapshot() const {
  if (offset() == 0) return std::nullopt;
  return snapshot_;
}

void MemoryStorage::save_snapshot(const Snapshot& snap) {
  const Index index = snap.meta.index();
  RAFT_ASSERT(index > offset());
  // Durable on return, with everything before it (storage.h): from here current_ == synced_.
  sync_state();
  const bool compact = index <= last_index() && term(index) == snap.meta.term();
  // A committed entry at `index` would have the snapshot's term (§5.4): only uncommitted ones go.
  RAFT_ASSERT(compact || current_.hard_state.commit() < index);
  for (State* st : {&current_, &synced_}) {
    if (compact) {
      st->log.erase(st->log.begin(), st->log.begin() + static_cast<std::ptrdiff_t>(index - offset()));
    } else {
      st->log.clear();  // §7: a follower discards its entire log for a snapshot it does not share
    }
    st->hard_state.set_commit(std::max(st->hard_state.commit(), index));
  }
  snapshot_ = snap;
  unsynced_from_ = last_index() + 1;
}

void MemoryStorage::store(std::span<const Entry> entries) {
  Index expect = last_index() + 1;
  if (!entries.empty()) unsynced_from_ = std::min(unsynced_from_, expect);
  for (const Entry& e : entries) {
    RAFT_ASSERT(e.index() == expect);
    current_.log.push_back(e);
    ++expect;
  }
}

void MemoryStorage::truncate(Index from) {
  RAFT_ASSERT(from >= first_index());
  RAFT_ASSERT(from > current_.hard_state.commit());
  if (from <= last_index()) {
    current_.log.resize(from - offset() - 1);
    unsynced_from_ = std::min(unsynced_from_, from);
  }
}

void MemoryStorage::save_hard_state(const HardState& hs) {
  RAFT_ASSERT(hs.commit() >= offset() && hs.commit() <= last_index());
  current_.hard_state = hs;
}

void MemoryStorage::sync() {
  sync_state();
  ++sync_count_;
}

void MemoryStorage::sync_state() {
  synced_.hard_state = current_.hard_state;
  // Both logs start at offset() (snapshots apply to both), and agree below unsynced_from_.
  const std::size_t same = std::min<std::size_t>(synced_.log.size(), unsynced_from_ - offset() - 1);
  synced_.log.resize(same);
  synced_.log.insert(synced_.log.end(), current_.log.begin() + static_cast<std::ptrdiff_t>(same), current_.log.end());
  unsynced_from_ = last_index() + 1;
}

void MemoryStorage::drop_unsynced() {
  current_ = synced_;
  unsynced_from_ = last_index() + 1;
}

}  // namespace raftbgp::raft
