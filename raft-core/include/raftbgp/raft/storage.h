// The store abstraction (after the talk's `Store` class): query, store, commit, truncate, plus the
// hard state. The Raft core only reads a Storage; the driver writes it while handling a Ready (see
// node.h), and `persist_ready` below does that in the one correct order.
//
// Two implementations pass one conformance suite (tests/raft-core/storage_conformance_test.cc):
//   MemoryStorage (memory_storage.h): tests and simulation; "durable" means "in this object".
//   WalStorage    (wal_storage.h):    a segmented write-ahead log on disk (raft-core/wal/, target raft_wal).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "raftbgp/raft/types.h"

namespace raftbgp::raft {

// A state machine snapshot (§7): everything up to and including meta.index, with the membership
// configuration in force at that index. `data` is the state machine's own serialization, opaque here.
struct Snapshot {
  SnapshotMetadata meta;
  std::string data;
};

class Storage {
 public:
  virtual ~Storage() = default;

  // ---- queries (const; the core calls these from tick/step/ready) ----

  // The durable hard state (term, vote, commit) as last saved; all zero for a new store.
  virtual HardState hard_state() const = 0;

  // Index of the first entry still held. With no snapshot this is 1, even when the log is empty.
  virtual Index first_index() const = 0;

  // Index of the last entry held; first_index() - 1 when the log is empty.
  virtual Index last_index() const = 0;

  // Term of the entry at `index`, for first_index()-1 <= index <= last_index() (index first_index()-1
  // answers the snapshot's term, 0 with no snapshot). std::nullopt outside that range.
  virtual std::optional<Term> term(Index index) const = 0;

  // Entries in [lo, hi), lo >= first_index(), hi <= last_index() + 1. Stops early so that the sum of
  // the entries' serialized sizes (Entry::ByteSizeLong) stays <= max_bytes, but always returns at least
  // one entry when lo < hi. Precondition violations abort.
  virtual std::vector<Entry> entries(Index lo, Index hi, std::uint64_t max_bytes) const = 0;

  // Metadata of the latest snapshot (index 0, term 0, empty conf_state when there is none).
  // first_index() == snapshot_metadata().index() + 1 always holds.
  virtual SnapshotMetadata snapshot_metadata() const = 0;

  // The latest snapshot with its data (nullopt when there is none). May read a file: the core calls it
  // only to send InstallSnapshot to a lagging follower, never in a loop.
  virtual std::optional<Snapshot> snapshot() const = 0;

  // ---- mutations (the driver calls these while handling a Ready) ----

  // Records a snapshot, durably on return (atomically: a crash leaves the old or the new one, and a
  // corrupt snapshot is detected on open and reported, never loaded). Precondition:
  // snap.meta.index() > snapshot_metadata().index().
  //  - If the log holds snap.meta.index() with term snap.meta.term() (the node took its own snapshot),
  //    entries <= index are discarded and the rest kept (log compaction, §7).
  //  - Otherwise (a follower installs the leader's snapshot, §7 "InstallSnapshot" rule 7) the whole
  //    log is discarded: afterwards first_index() == last_index() + 1 == index + 1.
  // The hard state's commit is raised to at least snap.meta.index(). Further preconditions (abort):
  // in the second case hard_state().commit() < snap.meta.index(), since a committed entry is never
  // discarded (§5.4) and a committed entry at that index would have matched the snapshot's term.
  // Every earlier store/truncate/save_hard_state becomes durable with the snapshot, as if sync() ran
  // first (the WAL's one fsync covers them; MemoryStorage does the same so both crash alike).
  virtual void save_snapshot(const Snapshot& snap) = 0;

  // Appends entries. Precondition: entries are contiguous, and entries.front().index ==
  // last_index() + 1 (call truncate first to overwrite a suffix). Not durable until sync().
  virtual void store(std::span<const Entry> entries) = 0;

  // Deletes the entry at `from` and every later one. Precondition: from > hard_state().commit and
  // from >= first_index(); truncating at last_index()+1 is a no-op. Not durable until sync().
  virtual void truncate(Index from) = 0;

  // Records the hard state. Term and vote changes must reach the disk before sync() returns (a vote
  // must never be forgotten, §5.2); the commit index may be recorded more cheaply, in the log.
  // Precondition: snapshot_metadata().index() <= hs.commit() <= last_index() (a snapshot holds only
  // committed state, so the commit index never goes below it).
  virtual void save_hard_state(const HardState& hs) = 0;

  // Makes every earlier store/truncate/save_hard_state durable (one fsync group for a WAL).
  virtual void sync() = 0;
};

// Persists what a Ready asks to persist, in order: save the snapshot (if any; durable on return,
// see save_snapshot), truncate the overwritten suffix if the first new entry is at or below
// last_index(), store the entries, save the hard state, then sync() once, unless the Ready changes
// nothing but the commit index (no entries, no snapshot, same term and vote): the commit index need not
// be durable, and it rides along with the next sync. The snapshot goes first
// because the entries that follow it start at its index + 1 and the hard state's commit may point
// into it. The driver calls this before it sends any of the Ready's messages.
void persist(Storage& storage, const std::optional<Snapshot>& snapshot, const std::optional<HardState>& hard_state,
             std::span<const Entry> entries);

// Whether persist() will sync(): false only for a Ready that changes nothing but the commit index.
// Computed before persist() (it compares with the stored hard state); the agent makes its other durable
// records (the replay windows) follow the same rule.
bool must_sync(const Storage& storage, const std::optional<Snapshot>& snapshot,
               const std::optional<HardState>& hard_state, std::span<const Entry> entries);

// The same without a snapshot (most Ready batches carry none).
void persist(Storage& storage, const std::optional<HardState>& hard_state, std::span<const Entry> entries);

}  // namespace raftbgp::raft
