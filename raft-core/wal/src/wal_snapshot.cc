#include "wal_snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "raftbgp/raft/crc32c.h"
#include "wal_format.h"
#include "wal_io.h"

namespace raftbgp::raft::wal {
namespace {

constexpr std::uint32_t kSnapshotMagic = 0x4E534252u;  // "RBSN" read as little-endian bytes
constexpr std::uint32_t kSnapshotVersion = 1;
constexpr std::string_view kPrefix = "snap-";
constexpr std::string_view kSuffix = ".snap";
constexpr std::string_view kTempSuffix = ".tmp";

SnapshotDecodeResult bad(std::uint64_t offset, std::string detail) {
  return SnapshotDecodeResult{std::nullopt, SnapshotFileError{offset, std::move(detail)}};
}

}  // namespace

std::string snapshot_name(Index index) {
  char name[40];
  std::snprintf(name, sizeof name, "snap-%016llx.snap", static_cast<unsigned long long>(index));
  return name;
}

std::string snapshot_temp_name(Index index) { return snapshot_name(index) + std::string(kTempSuffix); }

std::optional<Index> parse_snapshot_name(std::string_view name) {
  if (name.size() != kPrefix.size() + 16 + kSuffix.size()) return std::nullopt;
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return std::nullopt;
  return parse_hex16(name.substr(kPrefix.size(), 16));
}

bool is_snapshot_temp_name(std::string_view name) {
  if (!name.ends_with(kTempSuffix)) return false;
  return parse_snapshot_name(name.substr(0, name.size() - kTempSuffix.size())).has_value();
}

std::string encode_snapshot_header(const Snapshot& snap) {
  const std::string meta = snap.meta.SerializeAsString();
  std::string out;
  out.reserve(kSnapshotHeaderBytes + meta.size());
  put_le(out, kSnapshotMagic, 4);
  put_le(out, kSnapshotVersion, 4);
  put_le(out, snap.meta.index(), 8);
  put_le(out, snap.meta.term(), 8);
  put_le(out, meta.size(), 4);
  put_le(out, snap.data.size(), 8);
  put_le(out, crc32c(snap.data), 4);
  put_le(out, crc32c_extend(crc32c(out), meta), 4);
  out += meta;
  return out;
}

SnapshotDecodeResult decode_snapshot_file(std::string_view bytes) {
  const std::size_t size = bytes.size();
  if (size < kSnapshotHeaderBytes) {
    return bad(size, "snapshot file is " + std::to_string(size) + " bytes, shorter than its " +
                         std::to_string(kSnapshotHeaderBytes) + "-byte header");
  }
  // meta_len is needed to find the end of what the header CRC covers, so it is the one field read
  // before that CRC is checked; a damaged one either points past the end or fails the CRC.
  const std::uint64_t meta_len = get_le(bytes, 24, 4);
  if (meta_len > size - kSnapshotHeaderBytes) {
    return bad(24, "metadata length " + std::to_string(meta_len) + " runs past the end of the " + std::to_string(size) +
                       "-byte file");
  }
  const std::string_view meta = bytes.substr(kSnapshotHeaderBytes, meta_len);
  if (crc32c_extend(crc32c(bytes.substr(0, 40)), meta) != get_le(bytes, 40, 4)) {
    return bad(40, "snapshot header CRC mismatch");
  }
  if (get_le(bytes, 0, 4) != kSnapshotMagic) return bad(0, "bad snapshot magic");
  if (get_le(bytes, 4, 4) != kSnapshotVersion) return bad(4, "unknown snapshot version");
  const std::size_t data_offset = kSnapshotHeaderBytes + meta.size();
  const std::uint64_t data_len = get_le(bytes, 28, 8);
  if (data_len != size - data_offset) {
    const bool short_file = data_len > size - data_offset;
    return bad(short_file ? size : data_offset + data_len,
               "snapshot file is " + std::to_string(size) + " bytes, its header says " + std::to_string(data_offset) +
                   " + " + std::to_string(data_len) + (short_file ? " (cut short)" : " (trailing bytes)"));
  }
  if (crc32c(bytes.substr(data_offset)) != get_le(bytes, 36, 4)) {
    return bad(data_offset, "snapshot data CRC mismatch");
  }
  DecodedSnapshotFile file;
  if (!file.meta.ParseFromArray(meta.data(), static_cast<int>(meta.size()))) {
    return bad(kSnapshotHeaderBytes, "snapshot metadata does not parse");
  }
  if (file.meta.index() != get_le(bytes, 8, 8) || file.meta.term() != get_le(bytes, 16, 8)) {
    return bad(kSnapshotHeaderBytes, "snapshot metadata disagrees with the header's index/term");
  }
  file.data_offset = data_offset;
  file.data_size = size - data_offset;
  return SnapshotDecodeResult{std::move(file), std::nullopt};
}

std::optional<IoFailure> write_snapshot_file(const std::string& dir, int dir_fd, const Snapshot& snap) {
  // The same dance as the hardstate file: a crash leaves the old set of files or the new one, and a
  // leftover temp file is deleted unread on open. The directory fsync also makes the entry of any
  // segment created since the last sync() durable, so a snapshot file never outlives the segment
  // that is to record it.
  const std::string tmp = join_path(dir, snapshot_temp_name(snap.meta.index()));
  const std::string path = join_path(dir, snapshot_name(snap.meta.index()));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, kFileMode);
  if (fd < 0) return IoFailure{"create", tmp, errno};
  int err = write_all(fd, encode_snapshot_header(snap));
  if (err == 0) err = write_all(fd, snap.data);
  if (err == 0) err = sync_all(fd);
  const int close_err = close_fd(fd);
  if (err == 0) err = close_err;
  if (err != 0) return IoFailure{"write", tmp, err};
  if (::rename(tmp.c_str(), path.c_str()) != 0) return IoFailure{"rename", path, errno};
  if (const int e = sync_all(dir_fd)) return IoFailure{"fsync", dir, e};
  return std::nullopt;
}

std::optional<WalError> read_snapshot_file(const std::string& path, Index expected_index, bool with_data,
                                           Snapshot& out) {
  std::string bytes;
  if (const int err = read_file(path, bytes)) {
    return WalError{WalError::Kind::kIo, err, path, 0, "read"};
  }
  SnapshotDecodeResult r = decode_snapshot_file(bytes);
  if (r.error) {
    return WalError{WalError::Kind::kCorrupt, 0, path, r.error->offset, std::move(r.error->detail)};
  }
  if (r.file->meta.index() != expected_index) {
    return WalError{WalError::Kind::kCorrupt, 0, path, 8,
                    "snapshot index " + std::to_string(r.file->meta.index()) + " does not match its file name"};
  }
  out.meta = std::move(r.file->meta);
  if (with_data) {
    // Drop the header in place rather than copying the (possibly large) data out.
    bytes.erase(0, r.file->data_offset);
    out.data = std::move(bytes);
  }
  return std::nullopt;
}

}  // namespace raftbgp::raft::wal
