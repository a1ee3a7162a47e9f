#include "wal_replay.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "wal_io.h"
#include "wal_snapshot.h"

namespace raftbgp::raft {
namespace {

WalError io_error(std::string op, std::string path, int error_number) {
  return WalError{WalError::Kind::kIo, error_number, std::move(path), 0, std::move(op)};
}

WalError corrupt(std::string path, std::uint64_t offset, std::string detail) {
  return WalError{WalError::Kind::kCorrupt, 0, std::move(path), offset, std::move(detail)};
}

}  // namespace

WalOpenResult WalReplay::open(std::string dir, WalOptions options) {
  RAFT_ASSERT(options.segment_bytes > 0);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  std::string failed_path;
  if (const int err = wal::make_dir(dir, failed_path)) {
    return WalOpenResult(io_error("mkdir", failed_path, err));
  }
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return WalOpenResult(io_error("open", dir, errno));
  // From here the storage owns dir_fd and closes it on every error path.
  std::unique_ptr<WalStorage> storage(new WalStorage(dir, options, dir_fd));
  // Two writers interleaving records would corrupt the log; the lock goes with the descriptor.
  if (::flock(dir_fd, LOCK_EX | LOCK_NB) != 0) {
    return WalOpenResult(io_error("lock (held by another WalStorage?)", dir, errno));
  }
  OpenReport report;
  WalReplay replay(*storage, report);
  try {
    if (std::optional<WalError> err = replay.run()) return WalOpenResult(std::move(*err));
  } catch (const StorageIoError& e) {  // from WalStorage helpers reused here (segment creation)
    return WalOpenResult(io_error(e.op(), e.path(), e.error_number()));
  }
  return WalOpenResult(std::move(storage), std::move(report));
}

std::optional<WalError> WalReplay::run() {
  std::vector<std::uint64_t> seqs;
  std::vector<Index> snaps;
  if (auto err = scan_dir(seqs, snaps)) return err;
  if (auto err = load_hard_state()) return err;
  std::sort(seqs.begin(), seqs.end());
  std::sort(snaps.begin(), snaps.end());
  report_.segments = seqs.size();
  if (!hard_state_found_ && !seqs.empty()) {
    // Raft §5.1: currentTerm and votedFor must survive a restart. Read as term 0 / no vote, a lost file
    // would let this node vote again in a term it already voted in. A new directory writes the file
    // before its first segment (below), so segments without it mean the file was lost.
    return corrupt(wal::join_path(s_.dir_, wal::kHardStateName), 0,
                   "hardstate file missing while WAL segments exist: this node's term and vote are lost; "
                   "restore the file from a backup of the same directory, or rejoin under a new node id");
  }
  if (seqs.empty()) {
    // save_snapshot's directory fsync makes the open segment's entry durable with the snapshot's,
    // so a snapshot without any segment is not something a crash leaves behind.
    if (!snaps.empty()) {
      return corrupt(wal::join_path(s_.dir_, wal::snapshot_name(snaps.back())), 0, "snapshot file but no WAL segment");
    }
    // A new node: the hardstate file (term 0, no vote) before the first segment, so that a crash between
    // the two never leaves segments without it.
    if (!hard_state_found_) s_.write_hard_state_file(s_.hard_state_);
    s_.create_segment(1);  // the next sync() makes its directory entry durable
    return std::nullopt;
  }
  for (std::size_t i = 1; i < seqs.size(); ++i) {
    // Compaction deletes only the oldest segments, one durable unlink at a time: a hole means a
    // lost file.
    if (seqs[i] != seqs[i - 1] + 1) return corrupt(path_of(seqs[i - 1] + 1), 0, "segment missing");
  }
  std::size_t good_end = 0;
  std::size_t size = 0;
  std::vector<Index> unrecorded;
  while (true) {
    const Index snap = snaps.empty() ? 0 : snaps.back();
    if (auto err = load_snapshot(snap)) return err;
    if (snap == 0 && seqs.front() != 1) {
      return corrupt(path_of(1), 0, "segment missing (no snapshot to have compacted it)");
    }
    if (auto err = replay_segments(seqs, good_end, size)) return err;
    if (snap == 0 || recorded_) break;
    unrecorded.push_back(snap);  // deleted only once the state before it has replayed cleanly
    snaps.pop_back();
  }
  if (auto err = remove_unrecorded_snapshots(unrecorded)) return err;
  s_.snapshot_files_ = snaps;
  report_.snapshot_index = s_.offset();
  if (auto err = open_tail(seqs.back(), good_end, size)) return err;
  // Finish a compaction that a crash interrupted (its SNAPSHOT record is durable, so it may).
  s_.delete_compacted_segments();
  report_.deleted_segments = s_.deleted_segments_;
  return std::nullopt;
}

std::optional<WalError> WalReplay::scan_dir(std::vector<std::uint64_t>& seqs, std::vector<Index>& snaps) {
  std::vector<std::string> names;
  if (const int err = wal::list_dir(s_.dir_, names)) return io_error("list", s_.dir_, err);
  for (const std::string& name : names) {
    if (const std::optional<std::uint64_t> seq = wal::parse_segment_name(name)) {
      seqs.push_back(*seq);
    } else if (const std::optional<Index> snap = wal::parse_snapshot_name(name)) {
      snaps.push_back(*snap);
    } else if (name == wal::kHardStateTempName || wal::is_snapshot_temp_name(name)) {
      // A replacement that crashed before its rename: the old file (or none) is the valid one.
      const std::string path = wal::join_path(s_.dir_, name);
      if (::unlink(path.c_str()) != 0) return io_error("unlink", path, errno);
      if (name == wal::kHardStateTempName) {
        report_.removed_temp_hardstate = true;
      } else {
        ++report_.removed_temp_snapshots;
      }
    }
  }
  return std::nullopt;
}

std::optional<WalError> WalReplay::load_snapshot(Index index) {
  s_.snapshot_.Clear();
  if (index == 0) return std::nullopt;
  Snapshot snap;
  const std::string path = wal::join_path(s_.dir_, wal::snapshot_name(index));
  // Never loaded unless every check passes; no fallback to an older file (wal_storage.h).
  if (auto err = wal::read_snapshot_file(path, index, false, snap)) return err;
  s_.snapshot_ = std::move(snap.meta);
  return std::nullopt;
}

std::optional<WalError> WalReplay::replay_segments(const std::vector<std::uint64_t>& seqs, std::size_t& good_end,
                                                   std::size_t& size) {
  s_.log_.clear();
  s_.hard_state_.set_commit(0);
  s_.segments_.clear();
  s_.snapshot_record_seq_ = 0;
  s_.app_state_.clear();
  report_.records = 0;
  recorded_ = false;
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    s_.segments_.push_back(WalStorage::SegmentInfo{seqs[i], 0});
    if (auto err = replay_segment(seqs[i], i + 1 == seqs.size(), good_end, size)) return err;
  }
  return std::nullopt;
}

std::optional<WalError> WalReplay::remove_unrecorded_snapshots(const std::vector<Index>& snaps) {
  // save_snapshot writes its record only after the file is durable and deletes nothing before the
  // record is durable, so the WAL still describes the state before that call: go back to it. The
  // file must go, or a later SNAPSHOT record could be taken for its own.
  for (const Index index : snaps) {
    const std::string path = wal::join_path(s_.dir_, wal::snapshot_name(index));
    if (::unlink(path.c_str()) != 0) return io_error("unlink", path, errno);
    if (const int err = wal::sync_all(s_.dir_fd_)) return io_error("fsync", s_.dir_, err);
    report_.removed_unrecorded_snapshot = path;
  }
  return std::nullopt;
}

std::optional<WalError> WalReplay::load_hard_state() {
  const std::string path = wal::join_path(s_.dir_, wal::kHardStateName);
  std::string bytes;
  if (const int err = wal::read_file(path, bytes)) {
    if (err == ENOENT) return std::nullopt;  // run() decides whether that is a new node or a lost file
    return io_error("read", path, err);
  }
  hard_state_found_ = true;
  if (auto bad = wal::decode_hard_state_file(bytes, s_.hard_state_)) {
    return corrupt(path, bad->offset, bad->detail);
  }
  return std::nullopt;
}

std::optional<WalError> WalReplay::replay_segment(std::uint64_t seq, bool last, std::size_t& good_end,
                                                  std::size_t& size) {
  const std::string path = path_of(seq);
  std::string bytes;
  if (const int err = wal::read_file(path, bytes)) return io_error("read", path, err);
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    const wal::DecodedRecord r = wal::decode_record(bytes, offset);
    if (r.status != wal::DecodeStatus::kOk) {
      // A crash can only tear the end of what was written last (roll-over syncs full segments).
      // Damage anywhere else is corruption, reported rather than skipped.
      const char* what = r.status == wal::DecodeStatus::kIncomplete ? "incomplete record" : "record CRC mismatch";
      if (!last) return corrupt(path, offset, std::string(what) + " in a segment before the last");
      if (wal::intact_record_after(bytes, offset)) {
        return corrupt(path, offset, std::string(what) + " followed by intact records");
      }
      break;  // torn tail
    }
    if (std::optional<std::string> impossible = apply(r)) return corrupt(path, offset, *impossible);
    ++report_.records;
    offset = r.end;
  }
  good_end = offset;
  size = bytes.size();
  return std::nullopt;
}

std::optional<std::string> WalReplay::apply(const wal::DecodedRecord& record) {
  switch (static_cast<wal::RecordType>(record.type)) {
    case wal::RecordType::kEntry: return apply_entry(record.payload);
    case wal::RecordType::kTruncate: return apply_truncate(record.payload);
    case wal::RecordType::kCommit: return apply_commit(record.payload);
    case wal::RecordType::kSnapshot: return apply_snapshot(record.payload);
    case wal::RecordType::kAppState: s_.app_state_.assign(record.payload); return std::nullopt;
  }
  return "unknown record type " + std::to_string(record.type);
}

// The log is rebuilt only above the loaded snapshot (s_.offset()); s_.log_ always equals the entries
// above it that the log held at that point of its history, and s_.last_index() is
// max(that log's last index, offset), which is all the checks below rely on.

std::optional<std::string> WalReplay::apply_entry(std::string_view payload) {
  Entry e;
  if (!e.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return "ENTRY payload does not parse";
  }
  if (e.index() == 0) return "ENTRY index 0";
  s_.segments_.back().max_entry = std::max(s_.segments_.back().max_entry, e.index());
  if (e.index() <= s_.offset()) {
    // Covered by the snapshot; its segment survived compaction because of later entries. It cannot
    // follow entries above the snapshot without a TRUNCATE or an install in between.
    if (!s_.log_.empty()) {
      return "ENTRY index " + std::to_string(e.index()) + " at or below the snapshot index " +
             std::to_string(s_.offset()) + ", after entries above it";
    }
    return std::nullopt;
  }
  if (e.index() != s_.last_index() + 1) {
    // Entries above a snapshot are never in a deleted segment; a gap right above the loaded one is
    // most likely a newer snapshot file that was lost, whose compaction deleted them.
    const bool above_snapshot = s_.log_.empty() && s_.offset() > 0;
    return "ENTRY index " + std::to_string(e.index()) + ", expected " + std::to_string(s_.last_index() + 1) +
           (above_snapshot ? " (entries above the loaded snapshot are missing: a newer snapshot "
                             "file lost?)"
                           : "");
  }
  s_.log_.push_back(std::move(e));
  return std::nullopt;
}

std::optional<std::string> WalReplay::apply_truncate(std::string_view payload) {
  const std::optional<std::uint64_t> from = wal::decode_index_payload(payload);
  if (!from) return "TRUNCATE payload is not 8 bytes";
  const Index last = s_.last_index();
  // WalStorage::truncate only writes a record when it removes something above the commit.
  if (*from < 1 || *from > last || *from <= s_.hard_state_.commit()) {
    return "TRUNCATE from " + std::to_string(*from) + " outside (commit " + std::to_string(s_.hard_state_.commit()) +
           ", last " + std::to_string(last) + "]";
  }
  if (*from <= s_.offset()) {
    s_.log_.clear();  // an older history: it removed everything above the snapshot too
  } else {
    s_.log_.resize(*from - s_.offset() - 1);
  }
  return std::nullopt;
}

std::optional<std::string> WalReplay::apply_commit(std::string_view payload) {
  const std::optional<std::uint64_t> commit = wal::decode_index_payload(payload);
  if (!commit) return "COMMIT payload is not 8 bytes";
  if (*commit > s_.last_index()) {
    return "COMMIT " + std::to_string(*commit) + " beyond last index " + std::to_string(s_.last_index());
  }
  s_.hard_state_.set_commit(*commit);
  return std::nullopt;
}

std::optional<std::string> WalReplay::apply_snapshot(std::string_view payload) {
  const std::optional<wal::SnapshotRecord> rec = wal::decode_snapshot_payload(payload);
  if (!rec) return "SNAPSHOT payload is not 25 bytes with a known kind";
  if (rec->index > s_.offset()) {
    return "SNAPSHOT record for index " + std::to_string(rec->index) + ", but its file " +
           wal::snapshot_name(rec->index) + " is missing";
  }
  if (rec->index == s_.offset()) {
    if (rec->term != s_.snapshot_.term()) {
      return "SNAPSHOT record term " + std::to_string(rec->term) + ", but its file says " +
             std::to_string(s_.snapshot_.term());
    }
    recorded_ = true;
    s_.snapshot_record_seq_ = s_.segments_.back().seq;
  }
  // An install discarded the whole log of its time, so everything above the loaded snapshot that
  // came before it too. A compaction changed nothing above it.
  if (rec->kind == wal::SnapshotKind::kInstall) s_.log_.clear();
  if (rec->commit < rec->index || rec->commit > s_.last_index()) {
    return "SNAPSHOT record commit " + std::to_string(rec->commit) + " outside [" + std::to_string(rec->index) + ", " +
           std::to_string(s_.last_index()) + "]";
  }
  s_.hard_state_.set_commit(rec->commit);
  return std::nullopt;
}

std::optional<WalError> WalReplay::open_tail(std::uint64_t seq, std::size_t good_end, std::size_t size) {
  const std::string path = path_of(seq);
  s_.segment_fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (s_.segment_fd_ < 0) return io_error("open", path, errno);
  s_.segment_seq_ = seq;
  s_.segment_size_ = good_end;
  if (good_end < size) {
    // Cut the torn tail now, durably: appends must follow the last good record, or the next
    // recovery would find garbage in the middle of the log.
    if (::ftruncate(s_.segment_fd_, static_cast<off_t>(good_end)) != 0) {
      return io_error("ftruncate", path, errno);
    }
    if (const int err = wal::sync_all(s_.segment_fd_)) return io_error("fsync", path, err);
    report_.torn_bytes = size - good_end;
    report_.torn_path = path;
    report_.torn_offset = good_end;
  }
  return std::nullopt;
}

std::string WalReplay::path_of(std::uint64_t seq) const { return wal::join_path(s_.dir_, wal::segment_name(seq)); }

}  // namespace raftbgp::raft
