// Client sessions (Raft thesis §6.3): duplicates return the cached result, older sequences are stale,
// and the session table is bounded deterministically.
#include <gtest/gtest.h>

#include "raftbgp/agent/state_machine.h"

namespace raftbgp::agent::test {
namespace {

v1::Command put(const std::string& client, std::uint64_t seq, const std::string& key, const std::string& value) {
  v1::Command c;
  c.set_client_id(client);
  c.set_seq(seq);
  c.mutable_kv_put()->set_key(key);
  c.mutable_kv_put()->set_value(value);
  return c;
}

TEST(StateMachine, duplicate_sequence_returns_the_cached_result_without_reapplying) {
  StateMachine sm;
  EXPECT_EQ(sm.apply(1, put("a", 1, "k", "v1")).index(), 1u);
  EXPECT_EQ(sm.apply(2, put("b", 1, "k", "v2")).code(), v1::Result::OK);
  const v1::Result again = sm.apply(3, put("a", 1, "k", "v1"));
  EXPECT_EQ(again.code(), v1::Result::OK);
  EXPECT_EQ(again.index(), 1u);  // the first application's index
  EXPECT_EQ(sm.kv().at("k"), "v2");
}

TEST(StateMachine, older_sequence_is_stale_and_not_applied) {
  StateMachine sm;
  sm.apply(1, put("a", 5, "k", "five"));
  const v1::Result r = sm.apply(2, put("a", 4, "k", "four"));
  EXPECT_EQ(r.code(), v1::Result::STALE_SEQUENCE);
  EXPECT_NE(r.message().find("stale sequence"), std::string::npos);
  EXPECT_EQ(sm.kv().at("k"), "five");
  EXPECT_EQ(sm.apply(3, put("a", 7, "k", "seven")).code(), v1::Result::OK);  // gaps are fine
}

TEST(StateMachine, delete_and_remove_of_missing_items_are_not_found_and_cached) {
  StateMachine sm;
  v1::Command del;
  del.set_client_id("a");
  del.set_seq(1);
  del.mutable_kv_delete()->set_key("nope");
  EXPECT_EQ(sm.apply(1, del).code(), v1::Result::NOT_FOUND);
  EXPECT_EQ(sm.apply(2, del).code(), v1::Result::NOT_FOUND);
  v1::Command anon = put("", 0, "k", "v");
  EXPECT_EQ(sm.apply(3, anon).code(), v1::Result::INVALID);
  EXPECT_TRUE(sm.kv().empty());
}

TEST(StateMachine, session_table_evicts_the_least_recent_client_by_log_index) {
  StateMachine sm;
  raft::Index i = 0;
  for (std::size_t c = 0; c < kMaxSessions; ++c) sm.apply(++i, put("c" + std::to_string(c), 1, "k", "v"));
  sm.apply(++i, put("c0", 1, "k", "v"));  // a retry refreshes c0
  sm.apply(++i, put("new", 1, "k", "v"));
  EXPECT_EQ(sm.sessions().size(), kMaxSessions);
  EXPECT_NE(sm.session("c0"), nullptr);
  EXPECT_EQ(sm.session("c1"), nullptr);  // the oldest one went
  EXPECT_NE(sm.session("new"), nullptr);
}

TEST(StateMachine, policy_changes_bump_the_version) {
  StateMachine sm;
  v1::Command add;
  add.set_client_id("ops");
  add.set_seq(1);
  add.mutable_policy_add()->mutable_route()->set_prefix("192.0.2.0/24");
  sm.apply(1, add);
  EXPECT_EQ(sm.policy_version(), 1u);
  sm.apply(2, put("ops", 2, "k", "v"));
  EXPECT_EQ(sm.policy_version(), 1u);
  EXPECT_EQ(sm.policies().count("192.0.2.0/24"), 1u);
}

}  // namespace
}  // namespace raftbgp::agent::test
