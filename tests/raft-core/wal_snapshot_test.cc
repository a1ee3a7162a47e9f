// WalStorage snapshots on disk (wal_storage.h, "Snapshot files", save_snapshot durability and the
// corrupt snapshot policy): compaction deletes segments and survives a reopen, an install survives a
// reopen, every crash point of save_snapshot reopens to the old or the new state, and a damaged
// snapshot file fails open() naming the file and the offset. Crashes are simulated by putting the
// directory back into the state a power cut at that point would leave; tests never sleep.
#include <stdlib.h>  // mkdtemp

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "raftbgp/raft/wal_storage.h"

namespace raftbgp::raft {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/raftbgp-walsnap-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<Entry> make_entries(Index first, Index last, Term term, std::size_t data_bytes = 40) {
  std::vector<Entry> out;
  for (Index i = first; i <= last; ++i) {
    Entry e;
    e.set_index(i);
    e.set_term(term);
    e.set_data(std::string(data_bytes, static_cast<char>('a' + i % 26)));
    out.push_back(std::move(e));
  }
  return out;
}

HardState make_hard_state(Term term, NodeId vote, Index commit) {
  HardState hs;
  hs.set_term(term);
  hs.set_vote(vote);
  hs.set_commit(commit);
  return hs;
}

Snapshot make_snapshot(Index index, Term term, std::string data = "the state machine") {
  Snapshot snap;
  snap.meta.set_index(index);
  snap.meta.set_term(term);
  snap.meta.mutable_conf_state()->add_voters(1);
  snap.meta.mutable_conf_state()->add_voters(2);
  snap.meta.mutable_conf_state()->add_voters(3);
  snap.data = std::move(data);
  return snap;
}

std::string read_bytes(const std::string& path) {
  std::string out(static_cast<std::size_t>(fs::file_size(path)), '\0');
  std::ifstream in(path, std::ios::binary);
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return out;
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Names in `dir` that start with `prefix` and end with `suffix`, sorted.
std::vector<std::string> files(const std::string& dir, std::string_view prefix, std::string_view suffix) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with(prefix) && name.ends_with(suffix)) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}
std::vector<std::string> segments(const std::string& dir) { return files(dir, "wal-", ".log"); }
std::vector<std::string> snapshots(const std::string& dir) { return files(dir, "snap-", ".snap"); }

void replace_dir(const std::string& from, const std::string& to) {
  fs::remove_all(to);
  fs::copy(from, to, fs::copy_options::recursive);
}

class WalSnapshot : public ::testing::Test {
 protected:
  static constexpr WalOptions kTiny{.segment_bytes = 256};
  std::string dir() const { return tmp_.path() + "/wal"; }
  std::string at(const std::string& name) const { return dir() + "/" + name; }

  std::unique_ptr<WalStorage> open_ok(OpenReport* report = nullptr, WalOptions options = kTiny) {
    WalOpenResult r = WalStorage::open(dir(), options);
    if (!r.ok()) {
      ADD_FAILURE() << "open failed: " << r.error().message();
      return nullptr;
    }
    if (report != nullptr) *report = r.report();
    return r.take();
  }

  WalError open_corrupt() {
    WalOpenResult r = WalStorage::open(dir(), kTiny);
    if (r.ok()) {
      ADD_FAILURE() << "open succeeded on a corrupt snapshot";
      return {};
    }
    EXPECT_EQ(r.error().kind, WalError::Kind::kCorrupt) << r.error().message();
    return r.error();
  }

  // 60 entries of term 1 over many tiny segments, commit 50, synced.
  void write_log() {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    for (Index i = 1; i <= 60; i += 5) persist(*s, std::nullopt, make_entries(i, i + 4, 1));
    persist(*s, make_hard_state(1, 1, 50), {});
  }

  TempDir tmp_;
};

void expect_compacted_at_50(const WalStorage& s, const Snapshot& snap) {
  EXPECT_EQ(s.first_index(), 51u);
  EXPECT_EQ(s.last_index(), 60u);
  EXPECT_EQ(s.term(50), Term{1});
  EXPECT_EQ(s.hard_state().commit(), 50u);
  const std::vector<Entry> want = make_entries(51, 60, 1);
  const std::vector<Entry> got = s.entries(51, 61, UINT64_MAX);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].SerializeAsString(), want[i].SerializeAsString());
  }
  const std::optional<Snapshot> loaded = s.snapshot();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->meta.SerializeAsString(), snap.meta.SerializeAsString());
  EXPECT_EQ(loaded->data, snap.data);
}

// ---- compaction and install across reopen ----

TEST_F(WalSnapshot, Compaction_deletes_old_segments_and_reopen_gives_the_same_state) {
  write_log();
  const std::size_t before = segments(dir()).size();
  ASSERT_GE(before, 10u);
  const Snapshot snap = make_snapshot(50, 1);
  {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    s->save_snapshot(snap);
    expect_compacted_at_50(*s, snap);
    EXPECT_EQ(s->snapshot_path(), at("snap-0000000000000032.snap"));
  }
  const std::vector<std::string> after = segments(dir());
  EXPECT_LT(after.size(), before / 2);
  EXPECT_NE(after.front(), "wal-0000000000000001.log");
  EXPECT_EQ(snapshots(dir()), std::vector<std::string>{"snap-0000000000000032.snap"});
  OpenReport report;
  std::unique_ptr<WalStorage> s = open_ok(&report);
  ASSERT_TRUE(s);
  EXPECT_EQ(report.snapshot_index, 50u);
  EXPECT_EQ(report.deleted_segments, 0u);
  expect_compacted_at_50(*s, snap);
  persist(*s, make_hard_state(1, 1, 61), make_entries(61, 61, 1));
  s.reset();
  s = open_ok();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->last_index(), 61u);
  EXPECT_EQ(s->hard_state().commit(), 61u);
}

// The application state (the agent's replay windows) saved once, in the first segment, must outlive that
// segment: every new segment starts with a copy of the latest APP_STATE record.
TEST_F(WalSnapshot, App_state_survives_the_compaction_of_the_segment_it_was_saved_in) {
  {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    s->save_app_state("windows v1");
    s->sync();
  }
  write_log();
  ASSERT_EQ(segments(dir()).front(), "wal-0000000000000001.log");
  {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->app_state(), "windows v1");
    s->save_snapshot(make_snapshot(50, 1));
  }
  EXPECT_NE(segments(dir()).front(), "wal-0000000000000001.log");
  std::unique_ptr<WalStorage> s = open_ok();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->app_state(), "windows v1");
  s->save_app_state("windows v2");
  persist(*s, make_hard_state(1, 1, 61), make_entries(61, 61, 1));
  s.reset();
  s = open_ok();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->app_state(), "windows v2");
  EXPECT_EQ(s->last_index(), 61u);
}

// The segment holding the snapshot's own SNAPSHOT record may end up holding no entry above the
// snapshot; it must still survive, or the next open would take the snapshot for an unrecorded one.
TEST_F(WalSnapshot, Segment_with_the_snapshot_record_survives_later_reopens) {
  write_log();
  const Snapshot snap = make_snapshot(60, 1);
  {
    // One-byte segments: every batch, the SNAPSHOT record included, gets a segment of its own.
    std::unique_ptr<WalStorage> s = open_ok(nullptr, WalOptions{.segment_bytes = 1});
    ASSERT_TRUE(s);
    persist(*s, make_hard_state(1, 1, 60), {});
    s->save_snapshot(snap);
    for (Index i = 61; i <= 90; i += 5) persist(*s, std::nullopt, make_entries(i, i + 4, 1));
  }
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("reopen " + std::to_string(round));
    OpenReport report;
    std::unique_ptr<WalStorage> s = open_ok(&report);
    ASSERT_TRUE(s);
    EXPECT_EQ(report.snapshot_index, 60u);
    EXPECT_TRUE(report.removed_unrecorded_snapshot.empty());
    EXPECT_EQ(s->first_index(), 61u);
    EXPECT_EQ(s->last_index(), 90u);
    EXPECT_EQ(s->hard_state().commit(), 60u);
  }
}

TEST_F(WalSnapshot, Install_discards_the_log_and_survives_reopens) {
  write_log();
  const Snapshot snap = make_snapshot(100, 3, std::string(3000, 'x'));
  {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    s->save_snapshot(snap);
    EXPECT_EQ(segments(dir()).size(), 1u);  // everything but the open segment held entries <= 100
    persist(*s, make_hard_state(3, 2, 101), make_entries(101, 110, 3));
  }
  for (int round = 0; round < 2; ++round) {
    OpenReport report;
    std::unique_ptr<WalStorage> s = open_ok(&report);
    ASSERT_TRUE(s);
    EXPECT_EQ(report.snapshot_index, 100u);
    EXPECT_EQ(s->first_index(), 101u);
    EXPECT_EQ(s->last_index(), 110u + static_cast<Index>(round));
    EXPECT_EQ(s->term(100), Term{3});
    EXPECT_EQ(s->term(101), Term{3});
    EXPECT_EQ(s->hard_state().commit(), 101u);
    EXPECT_EQ(s->hard_state().vote(), 2u);
    EXPECT_EQ(s->snapshot()->data, snap.data);
    const Index next = 111 + static_cast<Index>(round);
    persist(*s, std::nullopt, make_entries(next, next, 3));
  }
}

TEST_F(WalSnapshot, Install_over_a_longer_conflicting_log_discards_it_after_reopen) {
  {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    persist(*s, make_hard_state(1, 1, 5), make_entries(1, 40, 1));
    // Entry 30 has term 1; the leader's snapshot at 30 has term 2: the whole log goes, even the
    // entries above 30 that live in the same segments as the SNAPSHOT record's predecessors.
    s->save_snapshot(make_snapshot(30, 2));
    persist(*s, make_hard_state(2, 1, 31), make_entries(31, 32, 2));
  }
  std::unique_ptr<WalStorage> s = open_ok();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->first_index(), 31u);
  EXPECT_EQ(s->last_index(), 32u);
  EXPECT_EQ(s->term(31), Term{2});
  EXPECT_EQ(s->hard_state().commit(), 31u);
}

TEST_F(WalSnapshot, Keeps_only_the_two_latest_snapshot_files) {
  std::unique_ptr<WalStorage> s = open_ok();
  ASSERT_TRUE(s);
  persist(*s, make_hard_state(1, 1, 40), make_entries(1, 40, 1));
  for (Index i = 10; i <= 40; i += 10) s->save_snapshot(make_snapshot(i, 1, std::to_string(i)));
  EXPECT_EQ(snapshots(dir()), (std::vector<std::string>{"snap-000000000000001e.snap", "snap-0000000000000028.snap"}));
  s.reset();
  s = open_ok();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->snapshot()->data, "40");
}

TEST_F(WalSnapshot, Five_megabyte_snapshot_round_trips) {
  std::string data(5u << 20, '\0');
  std::uint64_t x = 0x9E3779B97F4A7C15u;
  for (char& c : data) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    c = static_cast<char>(x & 0xFF);
  }
  const Snapshot snap = make_snapshot(7, 2, data);
  {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    persist(*s, make_hard_state(2, 1, 0), make_entries(1, 3, 1));
    s->save_snapshot(snap);
    EXPECT_EQ(s->snapshot()->data, data);
  }
  std::unique_ptr<WalStorage> s = open_ok();
  ASSERT_TRUE(s);
  const std::optional<Snapshot> got = s->snapshot();
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->data == data);  // not EXPECT_EQ: a failure would print 10 MB
  EXPECT_EQ(got->meta.SerializeAsString(), snap.meta.SerializeAsString());
  EXPECT_EQ(fs::file_size(s->snapshot_path()), 44u + snap.meta.ByteSizeLong() + data.size());
}

// ---- crashes inside save_snapshot ----

TEST_F(WalSnapshot, Leftover_snapshot_temp_file_is_ignored_and_removed) {
  write_log();
  write_bytes(at("snap-0000000000000032.snap.tmp"), "half a snapsh");
  OpenReport report;
  std::unique_ptr<WalStorage> s = open_ok(&report);
  ASSERT_TRUE(s);
  EXPECT_EQ(report.removed_temp_snapshots, 1u);
  EXPECT_EQ(report.snapshot_index, 0u);
  EXPECT_FALSE(fs::exists(at("snap-0000000000000032.snap.tmp")));
  EXPECT_EQ(s->first_index(), 1u);
  EXPECT_EQ(s->last_index(), 60u);
}

// Crash after the file's rename, before its SNAPSHOT record reached the disk: the call never
// returned, so the old state stands and the unrecorded file goes.
TEST_F(WalSnapshot, Snapshot_file_without_its_record_is_deleted_and_the_old_state_stands) {
  write_log();
  const std::string before = tmp_.path() + "/before";
  fs::copy(dir(), before, fs::copy_options::recursive);
  {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    s->save_snapshot(make_snapshot(50, 1));
  }
  const std::string snap_file = read_bytes(at("snap-0000000000000032.snap"));
  replace_dir(before, dir());
  write_bytes(at("snap-0000000000000032.snap"), snap_file);
  OpenReport report;
  std::unique_ptr<WalStorage> s = open_ok(&report);
  ASSERT_TRUE(s);
  EXPECT_EQ(report.removed_unrecorded_snapshot, at("snap-0000000000000032.snap"));
  EXPECT_EQ(report.snapshot_index, 0u);
  EXPECT_TRUE(snapshots(dir()).empty());
  EXPECT_EQ(s->first_index(), 1u);
  EXPECT_EQ(s->last_index(), 60u);
  EXPECT_EQ(s->hard_state().commit(), 50u);
}

// The same with the record torn at every byte: still unrecorded, still the old state; and with an
// older snapshot present, that one is loaded.
TEST_F(WalSnapshot, Torn_snapshot_record_falls_back_to_the_previous_snapshot) {
  write_log();
  {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    s->save_snapshot(make_snapshot(20, 1, "twenty"));
  }
  const std::string before = tmp_.path() + "/before";
  fs::copy(dir(), before, fs::copy_options::recursive);
  std::string open_segment;
  std::uint64_t record_start = 0;
  {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    record_start = s->open_segment_bytes();
    open_segment = fs::path(s->open_segment_path()).filename().string();
    s->save_snapshot(make_snapshot(50, 1, "fifty"));
    ASSERT_EQ(fs::path(s->open_segment_path()).filename().string(), open_segment);
  }
  const std::string snap_file = read_bytes(at("snap-0000000000000032.snap"));
  const std::string segment = read_bytes(at(open_segment));
  ASSERT_EQ(segment.size(), record_start + 9 + 25);
  for (std::uint64_t cut = record_start; cut < segment.size(); ++cut) {
    SCOPED_TRACE("record cut at byte " + std::to_string(cut));
    replace_dir(before, dir());
    write_bytes(at("snap-0000000000000032.snap"), snap_file);
    write_bytes(at(open_segment), segment.substr(0, cut));
    OpenReport report;
    std::unique_ptr<WalStorage> s = open_ok(&report);
    ASSERT_TRUE(s);
    EXPECT_FALSE(report.removed_unrecorded_snapshot.empty());
    EXPECT_EQ(report.snapshot_index, 20u);
    EXPECT_EQ(s->first_index(), 21u);
    EXPECT_EQ(s->last_index(), 60u);
    EXPECT_EQ(s->snapshot()->data, "twenty");
  }
}

// Crash after the record, before (or during) the segment deletions: the snapshot is in force and
// open() finishes the compaction.
TEST_F(WalSnapshot, Record_durable_but_segments_not_yet_deleted_reopens_consistently) {
  write_log();
  const std::string before = tmp_.path() + "/before";
  fs::copy(dir(), before, fs::copy_options::recursive);
  const Snapshot snap = make_snapshot(50, 1);
  {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    s->save_snapshot(snap);
  }
  std::uint64_t restored = 0;
  for (const std::string& name : segments(before)) {
    if (!fs::exists(at(name))) {
      fs::copy_file(before + "/" + name, at(name));
      ++restored;
    }
  }
  ASSERT_GT(restored, 0u);
  OpenReport report;
  std::unique_ptr<WalStorage> s = open_ok(&report);
  ASSERT_TRUE(s);
  EXPECT_EQ(report.snapshot_index, 50u);
  EXPECT_EQ(report.deleted_segments, restored);
  expect_compacted_at_50(*s, snap);
}

// ---- damaged snapshot files: reported with file and offset, never loaded, no fallback ----

class WalCorruptSnapshot : public WalSnapshot {
 protected:
  void SetUp() override {
    write_log();
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    s->save_snapshot(make_snapshot(10, 1, "older"));
    s->save_snapshot(snap_);
    path_ = s->snapshot_path();
    pristine_ = read_bytes(path_);
    meta_bytes_ = snap_.meta.ByteSizeLong();
  }
  void TearDown() override {
    // The damage was never loaded and changed nothing: the pristine file opens again.
    write_bytes(path_, pristine_);
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    expect_compacted_at_50(*s, snap_);
  }
  void expect_error_at(std::uint64_t offset) {
    const WalError err = open_corrupt();
    EXPECT_EQ(err.path, path_);
    EXPECT_EQ(err.offset, offset) << err.message();
    EXPECT_NE(err.message().find(path_), std::string::npos);
  }
  const Snapshot snap_ = make_snapshot(50, 1, std::string(1000, 'd'));
  std::string path_;
  std::string pristine_;
  std::size_t meta_bytes_ = 0;
};

TEST_F(WalCorruptSnapshot, Flipped_bit_in_the_header_or_metadata_fails_open) {
  for (std::size_t byte = 0; byte < 44 + meta_bytes_; ++byte) {
    SCOPED_TRACE("byte " + std::to_string(byte));
    std::string rotten = pristine_;
    rotten[byte] = static_cast<char>(rotten[byte] ^ 0x01);
    write_bytes(path_, rotten);
    // A damaged metadata length is caught by its range check or by the header CRC.
    const WalError err = open_corrupt();
    EXPECT_EQ(err.path, path_);
    EXPECT_TRUE(err.offset == 40 || (byte >= 24 && byte < 28 && err.offset == 24)) << err.message();
  }
}

TEST_F(WalCorruptSnapshot, Flipped_bit_in_the_data_fails_open_at_the_data_offset) {
  for (const std::size_t byte : {std::size_t{0}, std::size_t{1}, std::size_t{500}, std::size_t{999}}) {
    SCOPED_TRACE("data byte " + std::to_string(byte));
    std::string rotten = pristine_;
    rotten[44 + meta_bytes_ + byte] = static_cast<char>(rotten[44 + meta_bytes_ + byte] ^ 0x80);
    write_bytes(path_, rotten);
    expect_error_at(44 + meta_bytes_);
  }
}

TEST_F(WalCorruptSnapshot, Truncated_or_extended_file_fails_open) {
  for (const std::size_t size : {std::size_t{0}, std::size_t{10}, std::size_t{43}}) {
    write_bytes(path_, pristine_.substr(0, size));
    expect_error_at(size);
  }
  // Cut inside the metadata: its length runs past the end.
  write_bytes(path_, pristine_.substr(0, 44 + meta_bytes_ - 1));
  expect_error_at(24);
  for (const std::size_t size : {44 + meta_bytes_, pristine_.size() - 1}) {
    write_bytes(path_, pristine_.substr(0, size));
    expect_error_at(size);
  }
  write_bytes(path_, pristine_ + "x");
  expect_error_at(pristine_.size());
}

TEST_F(WalCorruptSnapshot, Missing_newest_file_fails_open_instead_of_loading_the_older_one) {
  fs::remove(path_);
  // The older snapshot (10) is there, but the entries between it and 50 went with compaction.
  const WalError err = open_corrupt();
  EXPECT_NE(err.detail.find("newer snapshot file lost"), std::string::npos) << err.message();
}

TEST_F(WalSnapshot, Missing_file_named_by_a_snapshot_record_fails_open) {
  {
    // One big segment: compaction deletes nothing, so replay reaches the SNAPSHOT record.
    WalOpenResult r = WalStorage::open(dir());
    ASSERT_TRUE(r.ok());
    persist(r.storage(), make_hard_state(1, 1, 8), make_entries(1, 10, 1));
    r.storage().save_snapshot(make_snapshot(8, 1));
  }
  fs::remove(at("snap-0000000000000008.snap"));
  WalOpenResult r = WalStorage::open(dir());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, WalError::Kind::kCorrupt);
  EXPECT_NE(r.error().detail.find("snap-0000000000000008.snap is missing"), std::string::npos) << r.error().message();
}

TEST_F(WalCorruptSnapshot, File_rotting_after_open_makes_snapshot_throw) {
  std::unique_ptr<WalStorage> s = open_ok();
  ASSERT_TRUE(s);
  std::string rotten = pristine_;
  rotten.back() = static_cast<char>(rotten.back() ^ 0x02);
  write_bytes(path_, rotten);
  try {
    (void)s->snapshot();
    ADD_FAILURE() << "snapshot() returned a corrupt snapshot";
  } catch (const StorageIoError& e) {
    EXPECT_EQ(e.path(), path_);
    EXPECT_NE(std::string(e.what()).find("data CRC mismatch"), std::string::npos) << e.what();
  }
  // Not poisoning: the log itself is fine.
  EXPECT_NO_THROW(s->sync());
  EXPECT_EQ(s->last_index(), 60u);
}

}  // namespace
}  // namespace raftbgp::raft
