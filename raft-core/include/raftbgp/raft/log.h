// RaftLog: the node's view of its log: the durable part in Storage, followed by the unstable tail
// (entries appended in memory and handed out in Ready::entries, not yet persisted by the driver).
//
// Invariants (checked with RAFT_ASSERT):
//   applied <= committed <= last_index()
//   unstable_offset_ <= storage.last_index() + 1   (the unstable tail starts inside or right after it)
//   entries are never removed at or below `committed` (§5.4: committed entries are permanent)
#pragma once

#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "raftbgp/raft/storage.h"

namespace raftbgp::raft {

class RaftLog {
 public:
  // Restores committed from the storage's hard state; `applied` is what the state machine already has.
  RaftLog(const Storage& storage, Index applied);

  Index first_index() const;
  Index last_index() const;
  Term last_term() const;
  // Term of entry `i`, or nullopt if `i` is outside [first_index()-1, last_index()].
  std::optional<Term> term(Index i) const;
  Term term_or_zero(Index i) const { return term(i).value_or(0); }
  bool match_term(Index i, Term t) const { return term(i) == t; }

  // §5.4.1: a candidate's log (last entry term last_t, index last_idx) is at least as up-to-date as ours.
  bool is_up_to_date(Index last_idx, Term last_t) const;

  // Follower side of AppendEntries (§5.3, Figure 2 rules 2–5). If the entry at prev_index has term
  // prev_term, appends what is new in `entries` (truncating only at the first real conflict), moves
  // commit to min(leader_commit, index of last new entry), and returns that last new index.
  // Returns nullopt on a log mismatch (the caller rejects). Aborts if the entries would overwrite a
  // committed entry: Node refuses such a message first (Node::contradicts_log, DropReason::kContradictsLog)
  // and never calls this for one.
  // `entries` are an AppendEntries' own (Message::entries): only the new ones are copied, once.
  std::optional<Index> maybe_append(Index prev_index, Term prev_term, Index leader_commit,
                                    const google::protobuf::RepeatedPtrField<Entry>& entries);

  // Appends entries to the unstable tail, overwriting from entries.front().index. Aborts if that is at
  // or below committed. Returns last_index(). The rvalue form moves the entries (and their payloads) in.
  Index append(std::span<const Entry> entries);
  Index append(std::vector<Entry>&& entries);

  // The first entry in `entries` whose term disagrees with ours, or that we do not have; 0 if we hold
  // all of them with matching terms.
  Index find_conflict(const google::protobuf::RepeatedPtrField<Entry>& entries) const;

  // Fast back-off (thesis §5.3 optimisation): the largest index <= `index` whose term is <= `term`,
  // with that term. The leader and follower use it to skip a whole conflicting term at once.
  std::pair<Index, Term> find_conflict_by_term(Index index, Term term) const;

  // Entries in [lo, hi), cut so their serialized sizes sum to at most max_bytes (at least one entry).
  // When `bytes` is given it receives that sum (Entry::ByteSizeLong of each returned entry).
  std::vector<Entry> slice(Index lo, Index hi, std::uint64_t max_bytes, std::uint64_t* bytes = nullptr) const;

  Index committed() const { return committed_; }
  Index applied() const { return applied_; }
  // Moves commit forward (never back). Aborts beyond last_index().
  void commit_to(Index i);
  // Leader rule (§5.3, §5.4.2): commit `i` only if its entry is of the current term.
  bool maybe_commit(Index i, Term current_term);
  void applied_to(Index i);

  // InstallSnapshot (§7): replaces the whole log by `meta` (entries up to meta.index are in the
  // snapshot); commit and applied move to meta.index once the driver has persisted and restored it.
  // Until then the log answers first_index/last_index/term from the pending snapshot, never from the
  // storage's older entries.
  void restore(const SnapshotMetadata& meta);
  const std::optional<SnapshotMetadata>& pending_snapshot() const { return pending_snapshot_; }
  // The driver persisted the pending snapshot (Ready::snapshot) and restored its state machine.
  void stable_snapshot_to(Index index);

  // Unstable tail handling for Ready/advance.
  const std::vector<Entry>& unstable_entries() const { return unstable_; }
  // The driver persisted everything up to (i, t): drop it from the unstable tail (if still there).
  void stable_to(Index i, Term t);
  // The last index the driver has persisted: everything before the unstable tail (a pending snapshot
  // counts as not persisted). The leader counts itself in the quorum only up to here (node.h).
  Index stable_last_index() const { return unstable_offset_ - 1; }
  bool has_next_committed_entries() const;
  std::vector<Entry> next_committed_entries() const;

 private:
  // Makes the unstable tail end right before `after` (the first index about to be appended).
  void prepare_append(Index after);

  const Storage& storage_;
  std::optional<SnapshotMetadata> pending_snapshot_;
  std::vector<Entry> unstable_;
  Index unstable_offset_;  // index of unstable_[0]
  Index committed_;
  Index applied_;
};

}  // namespace raftbgp::raft
