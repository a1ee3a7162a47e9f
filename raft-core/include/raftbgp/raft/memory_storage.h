// MemoryStorage: the Storage contract held in memory. "Durable" means "still in this object", so the
// simulator models a crash by keeping the MemoryStorage (what was synced) and discarding the Node, and
// models loss of un-synced writes with drop_unsynced() (see tests/raft-core/sim/).
#pragma once

#include <vector>

#include "raftbgp/raft/storage.h"

namespace raftbgp::raft {

class MemoryStorage final : public Storage {
 public:
  MemoryStorage() = default;

  HardState hard_state() const override;
  Index first_index() const override;
  Index last_index() const override;
  std::optional<Term> term(Index index) const override;
  std::vector<Entry> entries(Index lo, Index hi, std::uint64_t max_bytes) const override;

  void store(std::span<const Entry> entries) override;
  void truncate(Index from) override;
  void save_hard_state(const HardState& hs) override;
  void sync() override;

  // Crash model: forgets every store/truncate/save_hard_state since the last sync(), as a machine
  // that lost power before its fsync would.
  void drop_unsynced();

  // Number of sync() calls so far (tests check that persist() syncs exactly once per Ready).
  std::uint64_t sync_count() const { return sync_count_; }

 private:
  struct State {
    HardState hard_state;
    std::vector<Entry> log;  // log[i] has index i + 1 (no snapshot support yet: first_index() == 1)
  };
  State current_;
  State synced_;
  // Lowest log index written or truncated since the last sync(); sync() copies only from there.
  Index unsynced_from_ = 1;
  std::uint64_t sync_count_ = 0;
};

}  // namespace raftbgp::raft
