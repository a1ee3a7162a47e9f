#include "wal_format.h"

#include <algorithm>
#include <cstdio>

#include "raftbgp/raft/crc32c.h"

namespace raftbgp::raft::wal {

void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFFu));
}

std::uint64_t get_le(std::string_view bytes, std::size_t offset, int n) {
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) {
    v = (v << 8) | static_cast<std::uint8_t>(bytes[offset + static_cast<std::size_t>(i)]);
  }
  return v;
}

namespace {

constexpr std::uint32_t kHardStateMagic = 0x53484252u;  // "RBHS" read as little-endian bytes
constexpr std::uint32_t kHardStateVersion = 1;

void store_le32(char* p, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((value >> (8 * i)) & 0xFFu);
}

// Fills in length and CRC of the record whose header starts at `start` (type byte already there).
void seal_record(std::string& out, std::size_t start) {
  const std::size_t payload = out.size() - start - kRecordHeaderBytes;
  const std::uint32_t crc = crc32c(std::string_view(out).substr(start + 8));
  store_le32(&out[start], static_cast<std::uint32_t>(payload));
  store_le32(&out[start + 4], crc);
}

bool known_type(std::uint8_t type) {
  return type >= static_cast<std::uint8_t>(RecordType::kEntry) &&
         type <= static_cast<std::uint8_t>(RecordType::kAppState);
}

}  // namespace

void append_entry_record(std::string& out, const Entry& entry) {
  const std::size_t start = out.size();
  const std::size_t size = entry.ByteSizeLong();
  // An entry's size is bounded by max_msg_bytes (node.h), far below the u32 length field.
  RAFT_ASSERT(size <= 0xFFFFFFFFu);
  out.resize(start + kRecordHeaderBytes + size);
  out[start + 8] = static_cast<char>(RecordType::kEntry);
  auto* payload = reinterpret_cast<std::uint8_t*>(&out[start + kRecordHeaderBytes]);
  const std::uint8_t* payload_end = entry.SerializeWithCachedSizesToArray(payload);
  RAFT_ASSERT(payload_end == payload + size);
  seal_record(out, start);
}

void append_index_record(std::string& out, RecordType type, std::uint64_t value) {
  const std::size_t start = out.size();
  out.append(8, '\0');
  out.push_back(static_cast<char>(type));
  put_le(out, value, 8);
  seal_record(out, start);
}

void append_app_state_record(std::string& out, std::string_view bytes) {
  // Bounded by the application (the agent's replay windows: a few bytes per sender and channel).
  RAFT_ASSERT(bytes.size() <= 0xFFFFFFFFu);
  const std::size_t start = out.size();
  out.append(8, '\0');
  out.push_back(static_cast<char>(RecordType::kAppState));
  out.append(bytes);
  seal_record(out, start);
}

void append_snapshot_record(std::string& out, const SnapshotRecord& record) {
  const std::size_t start = out.size();
  out.append(8, '\0');
  out.push_back(static_cast<char>(RecordType::kSnapshot));
  put_le(out, record.index, 8);
  put_le(out, record.term, 8);
  put_le(out, record.commit, 8);
  out.push_back(static_cast<char>(record.kind));
  seal_record(out, start);
}

std::optional<SnapshotRecord> decode_snapshot_payload(std::string_view payload) {
  if (payload.size() != 25) return std::nullopt;
  const auto kind = static_cast<std::uint8_t>(payload[24]);
  if (kind > static_cast<std::uint8_t>(SnapshotKind::kInstall)) return std::nullopt;
  return SnapshotRecord{get_le(payload, 0, 8), get_le(payload, 8, 8), get_le(payload, 16, 8),
                        static_cast<SnapshotKind>(kind)};
}

DecodedRecord decode_record(std::string_view bytes, std::size_t offset) {
  DecodedRecord r;
  const std::size_t avail = bytes.size() - offset;
  if (avail < kRecordHeaderBytes) return r;  // kIncomplete
  const std::uint64_t length = get_le(bytes, offset, 4);
  if (length > avail - kRecordHeaderBytes) return r;
  const auto len = static_cast<std::size_t>(length);
  const std::uint32_t stored = static_cast<std::uint32_t>(get_le(bytes, offset + 4, 4));
  const std::string_view covered = bytes.substr(offset + 8, len + 1);
  r.end = offset + kRecordHeaderBytes + len;
  if (crc32c(covered) != stored) {
    r.status = DecodeStatus::kBadCrc;
    return r;
  }
  r.status = DecodeStatus::kOk;
  r.type = static_cast<std::uint8_t>(covered[0]);
  r.payload = covered.substr(1);
  return r;
}

bool intact_record_after(std::string_view bytes, std::size_t offset) {
  // Only runs on the rare path where a record failed to decode. Most candidate offsets are rejected
  // by their length field (it points past the end) before any CRC is computed. Entry data chosen by
  // a client could still make many offsets claim long records, so the CRC work is capped; past the
  // cap the answer is "yes": reporting corruption is the safe side, silently cutting data is not.
  constexpr std::uint64_t kCrcBudgetBytes = std::uint64_t{256} << 20;
  std::uint64_t spent = 0;
  for (std::size_t pos = offset + 1; pos + kRecordHeaderBytes <= bytes.size(); ++pos) {
    const DecodedRecord r = decode_record(bytes, pos);
    if (r.status == DecodeStatus::kOk && known_type(r.type)) return true;
    if (r.status != DecodeStatus::kIncomplete) spent += r.end - pos;
    if (spent > kCrcBudgetBytes) return true;
  }
  return false;
}

std::optional<std::uint64_t> decode_index_payload(std::string_view payload) {
  if (payload.size() != 8) return std::nullopt;
  return get_le(payload, 0, 8);
}

std::string encode_hard_state_file(Term term, NodeId vote) {
  std::string out;
  out.reserve(kHardStateFileBytes);
  put_le(out, kHardStateMagic, 4);
  put_le(out, kHardStateVersion, 4);
  put_le(out, term, 8);
  put_le(out, vote, 8);
  put_le(out, crc32c(out), 4);
  return out;
}

std::optional<HardStateFileError> decode_hard_state_file(std::string_view bytes, HardState& out) {
  if (bytes.size() != kHardStateFileBytes) {
    return HardStateFileError{std::min<std::uint64_t>(bytes.size(), kHardStateFileBytes),
                              "hardstate file is " + std::to_string(bytes.size()) + " bytes, expected " +
                                  std::to_string(kHardStateFileBytes)};
  }
  if (crc32c(bytes.substr(0, 24)) != get_le(bytes, 24, 4)) {
    return HardStateFileError{24, "hardstate CRC mismatch"};
  }
  if (get_le(bytes, 0, 4) != kHardStateMagic) return HardStateFileError{0, "bad hardstate magic"};
  if (get_le(bytes, 4, 4) != kHardStateVersion) {
    return HardStateFileError{4, "unknown hardstate version"};
  }
  out.set_term(get_le(bytes, 8, 8));
  out.set_vote(get_le(bytes, 16, 8));
  return std::nullopt;
}

std::string segment_name(std::uint64_t seq) {
  char name[32];
  std::snprintf(name, sizeof name, "wal-%016llx.log", static_cast<unsigned long long>(seq));
  return name;
}

std::optional<std::uint64_t> parse_segment_name(std::string_view name) {
  constexpr std::string_view kPrefix = "wal-";
  constexpr std::string_view kSuffix = ".log";
  if (name.size() != kPrefix.size() + 16 + kSuffix.size()) return std::nullopt;
  if (name.substr(0, 4) != kPrefix || name.substr(20) != kSuffix) return std::nullopt;
  return parse_hex16(name.substr(4, 16));
}

std::optional<std::uint64_t> parse_hex16(std::string_view digits) {
  if (digits.size() != 16) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : digits) {
    std::uint64_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<std::uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<std::uint64_t>(c - 'a') + 10;
    } else {
      return std::nullopt;
    }
    value = value << 4 | digit;
  }
  return value;
}

}  // namespace raftbgp::raft::wal
