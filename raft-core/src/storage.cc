#include "raftbgp/raft/storage.h"

namespace raftbgp::raft {

void persist(Storage& storage, const std::optional<HardState>& hard_state,
             std::span<const Entry> entries) {
  if (!entries.empty()) {
    // A leader's newer entries may overwrite an uncommitted suffix (§5.3): cut it first.
    if (entries.front().index() <= storage.last_index()) storage.truncate(entries.front().index());
    storage.store(entries);
  }
  if (hard_state) storage.save_hard_state(*hard_state);
  storage.sync();
}

}  // namespace raftbgp::raft
