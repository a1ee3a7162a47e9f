// MemoryStorage: the Storage contract held in memory. "Durable" means "still in this object", so the
// simulator models a crash by keeping the MemoryStorage (what was synced) and discarding the Node, and
// models loss of un-synced writes with drop_unsynced() (see tests/raft-core/sim/).
//
// Snapshots: save_snapshot() is durable on return, like the WAL's: it first syncs every earlier write
// (as the WAL's one fsync does), then applies the snapshot to the current and the synced state alike,
// so drop_unsynced() never loses a snapshot or brings back entries it compacted. snapshot() returns a
// copy of the stored bytes.
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
  SnapshotMetadata snapshot_metadata() const override;
  std::optional<Snapshot> snapshot() const override;

  void save_snapshot(const Snapshot& snap) override;
  void store(std::span<const Entry> entries) override;
  void truncate(Index from) override;
  void save_hard_state(const HardState& hs) override;
  void sync() override;

  // Crash model: forgets every store/truncate/save_hard_state since the last sync() (or the last
  // save_snapshot(), which syncs), as a machine that lost power before its fsync would.
  void drop_unsynced();

  // Number of sync() calls so far (tests check that persist() syncs exactly once per Ready). The
  // sync inside save_snapshot() is not counted.
  std::uint64_t sync_count() const { return sync_count_; }

 private:
  Index offset() const { return snapshot_.meta.index(); }
  // The current state becomes the synced one.
  void sync_state();

  // One snapshot for both states: save_snapshot() syncs first, so it is never un-synced.
  Snapshot snapshot_;
  HardState hard_state_;
  HardState synced_hard_state_;
  // log_[i] has index snapshot_.meta.index() + 1 + i: the snapshot replaces the prefix.
  std::vector<Entry> log_;
  // The synced log is log_[0, synced_prefix_) followed by synced_tail_: the synced entries that a
  // truncate() has cut since the last sync. Keeping only that difference (not a second copy of the log)
  // makes store() and sync() copy each entry once, not twice.
  std::size_t synced_prefix_ = 0;
  std::vector<Entry> synced_tail_;
  std::uint64_t sync_count_ = 0;
};

}  // namespace raftbgp::raft
