#include "raftbgp/raft/log.h"

#include <algorithm>
#include <string>

namespace raftbgp::raft {

RaftLog::RaftLog(const Storage& storage, Index applied)
    : storage_(storage),
      unstable_offset_(storage.last_index() + 1),
      committed_(std::max(storage.hard_state().commit(), storage.snapshot_metadata().index())),
      applied_(applied) {
  RAFT_ASSERT(committed_ <= storage.last_index());
  // Entries below the snapshot are gone: the driver restores its state machine from the snapshot before
  // it builds the node, and says so with Config.applied.
  if (applied_ < storage.snapshot_metadata().index()) {
    RAFT_PANIC("Config.applied is below the storage's snapshot: restore the state machine from it first");
  }
  // The state machine may be ahead of the durable commit index (commit is recorded lazily); it is
  // never ahead of the log itself.
  RAFT_ASSERT(applied_ <= storage.last_index());
  if (applied_ > committed_) committed_ = applied_;
}

Index RaftLog::first_index() const {
  return pending_snapshot_ ? pending_snapshot_->index() + 1 : storage_.first_index();
}

Index RaftLog::last_index() const {
  if (!unstable_.empty()) return unstable_offset_ + unstable_.size() - 1;
  return pending_snapshot_ ? pending_snapshot_->index() : storage_.last_index();
}

Term RaftLog::last_term() const { return term_or_zero(last_index()); }

std::optional<Term> RaftLog::term(Index i) const {
  if (i + 1 < first_index() || i > last_index()) return std::nullopt;
  if (pending_snapshot_ && i == pending_snapshot_->index()) return pending_snapshot_->term();
  if (i >= unstable_offset_) {
    // The unstable tail starts right after what storage holds; past its end there is nothing.
    RAFT_ASSERT(i - unstable_offset_ < unstable_.size());
    return unstable_[i - unstable_offset_].term();
  }
  return storage_.term(i);
}

bool RaftLog::is_up_to_date(Index last_idx, Term last_t) const {
  // §5.4.1: compare the terms of the last entries first, then the lengths.
  return last_t > last_term() || (last_t == last_term() && last_idx >= last_index());
}

std::optional<Index> RaftLog::maybe_append(Index prev_index, Term prev_term, Index leader_commit,
                                           const google::protobuf::RepeatedPtrField<Entry>& entries) {
  if (!match_term(prev_index, prev_term)) return std::nullopt;
  const Index last_new = prev_index + static_cast<Index>(entries.size());
  // §5.3 rule 3: delete only from the first entry that really conflicts. A stale (reordered or
  // duplicated) AppendEntries whose entries we already hold must not cut newer entries behind them.
  const Index conflict = find_conflict(entries);
  if (conflict != 0) {
    if (conflict <= committed_) RAFT_PANIC("AppendEntries conflicts with a committed entry");
    prepare_append(conflict);
    unstable_.insert(unstable_.end(), entries.begin() + static_cast<int>(conflict - (prev_index + 1)), entries.end());
  }
  // §5.3 rule 5: commit = min(leaderCommit, index of last new entry).
  commit_to(std::min(leader_commit, last_new));
  return last_new;
}

void RaftLog::prepare_append(Index after) {
  if (after <= committed_) RAFT_PANIC("append would overwrite committed entry");
  RAFT_ASSERT(after <= last_index() + 1);
  if (after == unstable_offset_ + unstable_.size()) {
    // Plain append.
  } else if (after <= unstable_offset_) {
    // Overwrites part of the durable log: the driver truncates storage from `after` (persist()).
    unstable_offset_ = after;
    unstable_.clear();
  } else {
    unstable_.resize(after - unstable_offset_);
  }
}

Index RaftLog::append(std::span<const Entry> entries) {
  if (entries.empty()) return last_index();
  prepare_append(entries.front().index());
  unstable_.insert(unstable_.end(), entries.begin(), entries.end());
  return last_index();
}

Index RaftLog::append(std::vector<Entry>&& entries) {
  if (entries.empty()) return last_index();
  prepare_append(entries.front().index());
  unstable_.reserve(unstable_.size() + entries.size());
  for (Entry& e : entries) unstable_.push_back(std::move(e));
  return last_index();
}

Index RaftLog::find_conflict(const google::protobuf::RepeatedPtrField<Entry>& entries) const {
  for (const Entry& e : entries) {
    if (!match_term(e.index(), e.term())) return e.index();
  }
  return 0;
}

std::pair<Index, Term> RaftLog::find_conflict_by_term(Index index, Term t) const {
  // Walk back over entries of a term newer than `t`: none of them can match the other side's log.
  for (;;) {
    std::optional<Term> ours = term(index);
    if (!ours) return {index, 0};
    if (*ours <= t || index == 0) return {index, *ours};
    --index;
  }
}

std::vector<Entry> RaftLog::slice(Index lo, Index hi, std::uint64_t max_bytes, std::uint64_t* bytes_out) const {
  RAFT_ASSERT(lo >= first_index() && lo <= hi && hi <= last_index() + 1);
  std::vector<Entry> out;
  std::uint64_t bytes = 0;
  if (bytes_out) *bytes_out = 0;
  if (lo == hi) return out;
  if (lo < unstable_offset_) {
    out = storage_.entries(lo, std::min(hi, unstable_offset_), max_bytes);
    for (const Entry& e : out) bytes += e.ByteSizeLong();
    // Storage stopped early because of max_bytes: do not continue into the unstable tail.
    if (out.back().index() + 1 < std::min(hi, unstable_offset_)) {
      if (bytes_out) *bytes_out = bytes;
      return out;
    }
  }
  const Index from = std::max(lo, unstable_offset_);
  if (from < hi) out.reserve(out.size() + std::min<Index>(hi - from, 4096));
  for (Index i = from; i < hi; ++i) {
    const Entry& e = unstable_[i - unstable_offset_];
    const std::uint64_t size = e.ByteSizeLong();
    if (!out.empty() && bytes + size > max_bytes) break;
    bytes += size;
    out.push_back(e);
  }
  if (bytes_out) *bytes_out = bytes;
  return out;
}

void RaftLog::commit_to(Index i) {
  if (i <= committed_) return;  // commit never moves back (a stale heartbeat may carry an older one)
  if (i > last_index()) RAFT_PANIC("commit index beyond the last log index");
  committed_ = i;
}

bool RaftLog::maybe_commit(Index i, Term current_term) {
  // §5.4.2: a leader only commits entries of its own term by counting replicas; earlier entries
  // become committed indirectly (Figure 8).
  if (i > committed_ && term_or_zero(i) == current_term) {
    commit_to(i);
    return true;
  }
  return false;
}

void RaftLog::applied_to(Index i) {
  if (i == 0) return;
  RAFT_ASSERT(i <= committed_ && i >= applied_);
  applied_ = i;
}

void RaftLog::stable_to(Index i, Term t) {
  if (i < unstable_offset_ || unstable_.empty()) return;
  if (i >= unstable_offset_ + unstable_.size()) return;
  // Only if the entry was not overwritten after the Ready that carried it was handed out.
  if (unstable_[i - unstable_offset_].term() != t) return;
  if (i + 1 == unstable_offset_ + unstable_.size()) {
    unstable_.clear();  // the usual case: everything handed out was persisted (keeps the capacity)
  } else {
    unstable_.erase(unstable_.begin(), unstable_.begin() + static_cast<std::ptrdiff_t>(i + 1 - unstable_offset_));
  }
  unstable_offset_ = i + 1;
}

void RaftLog::restore(const SnapshotMetadata& meta) {
  RAFT_ASSERT(meta.index() > committed_);
  pending_snapshot_ = meta;
  unstable_.clear();
  unstable_offset_ = meta.index() + 1;
  committed_ = meta.index();
}

void RaftLog::stable_snapshot_to(Index index) {
  if (!pending_snapshot_ || pending_snapshot_->index() != index) return;
  pending_snapshot_.reset();
  // The state machine now holds everything up to the snapshot.
  applied_ = std::max(applied_, index);
}

bool RaftLog::has_next_committed_entries() const {
  // Nothing is applied from the log while a snapshot waits to be installed: it comes first.
  return !pending_snapshot_ && committed_ > applied_;
}

std::vector<Entry> RaftLog::next_committed_entries() const {
  if (!has_next_committed_entries()) return {};
  const Index lo = std::max(applied_ + 1, first_index());
  return slice(lo, committed_ + 1, UINT64_MAX);
}

}  // namespace raftbgp::raft
