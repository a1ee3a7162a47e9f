// Entry points shared by the libFuzzer targets (built with clang when RAFTBGP_BUILD_FUZZ=ON) and by the
// corpus replay test (tests/raft-core/wal_corpus_test.cc, always built), so both drive the same code.
// Each must accept any bytes without crashing, throwing, or leaking; a broken round-trip aborts.
//
// The decoders check CRCs before anything else, so random bytes rarely get past them. Each pure target
// therefore decodes the input twice: as given, and with every CRC it can locate recomputed ("sealed"),
// so the fuzzer reaches the checks behind the CRCs too.
//
// No file IO here (tests/check_layering.sh covers raft-core/**): wal_open goes through wal_io helpers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "../wal/src/wal_format.h"
#include "../wal/src/wal_io.h"
#include "../wal/src/wal_snapshot.h"
#include "raftbgp/raft/crc32c.h"
#include "raftbgp/raft/wal_storage.h"

namespace raftbgp::raft::fuzz {

inline void check(bool ok) {
  if (!ok) std::abort();
}

inline void store_le(std::string& bytes, std::size_t offset, std::uint64_t value, int n) {
  for (int i = 0; i < n; ++i)
    bytes[offset + static_cast<std::size_t>(i)] = static_cast<char>((value >> (8 * i)) & 0xFFu);
}

// Decodes `bytes` as one segment the way replay walks it: records up to the first bad one, then the
// torn-tail-or-corruption question. Intact records of known types go through their payload decoders
// and, for the fixed-size ones, must re-encode to the same bytes.
inline void walk_segment(std::string_view bytes) {
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    const wal::DecodedRecord r = wal::decode_record(bytes, offset);
    if (r.status != wal::DecodeStatus::kOk) {
      check(r.status == wal::DecodeStatus::kIncomplete || (r.end > offset && r.end <= bytes.size()));
      (void)wal::intact_record_after(bytes, offset);
      return;
    }
    check(r.end > offset && r.end <= bytes.size());
    const std::string_view whole = bytes.substr(offset, r.end - offset);
    switch (static_cast<wal::RecordType>(r.type)) {
      case wal::RecordType::kEntry: {
        Entry e;
        (void)e.ParseFromArray(r.payload.data(), static_cast<int>(r.payload.size()));
        break;
      }
      case wal::RecordType::kTruncate:
      case wal::RecordType::kCommit:
        if (auto v = wal::decode_index_payload(r.payload)) {
          std::string again;
          wal::append_index_record(again, static_cast<wal::RecordType>(r.type), *v);
          check(again == whole);
        }
        break;
      case wal::RecordType::kSnapshot:
        if (auto s = wal::decode_snapshot_payload(r.payload)) {
          std::string again;
          wal::append_snapshot_record(again, *s);
          check(again == whole);
        }
        break;
      default: break;  // unknown type: replay reports it as corruption
    }
    offset = r.end;
  }
}

// WAL segment records (decode_record, intact_record_after, the payload decoders).
inline void fuzz_wal_segment(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  walk_segment(input);
  // Sealed copy: every record whose length fits gets its CRC recomputed.
  std::string sealed(input);
  std::size_t offset = 0;
  while (sealed.size() - offset >= wal::kRecordHeaderBytes) {
    const std::uint64_t len = wal::get_le(sealed, offset, 4);
    if (len > sealed.size() - offset - wal::kRecordHeaderBytes) break;
    store_le(sealed, offset + 4, crc32c(std::string_view(sealed).substr(offset + 8, len + 1)), 4);
    offset += wal::kRecordHeaderBytes + len;
  }
  walk_segment(sealed);
}

// The hardstate file, plus the file-name parsers (names come from readdir: outside bytes too).
inline void fuzz_hard_state(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto decode = [](std::string_view bytes) {
    HardState hs;
    hs.set_commit(7);
    if (!wal::decode_hard_state_file(bytes, hs)) {
      check(hs.commit() == 7);
      check(wal::encode_hard_state_file(hs.term(), hs.vote()) == bytes);
    }
  };
  decode(input);
  if (size == wal::kHardStateFileBytes) {
    std::string sealed(input);
    store_le(sealed, 24, crc32c(std::string_view(sealed).substr(0, 24)), 4);
    decode(sealed);
  }
  if (auto seq = wal::parse_segment_name(input)) check(wal::segment_name(*seq) == input);
  if (auto index = wal::parse_snapshot_name(input)) check(wal::snapshot_name(*index) == input);
  if (wal::is_snapshot_temp_name(input)) {
    check(wal::snapshot_temp_name(*wal::parse_snapshot_name(input.substr(0, input.size() - 4))) == input);
  }
}

inline void check_snapshot_decode(std::string_view bytes) {
  const wal::SnapshotDecodeResult r = wal::decode_snapshot_file(bytes);
  check(r.file.has_value() != r.error.has_value());
  if (r.error) {
    check(r.error->offset <= bytes.size());
    return;
  }
  check(r.file->data_offset >= wal::kSnapshotHeaderBytes && r.file->data_offset + r.file->data_size == bytes.size());
  // Re-encoding what was decoded gives a file that decodes to the same thing.
  Snapshot snap;
  snap.meta = r.file->meta;
  snap.data = std::string(bytes.substr(r.file->data_offset));
  const std::string again = wal::encode_snapshot_header(snap) + snap.data;
  const wal::SnapshotDecodeResult r2 = wal::decode_snapshot_file(again);
  check(r2.file.has_value() && r2.file->meta.index() == snap.meta.index() && r2.file->meta.term() == snap.meta.term() &&
        r2.file->data_size == snap.data.size());
}

// Snapshot files (decode_snapshot_file).
inline void fuzz_snapshot_file(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_snapshot_decode(input);
  if (size < wal::kSnapshotHeaderBytes) return;
  // Sealed copy: a metadata length that fits, the data length the file has, and both CRCs right.
  std::string sealed(input);
  std::uint64_t meta_len = wal::get_le(sealed, 24, 4);
  if (meta_len > size - wal::kSnapshotHeaderBytes) {
    meta_len %= size - wal::kSnapshotHeaderBytes + 1;
    store_le(sealed, 24, meta_len, 4);
  }
  const std::size_t data_offset = wal::kSnapshotHeaderBytes + meta_len;
  store_le(sealed, 28, size - data_offset, 8);
  store_le(sealed, 36, crc32c(std::string_view(sealed).substr(data_offset)), 4);
  const std::string_view view(sealed);
  store_le(sealed, 40, crc32c_extend(crc32c(view.substr(0, 40)), view.substr(wal::kSnapshotHeaderBytes, meta_len)), 4);
  check_snapshot_decode(sealed);
}

// A scratch directory for wal_open, made once per process (in /dev/shm when it exists: open fsyncs)
// and emptied before each input.
class ScratchDir {
 public:
  ScratchDir() {
    for (const char* base : {"/dev/shm", "/tmp"}) {
      std::string tmpl = std::string(base) + "/raftbgp-walfuzz-XXXXXX";
      if (::mkdtemp(tmpl.data()) != nullptr) {
        path_ = tmpl;
        return;
      }
    }
    std::abort();
  }
  ~ScratchDir() {
    clear();
    (void)wal::remove_path(path_);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  void clear() const {
    std::vector<std::string> names;
    (void)wal::list_dir(path_, names);
    for (const auto& n : names) (void)wal::remove_path(wal::join_path(path_, n));
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// WalStorage::open on a directory whose only file is the input as segment 1 (replay, torn-tail repair,
// every corruption check). It must return a WalError or a store; a store must reopen, unchanged and
// with nothing left to repair.
inline void fuzz_wal_open(const std::uint8_t* data, std::size_t size) {
  static const ScratchDir dir;
  dir.clear();
  if (wal::write_file(wal::join_path(dir.path(), wal::segment_name(1)),
                      std::string_view(reinterpret_cast<const char*>(data), size)) != 0) {
    std::abort();
  }
  WalOptions options;
  options.segment_bytes = 4096;
  WalOpenResult first = WalStorage::open(dir.path(), options);
  if (!first.ok()) {
    check(first.error().kind == WalError::Kind::kCorrupt);
    check(!first.error().message().empty());
    return;
  }
  Index first_index = 0;
  Index last_index = 0;
  HardState hs;
  {
    std::unique_ptr<WalStorage> s = first.take();
    first_index = s->first_index();
    last_index = s->last_index();
    hs = s->hard_state();
    check(first_index <= last_index + 1);
    check(hs.commit() <= last_index);
    const std::vector<Entry> all = s->entries(first_index, last_index + 1, UINT64_MAX);
    check(all.size() == last_index + 1 - first_index);
    for (std::size_t i = 0; i < all.size(); ++i) check(all[i].index() == first_index + i);
  }
  WalOpenResult again = WalStorage::open(dir.path(), options);
  check(again.ok());
  check(again.report().torn_bytes == 0);
  check(again.storage().first_index() == first_index && again.storage().last_index() == last_index);
  check(again.storage().hard_state().SerializeAsString() == hs.SerializeAsString());
}

}  // namespace raftbgp::raft::fuzz
