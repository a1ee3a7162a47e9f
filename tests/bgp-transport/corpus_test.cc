// Replays the checked-in fuzz corpus (seeds and every crasher found) through the fuzzers' entry points,
// so a regression shows up in every build, not only in the clang fuzz preset.
#include <gtest/gtest.h>

#include <string>

#include "../common/corpus_replay.h"
#include "fuzz_entry.h"

namespace raftbgp::transport {
namespace {

using raftbgp::test::replay_corpus;

TEST(Corpus, Frame_corpus_replays_without_crashing) {
  EXPECT_GT(replay_corpus(std::string(RAFTBGP_CORPUS_DIR) + "/frame", fuzz::fuzz_frame), 0u);
}

TEST(Corpus, Exabgp_corpus_replays_without_crashing) {
  EXPECT_GT(replay_corpus(std::string(RAFTBGP_CORPUS_DIR) + "/exabgp", fuzz::fuzz_exabgp_line), 0u);
}

TEST(Corpus, Replay_state_corpus_replays_without_crashing) {
  EXPECT_GT(replay_corpus(std::string(RAFTBGP_CORPUS_DIR) + "/replay_state", fuzz::fuzz_replay_state), 0u);
}

}  // namespace
}  // namespace raftbgp::transport
