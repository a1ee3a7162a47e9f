#include "raftbgp/raft/memory_storage.h"

#include <algorithm>
#include <iterator>

namespace raftbgp::raft {

HardState MemoryStorage::hard_state() const { return hard_state_; }

Index MemoryStorage::first_index() const { return offset() + 1; }

Index MemoryStorage::last_index() const { return offset() + log_.size(); }

std::optional<Term> MemoryStorage::term(Index index) const {
  if (index == offset()) return snapshot_.meta.term();  // 0 with no snapshot
  if (index < offset() || index > last_index()) return std::nullopt;
  return log_[index - offset() - 1].term();
}

std::vector<Entry> MemoryStorage::entries(Index lo, Index hi, std::uint64_t max_bytes) const {
  RAFT_ASSERT(lo >= first_index() && lo <= hi && hi <= last_index() + 1);
  std::vector<Entry> out;
  out.reserve(std::min<Index>(hi - lo, 4096));
  std::uint64_t bytes = 0;
  for (Index i = lo; i < hi; ++i) {
    const Entry& e = log_[i - offset() - 1];
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
  // Durable on return, with everything before it (storage.h): from here the synced state is the current one.
  sync_state();
  const bool compact = index <= last_index() && term(index) == snap.meta.term();
  // A committed entry at `index` would have the snapshot's term (§5.4): only uncommitted ones go.
  RAFT_ASSERT(compact || hard_state_.commit() < index);
  if (compact) {
    log_.erase(log_.begin(), log_.begin() + static_cast<std::ptrdiff_t>(index - offset()));
  } else {
    log_.clear();  // §7: a follower discards its entire log for a snapshot it does not share
  }
  for (HardState* hs : {&hard_state_, &synced_hard_state_}) hs->set_commit(std::max(hs->commit(), index));
  snapshot_ = snap;
  synced_prefix_ = log_.size();
}

void MemoryStorage::store(std::span<const Entry> entries) {
  Index expect = last_index() + 1;
  log_.reserve(log_.size() + entries.size());
  for (const Entry& e : entries) {
    RAFT_ASSERT(e.index() == expect);
    log_.push_back(e);
    ++expect;
  }
}

void MemoryStorage::truncate(Index from) {
  RAFT_ASSERT(from >= first_index());
  RAFT_ASSERT(from > hard_state_.commit());
  if (from > last_index()) return;
  const std::size_t keep = from - offset() - 1;
  if (keep < synced_prefix_) {
    // Synced entries are cut: remember them until the next sync, in front of those cut earlier.
    std::vector<Entry> cut(std::make_move_iterator(log_.begin() + static_cast<std::ptrdiff_t>(keep)),
                           std::make_move_iterator(log_.begin() + static_cast<std::ptrdiff_t>(synced_prefix_)));
    cut.insert(cut.end(), std::make_move_iterator(synced_tail_.begin()), std::make_move_iterator(synced_tail_.end()));
    synced_tail_ = std::move(cut);
    synced_prefix_ = keep;
  }
  log_.resize(keep);
}

void MemoryStorage::save_hard_state(const HardState& hs) {
  RAFT_ASSERT(hs.commit() >= offset() && hs.commit() <= last_index());
  hard_state_ = hs;
}

void MemoryStorage::sync() {
  sync_state();
  ++sync_count_;
}

void MemoryStorage::sync_state() {
  synced_hard_state_ = hard_state_;
  synced_tail_.clear();
  synced_prefix_ = log_.size();
}

void MemoryStorage::drop_unsynced() {
  hard_state_ = synced_hard_state_;
  log_.resize(synced_prefix_);
  log_.insert(log_.end(), std::make_move_iterator(synced_tail_.begin()), std::make_move_iterator(synced_tail_.end()));
  synced_tail_.clear();
  synced_prefix_ = log_.size();
}

}  // namespace raftbgp::raft
