// Private to WalStorage: snapshot files (the "Snapshot files" paragraph of wal_storage.h): their
// names, their byte format, and writing and reading them whole.
//
// Format, little-endian, a fixed 44-byte header then two variable parts:
//    0 u32 magic "RBSN"        24 u32 meta_len: bytes of serialized SnapshotMetadata
//    4 u32 version (1)         28 u64 data_len: bytes of state machine data
//    8 u64 index               36 u32 CRC32C of the data
//   16 u64 term                40 u32 CRC32C of bytes [0, 40) followed by the metadata
//   44 metadata (raftbgp::v1::SnapshotMetadata: index, term, conf_state), then the data.
// The header CRC is checked before any header field is trusted (except meta_len, which it needs), so
// a flipped bit anywhere is found and reported with the offset of the part it is in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "raftbgp/raft/storage.h"
#include "raftbgp/raft/wal_storage.h"

namespace raftbgp::raft::wal {

inline constexpr std::size_t kSnapshotHeaderBytes = 44;

// "snap-" + 16 lowercase hex digits of the snapshot's last included index + ".snap"; the temp file
// of a write in progress adds ".tmp".
std::string snapshot_name(Index index);
std::string snapshot_temp_name(Index index);
std::optional<Index> parse_snapshot_name(std::string_view name);
bool is_snapshot_temp_name(std::string_view name);

// The header and metadata of `snap`'s file; the data follows them unchanged.
std::string encode_snapshot_header(const Snapshot& snap);

struct SnapshotFileError {
  std::uint64_t offset = 0;  // byte of the file where it goes wrong
  std::string detail;
};
struct DecodedSnapshotFile {
  SnapshotMetadata meta;
  std::size_t data_offset = 0;  // the data is bytes[data_offset, data_offset + data_size)
  std::size_t data_size = 0;
};
// Checks a whole snapshot file (lengths, both CRCs, magic, version, metadata agreeing with the
// header). Exactly one of the two is set.
struct SnapshotDecodeResult {
  std::optional<DecodedSnapshotFile> file;
  std::optional<SnapshotFileError> error;
};
SnapshotDecodeResult decode_snapshot_file(std::string_view bytes);

// An OS call that failed while writing: the WalStorage turns it into a StorageIoError.
struct IoFailure {
  std::string op;
  std::string path;
  int error_number = 0;
};

// Writes `snap` as dir/snapshot_name(index) atomically and durably: temp file, write, fsync, close,
// rename, fsync of `dir_fd`. After a crash the name holds the whole file or does not exist.
std::optional<IoFailure> write_snapshot_file(const std::string& dir, int dir_fd, const Snapshot& snap);

// Reads and checks the file at `path`, which must hold the snapshot of `expected_index` (its name
// says so). Fills out.meta, and out.data when `with_data` (else only checks it). Errors: kIo with
// errno, or kCorrupt with the offset and reason.
std::optional<WalError> read_snapshot_file(const std::string& path, Index expected_index, bool with_data,
                                           Snapshot& out);

}  // namespace raftbgp::raft::wal
