// WalStorage's runtime half: queries, appends, group commit, the hardstate file, saving snapshots
// and compaction. Opening and recovery live in wal_replay.cc, the byte formats in wal_format.cc and
// wal_snapshot.cc, POSIX wrappers in wal_io.cc.
#include "raftbgp/raft/wal_storage.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "wal_format.h"
#include "wal_io.h"
#include "wal_replay.h"
#include "wal_snapshot.h"

namespace raftbgp::raft {

StorageIoError::StorageIoError(const std::string& op, std::string path, int error_number)
    : std::runtime_error(op + " " + path + ": " + std::strerror(error_number)),
      op_(op),
      path_(std::move(path)),
      error_number_(error_number) {}

std::string WalError::message() const {
  if (kind == Kind::kCorrupt) {
    return "corrupt " + path + " at byte " + std::to_string(offset) + ": " + detail;
  }
  return detail + " " + path + ": " + std::strerror(error_number);
}

WalStorage& WalOpenResult::storage() const {
  RAFT_ASSERT(storage_ != nullptr);
  return *storage_;
}

std::unique_ptr<WalStorage> WalOpenResult::take() {
  RAFT_ASSERT(storage_ != nullptr);
  return std::move(storage_);
}

const WalError& WalOpenResult::error() const {
  RAFT_ASSERT(storage_ == nullptr && !error_.detail.empty());
  return error_;
}

WalOpenResult WalStorage::open(std::string dir, Options options) { return WalReplay::open(std::move(dir), options); }

WalStorage::WalStorage(std::string dir, Options options, int dir_fd)
    : dir_(std::move(dir)), options_(options), dir_fd_(dir_fd) {}

WalStorage::~WalStorage() {
  wal::close_fd(segment_fd_);
  wal::close_fd(dir_fd_);  // also releases the flock
}

std::string WalStorage::open_segment_path() const { return wal::join_path(dir_, wal::segment_name(segment_seq_)); }

// ---- queries: answered from memory, like MemoryStorage ----

HardState WalStorage::hard_state() const { return hard_state_; }

std::string WalStorage::snapshot_path() const {
  if (offset() == 0) return {};
  return wal::join_path(dir_, wal::snapshot_name(offset()));
}

Index WalStorage::first_index() const { return offset() + 1; }

Index WalStorage::last_index() const { return offset() + log_.size(); }

std::optional<Term> WalStorage::term(Index index) const {
  if (index == offset()) return snapshot_.term();  // 0 with no snapshot
  if (index < offset() || index > last_index()) return std::nullopt;
  return log_[index - offset() - 1].term();
}

std::vector<Entry> WalStorage::entries(Index lo, Index hi, std::uint64_t max_bytes) const {
  RAFT_ASSERT(lo >= first_index() && lo <= hi && hi <= last_index() + 1);
  std::vector<Entry> out;
  std::uint64_t bytes = 0;
  for (Index i = lo; i < hi; ++i) {
    const Entry& e = log_[i - offset() - 1];
    bytes += e.ByteSizeLong();
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

SnapshotMetadata WalStorage::snapshot_metadata() const { return snapshot_; }

std::optional<Snapshot> WalStorage::snapshot() const {
  if (offset() == 0) return std::nullopt;
  Snapshot snap;
  const std::string path = snapshot_path();
  // Re-checked on every read: the file may have rotted since open(), and a corrupt snapshot must
  // never reach a follower's state machine.
  if (std::optional<WalError> err = wal::read_snapshot_file(path, offset(), true, snap)) {
    if (err->kind == WalError::Kind::kIo) throw StorageIoError(err->detail, path, err->error_number);
    throw StorageIoError("verify (" + err->message() + ")", path, EIO);
  }
  return snap;
}

// ---- mutations ----

void WalStorage::save_snapshot(const Snapshot& snap) {
  check_usable();
  const Index index = snap.meta.index();
  RAFT_ASSERT(index > offset());
  const bool compact = index <= last_index() && term(index) == snap.meta.term();
  // A committed entry at `index` would have the snapshot's term (§5.4): only uncommitted ones go.
  RAFT_ASSERT(compact || hard_state_.commit() < index);
  const Index commit = std::max(hard_state_.commit(), index);

  // (1) The file, whole and durable, before any record names it.
  if (std::optional<wal::IoFailure> f = wal::write_snapshot_file(dir_, dir_fd_, snap)) {
    fail(f->op.c_str(), f->path, f->error_number);
  }
  snapshot_files_.push_back(index);
  // (2) The record that makes it part of the log's history; the sync covers earlier writes too.
  // It carries what it did (compact or install) because replay may not have the entries to tell.
  buffer_.clear();
  wal::append_snapshot_record(buffer_,
                              wal::SnapshotRecord{index, snap.meta.term(), commit,
                                                  compact ? wal::SnapshotKind::kCompact : wal::SnapshotKind::kInstall});
  append_records(buffer_);
  sync();
  snapshot_record_seq_ = segment_seq_;
  if (compact) {
    log_.erase(log_.begin(), log_.begin() + static_cast<std::ptrdiff_t>(index - offset()));
  } else {
    log_.clear();  // §7: a follower discards its entire log for a snapshot it does not share
  }
  snapshot_ = snap.meta;
  hard_state_.set_commit(commit);
  // (3) Only now may what the snapshot replaces go.
  delete_compacted_segments();
  prune_snapshot_files();
}

void WalStorage::store(std::span<const Entry> entries) {
  check_usable();
  if (entries.empty()) return;
  // Check the whole batch before writing any of it: a precondition failure must not leave half a
  // batch on disk.
  Index expect = last_index() + 1;
  for (const Entry& e : entries) {
    RAFT_ASSERT(e.index() == expect);
    ++expect;
  }
  buffer_.clear();
  for (const Entry& e : entries) wal::append_entry_record(buffer_, e);
  append_records(buffer_);
  // After append_records: a roll-over may have made a new segment the one these went into.
  segments_.back().max_entry = std::max(segments_.back().max_entry, entries.back().index());
  log_.insert(log_.end(), entries.begin(), entries.end());
}

void WalStorage::truncate(Index from) {
  check_usable();
  RAFT_ASSERT(from >= first_index());
  // Committed entries are never removed (§5.3, Log Matching; §5.4 Leader Completeness).
  RAFT_ASSERT(from > hard_state_.commit());
  if (from > last_index()) return;
  buffer_.clear();
  wal::append_index_record(buffer_, wal::RecordType::kTruncate, from);
  append_records(buffer_);
  log_.resize(from - offset() - 1);
}

void WalStorage::save_hard_state(const HardState& hs) {
  check_usable();
  RAFT_ASSERT(hs.commit() >= offset() && hs.commit() <= last_index());
  if (hs.term() != hard_state_.term() || hs.vote() != hard_state_.vote()) {
    // Term and vote must be durable before any message that depends on them leaves (§5.1), and the
    // driver sends right after sync(): making them durable now is the simplest way to guarantee it.
    // They change once per election, so the extra fsyncs do not matter for throughput.
    write_hard_state_file(hs);
    hard_state_.set_term(hs.term());
    hard_state_.set_vote(hs.vote());
  }
  if (hs.commit() != hard_state_.commit()) {
    // The commit index is not needed for safety (it can be re-learned from the leader), so it rides
    // in the WAL's next fsync group instead of costing a file replacement.
    buffer_.clear();
    wal::append_index_record(buffer_, wal::RecordType::kCommit, hs.commit());
    append_records(buffer_);
    hard_state_.set_commit(hs.commit());
  }
}

void WalStorage::save_app_state(std::string_view bytes) {
  check_usable();
  buffer_.clear();
  wal::append_app_state_record(buffer_, bytes);
  append_records(buffer_);
  app_state_.assign(bytes);
}

void WalStorage::sync() {
  check_usable();
  if (segment_dirty_) {
    if (const int err = wal::sync_data(segment_fd_)) fail("fdatasync", open_segment_path(), err);
    segment_dirty_ = false;
  }
  if (dir_dirty_) {
    // A new segment's directory entry must be durable too, or its synced data could vanish.
    if (const int err = wal::sync_all(dir_fd_)) fail("fsync", dir_, err);
    dir_dirty_ = false;
  }
}

// ---- helpers ----

void WalStorage::append_records(const std::string& bytes) {
  if (segment_size_ >= options_.segment_bytes) roll_segment();
  if (const int err = wal::write_all(segment_fd_, bytes)) fail("write", open_segment_path(), err);
  segment_size_ += bytes.size();
  segment_dirty_ = true;
}

void WalStorage::roll_segment() {
  // Sync the full segment before the next one exists: then a torn tail can only be in the last
  // segment, and recovery may treat damage in any earlier segment as corruption.
  if (segment_dirty_) {
    if (const int err = wal::sync_data(segment_fd_)) fail("fdatasync", open_segment_path(), err);
    segment_dirty_ = false;
  }
  if (const int err = wal::close_fd(segment_fd_)) fail("close", open_segment_path(), err);
  create_segment(segment_seq_ + 1);
}

void WalStorage::create_segment(std::uint64_t seq) {
  segment_seq_ = seq;
  segment_size_ = 0;
  const std::string path = open_segment_path();
  segment_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, wal::kFileMode);
  if (segment_fd_ < 0) fail("create", path, errno);
  segments_.push_back(SegmentInfo{seq, 0});
  dir_dirty_ = true;
  if (app_state_.empty()) return;
  // The open segment always holds the latest APP_STATE, so deleting older segments never loses it. Written ahead
  // of the batch that rolled over, it is durable with that batch.
  std::string record;
  wal::append_app_state_record(record, app_state_);
  if (const int err = wal::write_all(segment_fd_, record)) fail("write", path, err);
  segment_size_ += record.size();
  segment_dirty_ = true;
}

void WalStorage::write_hard_state_file(const HardState& hs) {
  // Atomic replacement: a crash leaves either the old file or the new one, never a mix; a leftover
  // temp file is deleted unread on open.
  const std::string tmp = wal::join_path(dir_, wal::kHardStateTempName);
  const std::string path = wal::join_path(dir_, wal::kHardStateName);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, wal::kFileMode);
  if (fd < 0) fail("create", tmp, errno);
  int err = wal::write_all(fd, wal::encode_hard_state_file(hs.term(), hs.vote()));
  if (err == 0) err = wal::sync_all(fd);
  const int close_err = wal::close_fd(fd);
  if (err == 0) err = close_err;
  if (err != 0) fail("write", tmp, err);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename", path, errno);
  if (const int e = wal::sync_all(dir_fd_)) fail("fsync", dir_, e);
}

void WalStorage::delete_compacted_segments() {
  while (segments_.front().seq < snapshot_record_seq_ && segments_.front().max_entry <= offset()) {
    const std::string path = wal::join_path(dir_, wal::segment_name(segments_.front().seq));
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail("unlink", path, errno);
    // One directory fsync per segment: if several unlinks reached the disk out of order, a crash
    // could leave a hole in the sequence, which open() must report as a lost segment.
    if (const int err = wal::sync_all(dir_fd_)) fail("fsync", dir_, err);
    segments_.erase(segments_.begin());
    ++deleted_segments_;
  }
}

void WalStorage::prune_snapshot_files() {
  // The previous snapshot stays as a manual way back for an operator if the newest one rots (open()
  // never falls back by itself, wal_storage.h). No fsync: an older file that comes back after a
  // crash is never loaded, and the next call deletes it again.
  while (snapshot_files_.size() > 2) {
    const std::string path = wal::join_path(dir_, wal::snapshot_name(snapshot_files_.front()));
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail("unlink", path, errno);
    snapshot_files_.erase(snapshot_files_.begin());
  }
}

void WalStorage::check_usable() const {
  if (failed_) throw StorageIoError("use after an earlier IO failure of", dir_, EIO);
}

void WalStorage::fail(const char* op, const std::string& path, int error_number) {
  failed_ = true;
  throw StorageIoError(op, path, error_number);
}

}  // namespace raftbgp::raft
