// Client sessions (Raft thesis §6.3): duplicates return the cached result, older sequences are stale,
// and the session table is bounded deterministically.
#include <gtest/gtest.h>

#include "raftbgp/agent/state_machine.h"
#include "test_util.h"

namespace raftbgp::agent::test {
namespace {

v1::Command put(const std::string& client, std::uint64_t seq, const std::string& key, const std::string& value) {
  return put_command(client, seq, key, value);
}

TEST(StateMachine, Duplicate_sequence_returns_the_cached_result_without_reapplying) {
  StateMachine sm;
  EXPECT_EQ(sm.apply(1, put("a", 1, "k", "v1")).index(), 1u);
  EXPECT_EQ(sm.apply(2, put("b", 1, "k", "v2")).code(), v1::Result::OK);
  const v1::Result again = sm.apply(3, put("a", 1, "k", "v1"));
  EXPECT_EQ(again.code(), v1::Result::OK);
  EXPECT_EQ(again.index(), 1u);  // the first application's index
  EXPECT_EQ(sm.kv().at("k"), "v2");
}

TEST(StateMachine, Older_sequence_is_stale_and_not_applied) {
  StateMachine sm;
  sm.apply(1, put("a", 1, "k", "one"));  // a session starts at seq 1
  sm.apply(2, put("a", 5, "k", "five"));
  const v1::Result r = sm.apply(3, put("a", 4, "k", "four"));
  EXPECT_EQ(r.code(), v1::Result::STALE_SEQUENCE);
  EXPECT_NE(r.message().find("stale sequence"), std::string::npos);
  EXPECT_EQ(sm.kv().at("k"), "five");
  EXPECT_EQ(sm.apply(4, put("a", 7, "k", "seven")).code(), v1::Result::OK);  // gaps are fine
}

TEST(StateMachine, Delete_and_remove_of_missing_items_are_not_found_and_cached) {
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

TEST(StateMachine, Session_table_evicts_the_least_recent_client_when_full) {
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

TEST(StateMachine, Unknown_client_above_seq_one_is_session_expired_and_not_applied) {
  StateMachine sm;
  const v1::Result r = sm.apply(1, put("late", 7, "k", "v"));
  EXPECT_EQ(r.code(), v1::Result::SESSION_EXPIRED);
  EXPECT_NE(r.message().find("start a new client_id at seq 1"), std::string::npos) << r.message();
  EXPECT_TRUE(sm.kv().empty());
  EXPECT_EQ(sm.session("late"), nullptr);  // refusing opens nothing
  EXPECT_EQ(sm.apply(2, put("late", 7, "k", "v")).code(), v1::Result::SESSION_EXPIRED);
  EXPECT_EQ(sm.apply(3, put("fresh", 1, "k", "v")).code(), v1::Result::OK);
  EXPECT_EQ(sm.apply(4, put("fresh", 2, "k", "w")).code(), v1::Result::OK);
}

TEST(StateMachine, Evicted_client_cannot_reopen_its_session_with_any_seq) {
  StateMachine sm;
  raft::Index i = 0;
  ASSERT_EQ(sm.apply(++i, put("old", 1, "k", "mine")).code(), v1::Result::OK);
  for (std::size_t c = 0; c < kMaxSessions; ++c) sm.apply(++i, put("c" + std::to_string(c), 1, "x", "y"));
  ASSERT_EQ(sm.session("old"), nullptr);  // evicted
  ASSERT_TRUE(sm.evicted("old"));
  sm.apply(++i, put("other", 1, "k", "theirs"));
  // Retrying the first write (seq 1) or sending the next one (seq 2) must not re-open the session.
  EXPECT_EQ(sm.apply(++i, put("old", 1, "k", "mine")).code(), v1::Result::SESSION_EXPIRED);
  EXPECT_EQ(sm.apply(++i, put("old", 2, "k", "mine")).code(), v1::Result::SESSION_EXPIRED);
  EXPECT_EQ(sm.kv().at("k"), "theirs");
  // Tombstones travel in snapshots; a snapshot without them (older agents) still restores.
  StateMachine copy;
  ASSERT_FALSE(copy.restore(sm.serialize(), sm.applied_index()));
  EXPECT_TRUE(copy.evicted("old"));
  EXPECT_EQ(copy.serialize(), sm.serialize());
  v1::StateSnapshot legacy;
  ASSERT_TRUE(legacy.ParseFromString(sm.serialize()));
  legacy.clear_evicted();
  StateMachine from_legacy;
  ASSERT_FALSE(from_legacy.restore(legacy.SerializeAsString(), sm.applied_index()));
  EXPECT_FALSE(from_legacy.evicted("old"));
}

TEST(StateMachine, Cluster_caps_refuse_writes_as_invalid_and_change_nothing) {
  StateMachine sm;
  raft::Index i = 0;
  const std::string value(kMaxValueBytes, 'v');
  std::uint64_t seq = 0;
  while (sm.kv_bytes() + 6 + value.size() <= kMaxKvBytes) {
    ++seq;
    ASSERT_EQ(sm.apply(++i, put("kv", seq, "k" + std::to_string(seq), value)).code(), v1::Result::OK);
  }
  const std::size_t bytes = sm.kv_bytes();
  const v1::Result full = sm.apply(++i, put("kv", ++seq, "another-key", value));
  EXPECT_EQ(full.code(), v1::Result::INVALID);
  EXPECT_NE(full.message().find("would exceed"), std::string::npos) << full.message();
  EXPECT_EQ(sm.kv_bytes(), bytes);
  EXPECT_EQ(sm.apply(++i, put("kv", ++seq, "k1", "small")).code(), v1::Result::OK);  // shrinking is fine

  StateMachine p;
  for (std::size_t n = 0; n <= kMaxPolicyRoutes; ++n) {
    v1::Command add;
    add.set_client_id("ops");
    add.set_seq(n + 1);
    add.mutable_policy_add()->mutable_route()->set_prefix("10." + std::to_string(n / 256) + "." +
                                                          std::to_string(n % 256) + ".0/24");
    const v1::Result r = p.apply(n + 1, add);
    EXPECT_EQ(r.code(), n < kMaxPolicyRoutes ? v1::Result::OK : v1::Result::INVALID) << n;
  }
  EXPECT_EQ(p.policies().size(), kMaxPolicyRoutes);
}

TEST(StateMachine, Policy_changes_bump_the_version) {
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
