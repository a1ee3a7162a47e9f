#include "wal_replay.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "wal_io.h"

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
  if (auto err = scan_dir(seqs)) return err;
  if (auto err = load_hard_state()) return err;
  report_.segments = seqs.size();
  if (seqs.empty()) {
    s_.create_segment(1);  // the next sync() makes its directory entry durable
    return std::nullopt;
  }
  std::sort(seqs.begin(), seqs.end());
  for (std::size_t i = 1; i < seqs.size(); ++i) {
    // Segments are only ever added at the end (no compaction yet): a hole means a lost file.
    if (seqs[i] != seqs[i - 1] + 1) return corrupt(path_of(seqs[i - 1] + 1), 0, "segment missing");
  }
  std::size_t good_end = 0;
  std::size_t size = 0;
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    if (auto err = replay_segment(seqs[i], i + 1 == seqs.size(), good_end, size)) return err;
  }
  return open_tail(seqs.back(), good_end, size);
}

std::optional<WalError> WalReplay::scan_dir(std::vector<std::uint64_t>& seqs) {
  std::vector<std::string> names;
  if (const int err = wal::list_dir(s_.dir_, names)) return io_error("list", s_.dir_, err);
  for (const std::string& name : names) {
    if (const std::optional<std::uint64_t> seq = wal::parse_segment_name(name)) {
      seqs.push_back(*seq);
    } else if (name == wal::kHardStateTempName) {
      // A replacement that crashed before its rename: the old hardstate is still the valid one.
      const std::string path = wal::join_path(s_.dir_, name);
      if (::unlink(path.c_str()) != 0) return io_error("unlink", path, errno);
      report_.removed_temp_hardstate = true;
    }
  }
  return std::nullopt;
}

std::optional<WalError> WalReplay::load_hard_state() {
  const std::string path = wal::join_path(s_.dir_, wal::kHardStateName);
  std::string bytes;
  if (const int err = wal::read_file(path, bytes)) {
    if (err == ENOENT) return std::nullopt;  // no vote ever cast: term 0, vote none
    return io_error("read", path, err);
  }
  if (auto bad = wal::decode_hard_state_file(bytes, s_.hard_state_)) {
    return corrupt(path, bad->offset, bad->detail);
  }
  return std::nullopt;
}

std::optional<WalError> WalReplay::replay_segment(std::uint64_t seq, bool last,
                                                  std::size_t& good_end, std::size_t& size) {
  const std::string path = path_of(seq);
  std::string bytes;
  if (const int err = wal::read_file(path, bytes)) return io_error("read", path, err);
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    const wal::DecodedRecord r = wal::decode_record(bytes, offset);
    if (r.status != wal::DecodeStatus::kOk) {
      // A crash can only tear the end of what was written last (roll-over syncs full segments).
      // Damage anywhere else is corruption, reported rather than skipped.
      const char* what =
          r.status == wal::DecodeStatus::kIncomplete ? "incomplete record" : "record CRC mismatch";
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
  const Index last = s_.log_.size();
  switch (static_cast<wal::RecordType>(record.type)) {
    case wal::RecordType::kEntry: {
      Entry e;
      if (!e.ParseFromArray(record.payload.data(), static_cast<int>(record.payload.size()))) {
        return "ENTRY payload does not parse";
      }
      if (e.index() != last + 1) {
        return "ENTRY index " + std::to_string(e.index()) + ", expected " + std::to_string(last + 1);
      }
      s_.log_.push_back(std::move(e));
      return std::nullopt;
    }
    case wal::RecordType::kTruncate: {
      const std::optional<std::uint64_t> from = wal::decode_index_payload(record.payload);
      if (!from) return "TRUNCATE payload is not 8 bytes";
      // WalStorage::truncate only writes a record when it removes something above the commit.
      if (*from < 1 || *from > last || *from <= s_.hard_state_.commit()) {
        return "TRUNCATE from " + std::to_string(*from) + " outside (commit " +
               std::to_string(s_.hard_state_.commit()) + ", last " + std::to_string(last) + "]";
      }
      s_.log_.resize(*from - 1);
      return std::nullopt;
    }
    case wal::RecordType::kCommit: {
      const std::optional<std::uint64_t> commit = wal::decode_index_payload(record.payload);
      if (!commit) return "COMMIT payload is not 8 bytes";
      if (*commit > last) {
        return "COMMIT " + std::to_string(*commit) + " beyond last index " + std::to_string(last);
      }
      s_.hard_state_.set_commit(*commit);
      return std::nullopt;
    }
  }
  return "unknown record type " + std::to_string(record.type);
}

std::optional<WalError> WalReplay::open_tail(std::uint64_t seq, std::size_t good_end,
                                             std::size_t size) {
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

std::string WalReplay::path_of(std::uint64_t seq) const {
  return wal::join_path(s_.dir_, wal::segment_name(seq));
}

}  // namespace raftbgp::raft
