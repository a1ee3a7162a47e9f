#include "raftbgp/raft/storage.h"

namespace raftbgp::raft {

void persist(Storage& storage, const std::optional<Snapshot>& snapshot,
             const std::optional<HardState>& hard_state, std::span<const Entry> entries) {
  // An installed snapshot resets the log to end at its index, so the entries of the same Ready (which
  // follow it) and a commit index inside it are only valid once it is saved.
  if (snapshot) storage.save_snapshot(*snapshot);
  if (!entries.empty()) {
    // A leader's newer entries may overwrite an uncommitted suffix (§5.3): cut it first.
    if (entries.front().index() <= storage.last_index()) storage.truncate(entries.front().index());
    storage.store(entries);
  }
  if (hard_state) storage.save_hard_state(*hard_state);
  storage.sync();
}

void persist(Storage& storage, const std::optional<HardState>& hard_state,
             std::span<const Entry> entries) {
  persist(storage, std::nullopt, hard_state, entries);
}

}  // namespace raftbgp::raft
