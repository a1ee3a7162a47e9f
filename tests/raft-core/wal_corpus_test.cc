// Replays the checked-in fuzz corpus of the WAL's parsers (tests/raft-core/corpus/<target>/: seeds and
// every crasher found) through the fuzzers' entry points (raft-core/fuzz/fuzz_entry.h), so a regression
// shows up in every build, not only in the clang fuzz preset.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "../../raft-core/fuzz/fuzz_entry.h"
#include "../common/corpus_replay.h"

namespace raftbgp::raft {
namespace {

const std::filesystem::path kCorpus = std::filesystem::path(__FILE__).parent_path() / "corpus";

using raftbgp::test::replay_corpus;

TEST(WalCorpus, Wal_segment_corpus_replays_without_crashing) {
  EXPECT_GT(replay_corpus(kCorpus / "wal_segment", fuzz::fuzz_wal_segment), 0u);
}

TEST(WalCorpus, Hard_state_corpus_replays_without_crashing) {
  EXPECT_GT(replay_corpus(kCorpus / "hard_state", fuzz::fuzz_hard_state), 0u);
}

TEST(WalCorpus, Snapshot_file_corpus_replays_without_crashing) {
  EXPECT_GT(replay_corpus(kCorpus / "snapshot_file", fuzz::fuzz_snapshot_file), 0u);
}

TEST(WalCorpus, Wal_open_corpus_replays_without_crashing) {
  EXPECT_GT(replay_corpus(kCorpus / "wal_open", fuzz::fuzz_wal_open), 0u);
}

}  // namespace
}  // namespace raftbgp::raft
