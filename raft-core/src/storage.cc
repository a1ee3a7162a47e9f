#include "raftbgp/raft/storage.h"

namespace raftbgp::raft {

bool must_sync(const Storage& storage, const std::optional<Snapshot>& snapshot,
               const std::optional<HardState>& hard_state, std::span<const Entry> entries) {
  // A Ready that only moves the commit index needs no fsync (etcd's MustSync rule): commit is not needed
  // for safety (raft.proto), a crash that loses it only sends the node back to max(older commit,
  // snapshot index) and the leader tells it again. It is written and made durable by the next sync;
  // a vote or a term must be durable before any message of that term leaves.
  if (snapshot.has_value() || !entries.empty()) return true;
  if (!hard_state) return false;
  const HardState& before = storage.hard_state();
  return hard_state->term() != before.term() || hard_state->vote() != before.vote();
}

void persist(Storage& storage, const std::optional<Snapshot>& snapshot, const std::optional<HardState>& hard_state,
             std::span<const Entry> entries) {
  const bool sync = must_sync(storage, snapshot, hard_state, entries);
  // An installed snapshot resets the log to end at its index, so the entries of the same Ready (which
  // follow it) and a commit index inside it are only valid once it is saved.
  if (snapshot) storage.save_snapshot(*snapshot);
  if (!entries.empty()) {
    // A leader's newer entries may overwrite an uncommitted suffix (§5.3): cut it first.
    if (entries.front().index() <= storage.last_index()) storage.truncate(entries.front().index());
    storage.store(entries);
  }
  if (hard_state) storage.save_hard_state(*hard_state);
  if (sync) storage.sync();
}

void persist(Storage& storage, const std::optional<HardState>& hard_state, std::span<const Entry> entries) {
  persist(storage, std::nullopt, hard_state, entries);
}

}  // namespace raftbgp::raft
