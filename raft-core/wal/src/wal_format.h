// Private to WalStorage: the byte formats of WAL records and of the hardstate file (wal_storage.h
// describes them). Pure functions over bytes; the IO lives in wal_io.* and wal_storage.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "raftbgp/raft/types.h"

namespace raftbgp::raft::wal {

enum class RecordType : std::uint8_t { kEntry = 1, kTruncate = 2, kCommit = 3, kSnapshot = 4, kAppState = 5 };

// What a SNAPSHOT record did to the log it was written after (storage.h, save_snapshot): replay
// cannot recompute it, because the entries it compared against may live in deleted segments.
enum class SnapshotKind : std::uint8_t {
  kCompact = 0,  // the log held the snapshot's (index, term): entries above the index were kept
  kInstall = 1,  // it did not: the whole log was discarded
};

// Little-endian integers of 1..8 bytes: put_le appends `bytes` bytes to `out`; get_le reads `n` bytes
// of `bytes` at `offset` (precondition: offset + n <= bytes.size()).
void put_le(std::string& out, std::uint64_t value, int bytes);
std::uint64_t get_le(std::string_view bytes, std::size_t offset, int n);

// [u32 payload length][u32 crc32c(type + payload)][u8 type]
inline constexpr std::size_t kRecordHeaderBytes = 9;

// Appends one framed record to `out`.
void append_entry_record(std::string& out, const Entry& entry);
void append_index_record(std::string& out, RecordType type, std::uint64_t value);
// APP_STATE: the payload is the application's bytes, unchanged (WalStorage::save_app_state).
void append_app_state_record(std::string& out, std::string_view bytes);

enum class DecodeStatus {
  kOk,          // a whole record whose CRC matches (its type may still be unknown)
  kIncomplete,  // the bytes end inside the header or the payload
  kBadCrc,      // whole, but the CRC does not match (a zero-filled tail lands here too)
};

struct DecodedRecord {
  DecodeStatus status = DecodeStatus::kIncomplete;
  std::uint8_t type = 0;
  std::string_view payload;  // views into the bytes given to decode_record
  std::size_t end = 0;       // offset just past the record (kOk and kBadCrc)
};

// SNAPSHOT payload: u64 index, u64 term, u64 commit (the commit index right after the snapshot, so
// COMMIT records in deleted segments are never needed), u8 kind. 25 bytes, all little-endian.
struct SnapshotRecord {
  Index index = 0;
  Term term = 0;
  Index commit = 0;
  SnapshotKind kind = SnapshotKind::kCompact;
};
void append_snapshot_record(std::string& out, const SnapshotRecord& record);
// nullopt if the payload is not 25 bytes or the kind is unknown.
std::optional<SnapshotRecord> decode_snapshot_payload(std::string_view payload);

// Decodes the record starting at `offset` in `bytes`. Precondition: offset < bytes.size().
DecodedRecord decode_record(std::string_view bytes, std::size_t offset);

// Whether an intact record of a known type starts anywhere after `offset`. A bad record with intact
// data after it is corruption, not a torn tail: a torn write only loses the end of the file.
bool intact_record_after(std::string_view bytes, std::size_t offset);

// The u64 payload of TRUNCATE and COMMIT records; nullopt if the payload is not 8 bytes.
std::optional<std::uint64_t> decode_index_payload(std::string_view payload);

// hardstate file: "RBHS" magic, u32 version 1, u64 term, u64 vote, u32 crc32c of the 24 bytes before.
inline constexpr std::size_t kHardStateFileBytes = 28;
std::string encode_hard_state_file(Term term, NodeId vote);

struct HardStateFileError {
  std::uint64_t offset = 0;  // where in the file it goes wrong
  std::string detail;
};
// Decodes term and vote into `out` (commit untouched) or says where the file is wrong.
std::optional<HardStateFileError> decode_hard_state_file(std::string_view bytes, HardState& out);

// Segment file names: "wal-" + 16 lowercase hex digits of the sequence number + ".log".
std::string segment_name(std::uint64_t seq);
std::optional<std::uint64_t> parse_segment_name(std::string_view name);
// Exactly 16 lowercase hex digits (the names of segments and snapshot files), or nullopt.
std::optional<std::uint64_t> parse_hex16(std::string_view digits);

inline constexpr std::string_view kHardStateName = "hardstate";
inline constexpr std::string_view kHardStateTempName = "hardstate.tmp";

}  // namespace raftbgp::raft::wal
