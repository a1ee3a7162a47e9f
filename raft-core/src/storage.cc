#include "raftbgp/raft/storage.h"

namespace raftbgp::raft {

void persist(Storage& storage, const std::optional<Snapshot>& snapshot, const std::optional<HardState>& hard_state,
             std::span<const Entry> entries) {
  // An installed snapshot resets the log to end at its index, so the entries of the same Ready (which
  // follow it) and a commit index inside it are only valid once it is saved.
  if (snapshot) storage.save_snapshot(*snapshot);
  if (!entries.empty()) {
    // A leader's newer entries may overwrite an uncommitted suffix (§5.3): cut it first.
    if (entries.front().index() <= storage.last_index()) storage.truncate(entries.front().index());
    storage.store(entries);
  }
  // A Ready that only moves the commit index needs no fsync (etcd's MustSync rule): commit is not needed
  // for safety (raft.proto), a crash that loses it only sends the node back to max(older commit,
  // snapshot index) and the leader tells it again. It is written and made durable by the next sync;
  // a vote or a term must be durable before any message of that term leaves.
  bool must_sync = snapshot.has_value() || !entries.empty();
  if (hard_state) {
    const HardState before = storage.hard_state();
    must_sync = must_sync || hard_state->term() != before.term() || hard_state->vote() != before.vote();
    storage.save_hard_state(*hard_state);
  }
  if (must_sync) storage.sync();
}

void persist(Storage& storage, const std::optional<HardState>& hard_state, std::span<const Entry> entries) {
  persist(storage, std::nullopt, hard_state, entries);
}

}  // namespace raftbgp::raft
