// Replays the checked-in fuzz corpus of the agent's parsers of outside bytes (tests/agent/corpus/<target>/:
// seeds and every crasher found) through the fuzzers' entry points (agent/fuzz/fuzz_entry.h), so a
// regression shows up in every build, not only in the clang fuzz preset.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "../../agent/fuzz/fuzz_entry.h"
#include "../common/corpus_replay.h"

namespace raftbgp::agent {
namespace {

const std::filesystem::path kCorpus = std::filesystem::path(__FILE__).parent_path() / "corpus";

using raftbgp::test::replay_corpus;

TEST(ControlCorpus, Control_corpus_replays_without_crashing) {
  EXPECT_GT(replay_corpus(kCorpus / "control", fuzz::fuzz_control), 0u);
}

TEST(ControlCorpus, Config_corpus_replays_without_crashing) {
  EXPECT_GT(replay_corpus(kCorpus / "config", fuzz::fuzz_config), 0u);
}

TEST(ControlCorpus, Policy_corpus_replays_without_crashing) {
  EXPECT_GT(replay_corpus(kCorpus / "policy", fuzz::fuzz_policy), 0u);
}

// Found by config_fuzz: a complex or empty mapping key gave a ConfigError with an empty field name
// ("config error: : unknown key").
TEST(ControlCorpus, Config_error_names_a_field_when_a_key_is_not_a_string) {
  auto complex = parse_config("node_id: 1\n? [complex, key]\n: 1\n");
  ASSERT_TRUE(std::holds_alternative<ConfigError>(complex));
  EXPECT_EQ(std::get<ConfigError>(complex).field, "(document)");
  auto nested =
      parse_config("node_id: 1\ncluster_id: 1\ndata_dir: /d\nkey_file: /k\nmembers: [1]\nmailbox: {? {a: 1} : 2}\n");
  ASSERT_TRUE(std::holds_alternative<ConfigError>(nested));
  EXPECT_EQ(std::get<ConfigError>(nested).to_string(), "mailbox: has a key that is not a string");
}

TEST(ControlCorpus, Config_error_names_an_empty_key) {
  auto r = parse_config("\"\": 1\nnode_id: 1\n");
  ASSERT_TRUE(std::holds_alternative<ConfigError>(r));
  EXPECT_EQ(std::get<ConfigError>(r).to_string(), "\"\": unknown key");
}

}  // namespace
}  // namespace raftbgp::agent
