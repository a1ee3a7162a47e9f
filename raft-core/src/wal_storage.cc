// WalStorage's runtime half: queries, appends, group commit, the hardstate file. Opening and
// recovery live in wal_replay.cc, the byte formats in wal_format.cc, POSIX wrappers in wal_io.cc.
#include "raftbgp/raft/wal_storage.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "wal_format.h"
#include "wal_io.h"
#include "wal_replay.h"

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

WalOpenResult WalStorage::open(std::string dir, Options options) {
  return WalReplay::open(std::move(dir), options);
}

WalStorage::WalStorage(std::string dir, Options options, int dir_fd)
    : dir_(std::move(dir)), options_(options), dir_fd_(dir_fd) {}

WalStorage::~WalStorage() {
  wal::close_fd(segment_fd_);
  wal::close_fd(dir_fd_);  // also releases the flock
}

std::string WalStorage::open_segment_path() const {
  return wal::join_path(dir_, wal::segment_name(segment_seq_));
}

// ---- queries: answered from memory, like MemoryStorage ----

HardState WalStorage::hard_state() const { return hard_state_; }

Index WalStorage::first_index() const { return 1; }

Index WalStorage::last_index() const { return log_.size(); }

std::optional<Term> WalStorage::term(Index index) const {
  if (index == 0) return Term{0};
  if (index > last_index()) return std::nullopt;
  return log_[index - 1].term();
}

std::vector<Entry> WalStorage::entries(Index lo, Index hi, std::uint64_t max_bytes) const {
  RAFT_ASSERT(lo >= first_index() && lo <= hi && hi <= last_index() + 1);
  std::vector<Entry> out;
  std::uint64_t bytes = 0;
  for (Index i = lo; i < hi; ++i) {
    const Entry& e = log_[i - 1];
    bytes += e.ByteSizeLong();
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

// ---- mutations ----

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
  log_.resize(from - 1);
}

void WalStorage::save_hard_state(const HardState& hs) {
  check_usable();
  RAFT_ASSERT(hs.commit() <= last_index());
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
  dir_dirty_ = true;
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

void WalStorage::check_usable() const {
  if (failed_) throw StorageIoError("use after an earlier IO failure of", dir_, EIO);
}

void WalStorage::fail(const char* op, const std::string& path, int error_number) {
  failed_ = true;
  throw StorageIoError(op, path, error_number);
}

}  // namespace raftbgp::raft
