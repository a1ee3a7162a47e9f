// Replays the checked-in fuzz corpus of the WAL's parsers (tests/raft-core/corpus/<target>/: seeds and
// every crasher found) through the fuzzers' entry points (raft-core/fuzz/fuzz_entry.h), so a regression
// shows up in every build, not only in the clang fuzz preset.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "../../raft-core/fuzz/fuzz_entry.h"

namespace raftbgp::raft {
namespace {

const std::filesystem::path kCorpus = std::filesystem::path(__FILE__).parent_path() / "corpus";

std::size_t replay(const std::string& target, void (*entry)(const std::uint8_t*, std::size_t)) {
  std::size_t n = 0;
  for (const auto& f : std::filesystem::directory_iterator(kCorpus / target)) {
    if (!f.is_regular_file()) continue;
    SCOPED_TRACE(f.path().string());
    std::string bytes(static_cast<std::size_t>(f.file_size()), '\0');
    std::ifstream(f.path(), std::ios::binary).read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    entry(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    ++n;
  }
  return n;
}

TEST(WalCorpus, Wal_segment_corpus_replays_without_crashing) {
  EXPECT_GT(replay("wal_segment", fuzz::fuzz_wal_segment), 0u);
}

TEST(WalCorpus, Hard_state_corpus_replays_without_crashing) {
  EXPECT_GT(replay("hard_state", fuzz::fuzz_hard_state), 0u);
}

TEST(WalCorpus, Snapshot_file_corpus_replays_without_crashing) {
  EXPECT_GT(replay("snapshot_file", fuzz::fuzz_snapshot_file), 0u);
}

TEST(WalCorpus, Wal_open_corpus_replays_without_crashing) {
  EXPECT_GT(replay("wal_open", fuzz::fuzz_wal_open), 0u);
}

}  // namespace
}  // namespace raftbgp::raft
