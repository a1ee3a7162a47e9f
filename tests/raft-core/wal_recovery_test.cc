// WalStorage on disk (wal_storage.h): what a restart sees after clean shutdowns, torn writes, lost
// un-synced writes, bit rot and broken hardstate files. A "crash" is simulated by editing the files
// the way a power loss or a bad disk would; tests never sleep.
#include <signal.h>
#include <stdlib.h>  // mkdtemp
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "raftbgp/raft/crc32c.h"
#include "raftbgp/raft/wal_storage.h"

namespace raftbgp::raft {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/raftbgp-wal-XXXXXX";
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

Entry make_entry(Index index, Term term, std::size_t data_bytes = 24) {
  Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(std::string(data_bytes, static_cast<char>('a' + index % 26)));
  return e;
}

std::vector<Entry> make_entries(Index first, Index last, Term term, std::size_t data_bytes = 24) {
  std::vector<Entry> out;
  for (Index i = first; i <= last; ++i) out.push_back(make_entry(i, term, data_bytes));
  return out;
}

HardState make_hard_state(Term term, NodeId vote, Index commit) {
  HardState hs;
  hs.set_term(term);
  hs.set_vote(vote);
  hs.set_commit(commit);
  return hs;
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

std::vector<std::string> segment_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("wal-") && name.ends_with(".log")) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class WalTest : public ::testing::Test {
 protected:
  std::string dir() const { return tmp_.path() + "/wal"; }

  // Opens `dir()` and fails the test (returning nullptr) if that does not work.
  std::unique_ptr<WalStorage> open_ok(WalOptions options = {}, OpenReport* report = nullptr) {
    WalOpenResult r = WalStorage::open(dir(), options);
    if (!r.ok()) {
      ADD_FAILURE() << "open failed: " << r.error().message();
      return nullptr;
    }
    if (report != nullptr) *report = r.report();
    return r.take();
  }

  // Opens `dir()` expecting corruption; returns the error.
  WalError open_corrupt(WalOptions options = {}) {
    WalOpenResult r = WalStorage::open(dir(), options);
    if (r.ok()) {
      ADD_FAILURE() << "open succeeded on a corrupt log";
      return {};
    }
    EXPECT_EQ(r.error().kind, WalError::Kind::kCorrupt) << r.error().message();
    return r.error();
  }

  // Stores entries 1..n, one record and one sync each; returns the byte offset of every record in
  // the (single) segment plus, last, the segment's size.
  std::vector<std::uint64_t> write_synced_records(Index n) {
    std::unique_ptr<WalStorage> s = open_ok();
    std::vector<std::uint64_t> offsets{s->open_segment_bytes()};
    for (Index i = 1; i <= n; ++i) {
      s->store(make_entries(i, i, 1));
      s->sync();
      offsets.push_back(s->open_segment_bytes());
    }
    return offsets;
  }

  TempDir tmp_;
};

// ---- WalStorage on disk: clean restarts ----

using WalStorageOnDisk = WalTest;

TEST_F(WalStorageOnDisk, Reopen_returns_exactly_what_was_synced) {
  const std::vector<Entry> entries = make_entries(1, 10, 3, 100);
  {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    persist(*s, make_hard_state(3, 2, 7), entries);
  }
  OpenReport report;
  std::unique_ptr<WalStorage> s = open_ok({}, &report);
  ASSERT_TRUE(s);
  EXPECT_EQ(report.segments, 1u);
  EXPECT_EQ(report.records, 11u);  // 10 entries + 1 commit
  EXPECT_EQ(report.torn_bytes, 0u);
  ASSERT_EQ(s->last_index(), 10u);
  const std::vector<Entry> got = s->entries(1, 11, UINT64_MAX);
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].SerializeAsString(), entries[i].SerializeAsString());
  }
  EXPECT_EQ(s->hard_state().term(), 3u);
  EXPECT_EQ(s->hard_state().vote(), 2u);
  EXPECT_EQ(s->hard_state().commit(), 7u);
}

TEST_F(WalStorageOnDisk, Creates_its_directory_0700_and_files_0600) {
  std::unique_ptr<WalStorage> s = open_ok();
  ASSERT_TRUE(s);
  persist(*s, make_hard_state(1, 1, 0), make_entries(1, 1, 1));
  struct stat st {};
  ASSERT_EQ(::stat(dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const auto& e : fs::directory_iterator(dir())) {
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << e.path();
  }
}

TEST_F(WalStorageOnDisk, Rolls_over_to_new_segments_and_replays_them_all) {
  const WalOptions tiny{.segment_bytes = 256};
  {
    std::unique_ptr<WalStorage> s = open_ok(tiny);
    ASSERT_TRUE(s);
    for (Index i = 1; i <= 60; i += 3) persist(*s, std::nullopt, make_entries(i, i + 2, 1, 50));
  }
  const std::size_t segments = segment_files(dir()).size();
  EXPECT_GE(segments, 10u);
  OpenReport report;
  std::unique_ptr<WalStorage> s = open_ok(tiny, &report);
  ASSERT_TRUE(s);
  EXPECT_EQ(report.segments, segments);
  ASSERT_EQ(s->last_index(), 60u);
  for (Index i = 1; i <= 60; ++i) EXPECT_EQ(s->entries(i, i + 1, 0).at(0).index(), i);
}

TEST_F(WalStorageOnDisk, Truncate_spanning_segments_survives_reopen) {
  const WalOptions tiny{.segment_bytes = 200};
  {
    std::unique_ptr<WalStorage> s = open_ok(tiny);
    ASSERT_TRUE(s);
    persist(*s, make_hard_state(1, 1, 3), make_entries(1, 40, 1));
    persist(*s, make_hard_state(2, 2, 3), make_entries(5, 12, 2));  // truncates 5..40 first
  }
  {
    std::unique_ptr<WalStorage> s = open_ok(tiny);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->last_index(), 12u);
    EXPECT_EQ(s->term(4), Term{1});
    EXPECT_EQ(s->term(5), Term{2});
    EXPECT_EQ(s->hard_state().commit(), 3u);
    persist(*s, std::nullopt, make_entries(13, 13, 2));
  }
  std::unique_ptr<WalStorage> s = open_ok(tiny);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->last_index(), 13u);
  EXPECT_EQ(s->term(12), Term{2});
}

TEST_F(WalStorageOnDisk, Second_open_of_the_same_directory_fails_while_the_first_is_open) {
  std::unique_ptr<WalStorage> s = open_ok();
  ASSERT_TRUE(s);
  WalOpenResult second = WalStorage::open(dir());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind, WalError::Kind::kIo);
  EXPECT_EQ(second.error().error_number, EWOULDBLOCK);
  s.reset();
  EXPECT_TRUE(WalStorage::open(dir()).ok());
}

TEST_F(WalStorageOnDisk, Open_on_a_regular_file_fails_with_errno_and_path) {
  const std::string file = tmp_.path() + "/not-a-dir";
  write_bytes(file, "x");
  WalOpenResult r = WalStorage::open(file);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, WalError::Kind::kIo);
  EXPECT_EQ(r.error().error_number, ENOTDIR);
  EXPECT_EQ(r.error().path, file);
  EXPECT_NE(r.error().message().find(file), std::string::npos);
}

TEST_F(WalStorageOnDisk, Failed_write_throws_storage_io_error_and_poisons_the_store) {
  std::unique_ptr<WalStorage> s = open_ok();
  ASSERT_TRUE(s);
  persist(*s, std::nullopt, make_entries(1, 1, 1));
  // A file size limit makes write(2) fail with EFBIG: a stand-in for a full or failing disk.
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* old_handler = ::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = s->open_segment_bytes() + 10;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  try {
    s->store(make_entries(2, 2, 1, 100));
    ADD_FAILURE() << "store did not throw";
  } catch (const StorageIoError& e) {
    EXPECT_EQ(e.error_number(), EFBIG);
    EXPECT_EQ(e.path(), s->open_segment_path());
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(s->last_index(), 1u);
  EXPECT_THROW(s->sync(), StorageIoError);
  EXPECT_THROW(s->store(make_entries(2, 2, 1)), StorageIoError);
  s.reset();
  // The half-written record is a torn tail: a restart recovers the synced state.
  OpenReport report;
  s = open_ok({}, &report);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->last_index(), 1u);
  EXPECT_EQ(report.torn_bytes, 10u);
}

// ---- recovery ----

using WalRecovery = WalTest;

// (a) A crash while writing the last record leaves any prefix of it on disk.
TEST_F(WalRecovery, Cut_at_every_byte_of_the_last_record_drops_only_that_record) {
  const std::vector<std::uint64_t> offsets = write_synced_records(5);
  const std::uint64_t last_start = offsets[4];
  const std::string segment = segment_files(dir()).at(0);
  const std::string pristine = read_bytes(segment);
  ASSERT_EQ(pristine.size(), offsets[5]);
  for (std::uint64_t cut = last_start; cut < pristine.size(); ++cut) {
    SCOPED_TRACE("cut at byte " + std::to_string(cut));
    write_bytes(segment, pristine.substr(0, cut));
    {
      OpenReport report;
      std::unique_ptr<WalStorage> s = open_ok({}, &report);
      ASSERT_TRUE(s);
      EXPECT_EQ(s->last_index(), 4u);
      EXPECT_EQ(report.torn_bytes, cut - last_start);
      if (cut > last_start) {
        EXPECT_EQ(report.torn_path, segment);
        EXPECT_EQ(report.torn_offset, last_start);
      }
      EXPECT_EQ(fs::file_size(segment), last_start);
      persist(*s, std::nullopt, make_entries(5, 5, 7));
    }
    OpenReport report;
    std::unique_ptr<WalStorage> s = open_ok({}, &report);
    ASSERT_TRUE(s);
    EXPECT_EQ(report.torn_bytes, 0u);
    EXPECT_EQ(s->last_index(), 5u);
    EXPECT_EQ(s->term(5), Term{7});
    EXPECT_EQ(s->term(4), Term{1});
  }
}

TEST_F(WalRecovery, Cut_inside_a_last_commit_or_truncate_record_rolls_it_back) {
  {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    persist(*s, make_hard_state(1, 1, 2), make_entries(1, 6, 1));
  }
  const std::string segment = segment_files(dir()).at(0);
  const std::uint64_t base = fs::file_size(segment);
  {
    std::unique_ptr<WalStorage> s = open_ok();
    s->save_hard_state(make_hard_state(1, 1, 3));  // a 17-byte COMMIT record
    s->truncate(5);                                // a 17-byte TRUNCATE record
    s->sync();
  }
  const std::string pristine = read_bytes(segment);
  ASSERT_EQ(pristine.size(), base + 34);
  for (std::uint64_t cut = base; cut < pristine.size(); ++cut) {
    SCOPED_TRACE("cut at byte " + std::to_string(cut));
    write_bytes(segment, pristine.substr(0, cut));
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->last_index(), 6u);  // the TRUNCATE record is always the one cut
    EXPECT_EQ(s->hard_state().commit(), cut < base + 17 ? 2u : 3u);
  }
}

TEST_F(WalRecovery, Zero_filled_tail_is_cut) {
  const std::vector<std::uint64_t> offsets = write_synced_records(3);
  const std::string segment = segment_files(dir()).at(0);
  write_bytes(segment, read_bytes(segment) + std::string(4096, '\0'));
  OpenReport report;
  std::unique_ptr<WalStorage> s = open_ok({}, &report);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->last_index(), 3u);
  EXPECT_EQ(report.torn_bytes, 4096u);
  EXPECT_EQ(fs::file_size(segment), offsets.back());
}

// (b) Bit rot before the tail is corruption, reported with file and offset; in the last record it is
// indistinguishable from a torn write and is cut.
TEST_F(WalRecovery, Flipped_bit_in_a_middle_record_fails_open_naming_file_and_offset) {
  const std::vector<std::uint64_t> offsets = write_synced_records(5);
  const std::string segment = segment_files(dir()).at(0);
  const std::string pristine = read_bytes(segment);
  for (std::uint64_t byte = offsets[2]; byte < offsets[3]; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      SCOPED_TRACE("byte " + std::to_string(byte) + " bit " + std::to_string(bit));
      std::string rotten = pristine;
      rotten[byte] = static_cast<char>(rotten[byte] ^ (1 << bit));
      write_bytes(segment, rotten);
      const WalError err = open_corrupt();
      EXPECT_EQ(err.path, segment);
      EXPECT_EQ(err.offset, offsets[2]);
      EXPECT_NE(err.message().find(segment), std::string::npos);
    }
  }
  write_bytes(segment, pristine);
  std::unique_ptr<WalStorage> s = open_ok();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->last_index(), 5u);
}

TEST_F(WalRecovery, Flipped_bit_in_the_last_record_is_a_torn_tail) {
  const std::vector<std::uint64_t> offsets = write_synced_records(5);
  const std::string segment = segment_files(dir()).at(0);
  const std::string pristine = read_bytes(segment);
  for (std::uint64_t byte = offsets[4]; byte < offsets[5]; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      SCOPED_TRACE("byte " + std::to_string(byte) + " bit " + std::to_string(bit));
      std::string rotten = pristine;
      rotten[byte] = static_cast<char>(rotten[byte] ^ (1 << bit));
      write_bytes(segment, rotten);
      OpenReport report;
      std::unique_ptr<WalStorage> s = open_ok({}, &report);
      ASSERT_TRUE(s);
      EXPECT_EQ(s->last_index(), 4u);
      EXPECT_EQ(report.torn_bytes, offsets[5] - offsets[4]);
    }
  }
}

TEST_F(WalRecovery, Damage_in_a_segment_before_the_last_is_corruption) {
  const WalOptions tiny{.segment_bytes = 128};
  {
    std::unique_ptr<WalStorage> s = open_ok(tiny);
    ASSERT_TRUE(s);
    for (Index i = 1; i <= 20; ++i) persist(*s, std::nullopt, make_entries(i, i, 1));
  }
  const std::vector<std::string> segments = segment_files(dir());
  ASSERT_GE(segments.size(), 3u);
  const std::string pristine = read_bytes(segments[1]);
  // A cut tail of an earlier segment cannot be a torn write: roll-over synced it.
  write_bytes(segments[1], pristine.substr(0, pristine.size() - 3));
  WalError err = open_corrupt(tiny);
  EXPECT_EQ(err.path, segments[1]);
  // So is a flipped bit in its last record.
  std::string rotten = pristine;
  rotten.back() = static_cast<char>(rotten.back() ^ 0x10);
  write_bytes(segments[1], rotten);
  err = open_corrupt(tiny);
  EXPECT_EQ(err.path, segments[1]);
  // And a missing segment.
  write_bytes(segments[1], pristine);
  fs::remove(segments[1]);
  err = open_corrupt(tiny);
  EXPECT_EQ(err.path, segments[1]);
}

TEST_F(WalRecovery, Entry_whose_index_does_not_follow_is_corruption) {
  const std::vector<std::uint64_t> offsets = write_synced_records(3);
  // Frame a well-formed ENTRY record for index 5 (after 3): intact, but impossible.
  const std::string payload = make_entry(5, 1).SerializeAsString();
  std::string record(8, '\0');
  record.push_back('\x01');
  record += payload;
  const std::uint32_t crc = crc32c(std::string_view(record).substr(8));
  const auto len = static_cast<std::uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) {
    record[static_cast<std::size_t>(i)] = static_cast<char>((len >> (8 * i)) & 0xFF);
    record[static_cast<std::size_t>(4 + i)] = static_cast<char>((crc >> (8 * i)) & 0xFF);
  }
  const std::string segment = segment_files(dir()).at(0);
  write_bytes(segment, read_bytes(segment) + record);
  const WalError err = open_corrupt();
  EXPECT_EQ(err.path, segment);
  EXPECT_EQ(err.offset, offsets.back());
  EXPECT_NE(err.detail.find("index 5"), std::string::npos) << err.detail;
}

// (c) Writes after the last sync may be lost by a power cut; what sync() covered may not.
TEST_F(WalRecovery, Losing_the_unsynced_tail_leaves_exactly_the_synced_state) {
  const std::string segment = dir() + "/wal-0000000000000001.log";
  std::uint64_t synced_size = 0;
  {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    persist(*s, make_hard_state(2, 1, 2), make_entries(1, 3, 2));
    synced_size = s->open_segment_bytes();
    s->store(make_entries(4, 6, 2));
    s->save_hard_state(make_hard_state(2, 1, 5));
    s->truncate(6);
  }  // no sync: the destructor does not sync either
  fs::resize_file(segment, synced_size);
  std::unique_ptr<WalStorage> s = open_ok();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->last_index(), 3u);
  EXPECT_EQ(s->hard_state().commit(), 2u);
  EXPECT_EQ(s->hard_state().term(), 2u);
  EXPECT_EQ(s->hard_state().vote(), 1u);
}

TEST_F(WalRecovery, Copy_taken_at_sync_time_reopens_to_the_synced_state_across_rollovers) {
  const WalOptions tiny{.segment_bytes = 256};
  const std::string copy = tmp_.path() + "/copy";
  {
    std::unique_ptr<WalStorage> s = open_ok(tiny);
    ASSERT_TRUE(s);
    persist(*s, make_hard_state(1, 3, 4), make_entries(1, 10, 1));
    fs::copy(dir(), copy, fs::copy_options::recursive);
    s->truncate(8);
    for (Index i = 8; i <= 40; ++i) s->store(make_entries(i, i, 2));
    s->save_hard_state(make_hard_state(1, 3, 30));
  }
  WalOpenResult r = WalStorage::open(copy, tiny);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const WalStorage& s = r.storage();
  EXPECT_EQ(s.last_index(), 10u);
  EXPECT_EQ(s.term(10), Term{1});
  EXPECT_EQ(s.hard_state().commit(), 4u);
  EXPECT_EQ(s.hard_state().vote(), 3u);
}

TEST_F(WalRecovery, Term_and_vote_are_durable_when_save_hard_state_returns) {
  std::uint64_t synced_size = 0;
  {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    persist(*s, std::nullopt, make_entries(1, 2, 1));
    synced_size = s->open_segment_bytes();
    s->save_hard_state(make_hard_state(5, 4, 0));
  }
  fs::resize_file(segment_files(dir()).at(0), synced_size);
  std::unique_ptr<WalStorage> s = open_ok();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->hard_state().term(), 5u);
  EXPECT_EQ(s->hard_state().vote(), 4u);
}

// (d) The hardstate file is replaced atomically: a leftover temp file is a replacement that never
// happened; a damaged hardstate itself is corruption.
TEST_F(WalRecovery, Leftover_hardstate_temp_file_is_ignored_and_removed) {
  {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    persist(*s, make_hard_state(3, 2, 0), {});
  }
  write_bytes(dir() + "/hardstate.tmp", "half a hardst");
  OpenReport report;
  std::unique_ptr<WalStorage> s = open_ok({}, &report);
  ASSERT_TRUE(s);
  EXPECT_TRUE(report.removed_temp_hardstate);
  EXPECT_FALSE(fs::exists(dir() + "/hardstate.tmp"));
  EXPECT_EQ(s->hard_state().term(), 3u);
  EXPECT_EQ(s->hard_state().vote(), 2u);
}

// A lost hardstate file read as "term 0, no vote" would let this node vote a second time in a term it
// already voted in (Raft §5.1: the vote must survive a restart). Once the log holds anything, open()
// refuses to guess; only a brand-new directory starts from term 0.
TEST_F(WalRecovery, Missing_hardstate_with_segments_present_fails_open_naming_it) {
  {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    persist(*s, make_hard_state(7, 3, 0), make_entries(1, 2, 7));
  }
  const std::string path = dir() + "/hardstate";
  ASSERT_TRUE(fs::remove(path));
  const WalError err = open_corrupt();
  EXPECT_EQ(err.path, path);
  EXPECT_NE(err.message().find("hardstate"), std::string::npos) << err.message();
  EXPECT_FALSE(segment_files(dir()).empty()) << "nothing is deleted";
}

TEST_F(WalRecovery, Missing_hardstate_fails_open_even_when_no_entry_was_written) {
  {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    persist(*s, make_hard_state(4, 2, 0), {});  // a vote cast, no entry ever received
  }
  ASSERT_TRUE(fs::remove(dir() + "/hardstate"));
  EXPECT_EQ(open_corrupt().path, dir() + "/hardstate");
}

TEST_F(WalRecovery, A_fresh_directory_opens_at_term_zero_and_reopens) {
  {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->hard_state().term(), 0u);
  }
  // Reopened before any vote: the directory holds an empty segment and a term-0 hardstate.
  std::unique_ptr<WalStorage> s = open_ok();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->hard_state().term(), 0u);
  EXPECT_EQ(s->hard_state().vote(), 0u);
}

// ---- application state (APP_STATE records) ----

TEST_F(WalRecovery, App_state_is_durable_with_the_next_sync_and_the_latest_synced_one_comes_back) {
  const std::string segment = dir() + "/wal-0000000000000001.log";
  std::uint64_t synced_size = 0;
  {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    EXPECT_EQ(s->app_state(), "");
    s->save_app_state("first");
    persist(*s, make_hard_state(1, 1, 0), make_entries(1, 2, 1));
    s->save_app_state(std::string("second\0with a NUL", 18));
    s->sync();
    synced_size = s->open_segment_bytes();
    EXPECT_EQ(s->app_state(), std::string("second\0with a NUL", 18));
    s->save_app_state("third, never synced");
    s->store(make_entries(3, 3, 1));
  }
  {
    OpenReport report;
    std::unique_ptr<WalStorage> s = open_ok({}, &report);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->app_state(), "third, never synced") << "the kernel kept the write: it came back whole";
    EXPECT_EQ(report.records, 6u);  // 3 entries, 3 app states
  }
  // A crash loses what was not synced: the app state goes back with the entries written after it.
  fs::resize_file(segment, synced_size + 5);
  std::unique_ptr<WalStorage> s = open_ok();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->app_state(), std::string("second\0with a NUL", 18));
  EXPECT_EQ(s->last_index(), 2u);
}

TEST_F(WalRecovery, App_state_is_copied_into_every_new_segment) {
  const WalOptions tiny{.segment_bytes = 256};
  {
    std::unique_ptr<WalStorage> s = open_ok(tiny);
    ASSERT_TRUE(s);
    s->save_app_state("windows");
    for (Index i = 1; i <= 30; i += 3) persist(*s, std::nullopt, make_entries(i, i + 2, 1, 50));
  }
  const std::vector<std::string> files = segment_files(dir());
  ASSERT_GE(files.size(), 4u);
  for (const std::string& f : files) {
    SCOPED_TRACE(f);
    EXPECT_NE(read_bytes(f).find("windows"), std::string::npos);
  }
  std::unique_ptr<WalStorage> s = open_ok(tiny);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->app_state(), "windows");
  EXPECT_EQ(s->last_index(), 30u);
}

TEST_F(WalRecovery, Damaged_hardstate_file_fails_open_naming_its_path) {
  {
    std::unique_ptr<WalStorage> s = open_ok();
    ASSERT_TRUE(s);
    persist(*s, make_hard_state(3, 2, 0), {});
  }
  const std::string path = dir() + "/hardstate";
  const std::string pristine = read_bytes(path);
  ASSERT_EQ(pristine.size(), 28u);
  for (std::size_t byte = 0; byte < pristine.size(); ++byte) {
    SCOPED_TRACE("byte " + std::to_string(byte));
    std::string rotten = pristine;
    rotten[byte] = static_cast<char>(rotten[byte] ^ 0x04);
    write_bytes(path, rotten);
    const WalError err = open_corrupt();
    EXPECT_EQ(err.path, path);
  }
  for (const std::size_t size : {std::size_t{0}, std::size_t{10}, std::size_t{27}}) {
    write_bytes(path, pristine.substr(0, size));
    const WalError err = open_corrupt();
    EXPECT_EQ(err.path, path);
    EXPECT_NE(err.message().find(path), std::string::npos);
  }
}

}  // namespace
}  // namespace raftbgp::raft
