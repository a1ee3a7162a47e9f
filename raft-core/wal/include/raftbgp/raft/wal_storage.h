// WalStorage: the Storage contract (storage.h) on disk, as a segmented write-ahead log (docs/architecture.md §2).
// It passes the same conformance suite as MemoryStorage (tests/raft-core/storage_conformance_test.cc).
//
// Directory layout. `dir` is created with mode 0700 if missing; every file is created 0600.
//   wal-<16 hex digits>.log  log segments, numbered 1, 2, 3... in creation order. The number is a
//                            sequence, not a log index: after a truncate, a new segment can start at a
//                            lower index than the one before it, so only a sequence orders them.
//   hardstate                term and vote (28 bytes, with its own CRC32C), replaced atomically.
//   hardstate.tmp            a replacement cut short by a crash; open() deletes it, unread.
//   snap-<16 hex digits>.snap  a snapshot, named by its last included index (format below); at most
//                            the two latest are kept.
//   snap-<...>.snap.tmp      a snapshot write cut short by a crash; open() deletes it, unread.
//
// Segment format: a sequence of records, each framed as
//   [u32 payload length, LE][u32 CRC32C of type+payload, LE][u8 type][payload]
// with types ENTRY (1: a serialized raftbgp::v1::Entry), TRUNCATE (2: u64 LE `from`), COMMIT
// (3: u64 LE commit index), SNAPSHOT (4: u64 index, u64 term, u64 commit, u8 kind: 0 the log was
// compacted behind it, 1 the log was discarded for it) and APP_STATE (5: the application's bytes; the
// latest one wins, and each new segment starts with a copy of it). Releases before APP_STATE refuse a log
// that holds one as corrupt (unknown record type). A batch goes whole into one segment; a new
// segment starts before a write once the open one holds >= Options::segment_bytes.
//
// Snapshot files: a 44-byte header {magic "RBSN", version, index, term, metadata length, data
// length, CRC32C of the data, CRC32C of the header and metadata}, the serialized SnapshotMetadata
// (with the conf_state), then the data (raft-core/wal/src/wal_snapshot.h has the byte layout).
//
// What is durable when:
//   store(), truncate()  only write(2) into the kernel: durable when the next sync() returns.
//   save_hard_state()    a commit change is a COMMIT record (durable at the next sync()); a term or vote
//                        change replaces the hardstate file (write temp, fsync, rename, fsync dir)
//                        before returning, so a vote is durable before any message can promise it
//                        (Raft §5.1, Figure 2 "persistent state").
//   save_app_state()     an APP_STATE record: durable at the next sync(), with the entries around it.
//   sync()               one fdatasync of the open segment for everything written since the last sync
//                        (group commit), plus an fsync of `dir` if a segment was created since.
//   segment roll-over    store/truncate/save_hard_state fdatasync the full segment before starting the
//                        next one (once per segment_bytes), so only the LAST segment can have a torn tail.
//   save_snapshot()      durable on return, in this order: (1) the snapshot file is written
//                        atomically (temp, fsync, rename, fsync dir); (2) a SNAPSHOT record is
//                        appended and fdatasync'd with everything before it; (3) only then are whole
//                        segments holding no entry above the snapshot's index deleted (oldest
//                        first, a directory fsync after each, so a crash never leaves a hole), and
//                        snapshot files older than the previous one. A crash before (2) completes
//                        leaves a file no record names: open() deletes it and the old state stands
//                        (the call never returned); a crash during (3) leaves extra segments that
//                        the next open() or save_snapshot() deletes.
//   destructor           closes files without syncing: like a crash, un-synced writes may or may not
//                        survive.
//
// Recovery (open): the newest snapshot file is loaded and checked (both CRCs, lengths, magic,
// version, metadata against header and name; its data is read to check it, then dropped: snapshot()
// reads the file again). Then segments are replayed in order to rebuild the in-memory log above the
// snapshot (entries stay in memory for queries, like LogCabin's SegmentedLog): entries at or below
// the snapshot's index are skipped, SNAPSHOT records replay their recorded kind (an install discards
// what came before it), so compaction and install both come back the same after a reopen. The
// SNAPSHOT record of the loaded snapshot must be found (else the file is the leftover of a crash in
// save_snapshot, deleted, and the previous snapshot is loaded instead, see above); a SNAPSHOT record
// beyond the newest file means a snapshot file was lost: corruption.
// Corrupt snapshot policy: a snapshot file that fails any check is never loaded, and open() fails
// with WalError{kCorrupt} naming the file and the byte offset of the damaged part (header CRC at 40,
// data CRC at the data's offset, a cut file at its size...). There is no silent fallback to the
// previous snapshot: compaction has usually deleted the entries between the two, and the atomic
// rename means a crash cannot produce a damaged file, so damage is bit rot or an operator mistake
// that needs an operator (restore the file, or wipe the node and let the leader send a snapshot).
// Only the newest snapshot is checked on open; an older damaged one is never read.
// Segments: a bad record (short header or payload, bad CRC, zero fill) in the last segment with no
// intact record after it is a torn tail: the segment is cut to the last good record and fsync'd, and
// OpenReport says how many bytes went. Anything else (a bad record with intact data after it, a bad
// record in an earlier segment, a missing segment (the first one may be > 1 only when a snapshot is
// loaded: compaction deleted those before it), an entry index above the snapshot that does not
// follow, a truncate or commit outside the log, a SNAPSHOT record whose file is missing, a corrupt
// hardstate) fails open() with WalError{kCorrupt} naming the file and byte offset: never skipped.
// Entries at or below the loaded snapshot's index are skipped without checking their order.
// Limitation: a torn tail whose bytes happen to contain an intact-looking record (entry data that
// embeds a WAL record), or that would take more than 256 MiB of CRC work to rule that out, is reported
// as corruption: the safe direction, but it needs an operator.
//
// Errors, in the three tiers of STYLE.md habit 5:
//   - broken preconditions (store with a gap, truncate at or below commit...) abort via RAFT_ASSERT;
//   - open() returns expected failures as a value (WalError: errno + path, or file + offset);
//   - a failed write/fsync/rename during a mutation or sync() throws StorageIoError. It is fatal for the
//     driver (after a failed fsync the page cache state is unknowable, so retrying is unsafe): the
//     object is poisoned, later mutations throw again, and the process should exit and reopen.
//
// Ownership and threads: one WalStorage owns `dir` exclusively (an flock on it; a second open fails
// with EWOULDBLOCK) and is used from one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "raftbgp/raft/storage.h"

namespace raftbgp::raft {

// A failed OS call while mutating or syncing the log. Fatal for the driver (see above).
class StorageIoError : public std::runtime_error {
 public:
  // `op` is the failed call ("fdatasync"), `path` the file or directory, `error_number` its errno.
  StorageIoError(const std::string& op, std::string path, int error_number);
  const std::string& op() const noexcept { return op_; }
  int error_number() const noexcept { return error_number_; }
  const std::string& path() const noexcept { return path_; }

 private:
  std::string op_;
  std::string path_;
  int error_number_;
};

// Why open() failed.
struct WalError {
  enum class Kind {
    kIo,       // an OS call failed: error_number is its errno, path the file or directory
    kCorrupt,  // the data on disk is wrong: path is the file, offset the byte where it goes wrong
  };
  Kind kind = Kind::kIo;
  int error_number = 0;      // errno for kIo; 0 for kCorrupt
  std::string path;          // the file (or directory) concerned
  std::uint64_t offset = 0;  // kCorrupt: byte offset in `path` of the bad record or field
  std::string detail;        // one line: what was expected

  // "corrupt /dir/wal-0000000000000001.log at byte 4096: bad CRC" / "open /dir: Permission denied".
  std::string message() const;
};

// What open() found and repaired; for logs and tests.
struct OpenReport {
  std::uint64_t segments = 0;                // segment files found on disk (0 for a new log)
  std::uint64_t records = 0;                 // records replayed
  std::uint64_t torn_bytes = 0;              // bytes cut from the tail of the last segment (0: clean)
  std::string torn_path;                     // the segment that was cut, when torn_bytes > 0
  std::uint64_t torn_offset = 0;             // its size after the cut (the end of its last good record)
  bool removed_temp_hardstate = false;       // a leftover hardstate.tmp was deleted
  Index snapshot_index = 0;                  // the snapshot loaded (0: none)
  std::uint64_t removed_temp_snapshots = 0;  // leftover snap-*.snap.tmp files deleted
  // A snapshot file that no SNAPSHOT record names (a crash inside save_snapshot), deleted; "" if none.
  std::string removed_unrecorded_snapshot;
  std::uint64_t deleted_segments = 0;  // segments a crashed compaction left behind, deleted now
};

struct WalOptions {
  // A new segment starts once the open one holds at least this many bytes (a batch is never split,
  // so a segment can exceed it by one batch). Must be > 0.
  std::uint64_t segment_bytes = std::uint64_t{64} << 20;
};

class WalOpenResult;

class WalStorage final : public Storage {
 public:
  using Options = WalOptions;

  // Opens (creating if needed) the log in `dir` and replays it; see "Recovery" above. Never throws
  // for IO failures or bad data: they come back as WalOpenResult::error().
  static WalOpenResult open(std::string dir, Options options = {});

  WalStorage(const WalStorage&) = delete;
  WalStorage& operator=(const WalStorage&) = delete;
  ~WalStorage() override;  // closes files; does not sync (see "What is durable when")

  HardState hard_state() const override;
  Index first_index() const override;
  Index last_index() const override;
  std::optional<Term> term(Index index) const override;
  std::vector<Entry> entries(Index lo, Index hi, std::uint64_t max_bytes) const override;
  SnapshotMetadata snapshot_metadata() const override;
  // Reads and re-checks the snapshot file. Throws StorageIoError if that fails (errno EIO and the
  // reason in what() when the file no longer checks out); unlike mutations this does not poison.
  std::optional<Snapshot> snapshot() const override;

  // Mutations: contracts in storage.h; durability above. Each may throw StorageIoError.
  void save_snapshot(const Snapshot& snap) override;
  void store(std::span<const Entry> entries) override;
  void truncate(Index from) override;
  void save_hard_state(const HardState& hs) override;
  void sync() override;

  // Application state that must be durable no later than the log it goes with (raftbgpd keeps its transport's
  // replay windows here, agent/include/raftbgp/agent/replay_store.h): opaque bytes, written as an APP_STATE
  // record and durable at the next sync(), at no cost of its own. The latest saved (or recovered by open(), ""
  // if none) is app_state(). May throw StorageIoError, like the mutations above.
  void save_app_state(std::string_view bytes);
  const std::string& app_state() const { return app_state_; }

  const std::string& dir() const { return dir_; }
  // Path of the segment that receives the next record (tests cut and corrupt it).
  std::string open_segment_path() const;
  // Bytes in the open segment so far, including un-synced writes.
  std::uint64_t open_segment_bytes() const { return segment_size_; }
  // Path of the latest snapshot's file ("" with no snapshot); tests corrupt it.
  std::string snapshot_path() const;

 private:
  friend class WalReplay;  // wal_replay.cc fills in the state below while recovering
  WalStorage(std::string dir, Options options, int dir_fd);

  // A segment on disk and the highest entry index ever written into it (0: none), which says when
  // compaction may delete it.
  struct SegmentInfo {
    std::uint64_t seq = 0;
    Index max_entry = 0;
  };
  Index offset() const { return snapshot_.index(); }
  void append_records(const std::string& bytes);  // rolls over if due, then write(2)
  // Deletes the oldest segments while they hold no entry above the snapshot and come before the
  // one holding the snapshot's SNAPSHOT record (so never the open one).
  void delete_compacted_segments();
  // Deletes snapshot files older than the two latest.
  void prune_snapshot_files();
  void roll_segment();
  void create_segment(std::uint64_t seq);
  void write_hard_state_file(const HardState& hs);
  void check_usable() const;
  [[noreturn]] void fail(const char* op, const std::string& path, int error_number);

  std::string dir_;
  Options options_;
  int dir_fd_ = -1;                 // held for directory fsyncs and the exclusive flock
  int segment_fd_ = -1;             // the open (last) segment, O_APPEND
  std::uint64_t segment_seq_ = 0;   // its number
  std::uint64_t segment_size_ = 0;  // its size in bytes, un-synced writes included
  bool segment_dirty_ = false;      // written since its last fdatasync
  bool dir_dirty_ = false;          // a segment was created since the last directory fsync
  bool failed_ = false;             // an IO call failed: the on-disk state is unknown
  HardState hard_state_;
  SnapshotMetadata snapshot_;          // the latest snapshot's metadata (index 0: none)
  std::vector<Entry> log_;             // log_[i] has index offset() + 1 + i
  std::vector<SegmentInfo> segments_;  // every segment on disk, oldest first; back() is open
  // The segment holding the current snapshot's SNAPSHOT record (0: no snapshot). Without that
  // record open() would take the snapshot file for the leftover of a crash.
  std::uint64_t snapshot_record_seq_ = 0;
  std::vector<Index> snapshot_files_;   // indexes of the snapshot files on disk, ascending
  std::uint64_t deleted_segments_ = 0;  // by delete_compacted_segments(), for OpenReport
  std::string buffer_;                  // reused encoding buffer, so a batch is one write(2)
  std::string app_state_;               // the latest APP_STATE (save_app_state)
};

// The outcome of WalStorage::open: the storage and what recovery did, or why it failed.
class WalOpenResult {
 public:
  explicit WalOpenResult(WalError error) : error_(std::move(error)) {}
  WalOpenResult(std::unique_ptr<WalStorage> storage, OpenReport report)
      : storage_(std::move(storage)), report_(std::move(report)) {}

  bool ok() const { return storage_ != nullptr; }
  // Preconditions: ok(). take() hands over ownership; afterwards ok() is false.
  WalStorage& storage() const;
  std::unique_ptr<WalStorage> take();
  const OpenReport& report() const { return report_; }
  // Precondition: !ok() and take() not called.
  const WalError& error() const;

 private:
  std::unique_ptr<WalStorage> storage_;
  OpenReport report_;
  WalError error_;
};

}  // namespace raftbgp::raft
