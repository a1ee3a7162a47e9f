// Issue 6 in the agent, as in-process scenarios over SimFabric (no sleeps; time = ticks): catch-up by
// InstallSnapshot after compaction (Raft §7), one-at-a-time membership changes (thesis §4.1), leadership
// transfer (thesis §3.10), ReadIndex reads without log writes (thesis §6.4).
#include <gtest/gtest.h>

#include <string>

#include "agent_net.h"

namespace raftbgp::agent::test {
namespace {

using nlohmann::json;

std::vector<std::uint64_t> bootstrap3() { return {1, 2, 3}; }

std::size_t other_follower(int lead, std::size_t not_this) {
  for (std::size_t i = 0; i < 3; ++i)
    if (static_cast<int>(i) != lead && i != not_this) return i;
  return 0;
}

TEST(AgentSnapshot, Restarted_follower_catches_up_by_snapshot_when_the_log_was_compacted) {
  AgentNet net(3, bootstrap3(), [](AgentConfig& c) { c.snapshot_log_entries = 16; });
  net.start_all();
  const int lead = net.wait_leader();
  ASSERT_GE(lead, 0);
  const std::size_t down = (static_cast<std::size_t>(lead) + 1) % 3;
  net.stop(down);
  // 1 KiB values: the snapshot (~45 KB) needs several 16 KiB MSG_SNAP chunks, each several BGP fragments.
  const std::string big(1024, 'x');
  for (std::uint64_t k = 0; k < 40; ++k) {
    ClientResponse r = net.request(static_cast<std::size_t>(lead), "kv.put",
                                   {{"key", "k" + std::to_string(k)}, {"value", big + std::to_string(k)}}, "c", k + 1);
    ASSERT_TRUE(r.ok) << k << ": " << r.code << " " << r.message;
  }
  ASSERT_TRUE(net.request(static_cast<std::size_t>(lead), "policy.add", {{"prefix", "198.51.100.0/24"}}, "c", 41).ok);
  net.settle(10);
  AgentCore& leader = net.core(static_cast<std::size_t>(lead));
  EXPECT_GE(leader.snapshots_taken(), 1u);
  EXPECT_GT(leader.node().status().first_index, 20u) << "the leader compacted its log";

  net.start(down);
  AgentCore& restarted = net.core(down);
  const bool caught_up =
      net.fabric().run_until([&] { return restarted.state().applied_index() >= leader.state().applied_index(); }, 2000);
  ASSERT_TRUE(caught_up) << "applied " << restarted.state().applied_index() << " of " << leader.state().applied_index();
  EXPECT_GE(restarted.snapshots_installed(), 1u);
  net.settle(5);
  EXPECT_EQ(restarted.state().serialize(), leader.state().serialize()) << "identical state, byte for byte";
  EXPECT_EQ(restarted.state().kv().size(), 40u);
  EXPECT_EQ(net.fabric().policy_rib(down).count("198.51.100.0/24"), 1u) << "announcer re-diffed after install";
  // It serves a linearizable read of state that only the snapshot carried.
  ClientResponse g = net.request(down, "kv.get", {{"key", "k3"}});
  ASSERT_TRUE(g.ok) << g.code << " " << g.message;
  EXPECT_EQ(g.result["value"], big + "3");
}

TEST(AgentSnapshot, Restart_restores_the_local_snapshot_and_snapshot_op_compacts_on_demand) {
  AgentNet net(3, bootstrap3());
  net.start_all();
  const int lead = net.wait_leader();
  ASSERT_GE(lead, 0);
  for (std::uint64_t k = 0; k < 5; ++k)
    ASSERT_TRUE(net.request(static_cast<std::size_t>(lead), "kv.put",
                            {{"key", "k" + std::to_string(k)}, {"value", "v"}}, "c", k + 1)
                    .ok);
  net.settle(10);
  const std::size_t f = (static_cast<std::size_t>(lead) + 1) % 3;
  ClientResponse s = net.request(f, "snapshot", json::object());
  ASSERT_TRUE(s.ok) << s.message;
  EXPECT_FALSE(s.result["unchanged"].get<bool>());
  const std::uint64_t index = s.result["index"].get<std::uint64_t>();
  EXPECT_EQ(index, net.core(f).state().applied_index());
  EXPECT_TRUE(net.request(f, "snapshot", json::object()).result["unchanged"].get<bool>());
  const std::string before = net.core(f).state().serialize();
  net.stop(f);
  net.start(f);
  EXPECT_EQ(net.core(f).state().serialize(), before);
  EXPECT_EQ(net.core(f).status_json()["snapshot"]["last_index"], index);
}

TEST(AgentReadIndex, Reads_append_nothing_to_the_log_on_leader_and_follower) {
  AgentNet net(3, bootstrap3());
  net.start_all();
  const int lead = net.wait_leader();
  ASSERT_GE(lead, 0);
  const std::size_t f = (static_cast<std::size_t>(lead) + 1) % 3;
  ASSERT_TRUE(net.request(f, "kv.put", {{"key", "color"}, {"value", "blue"}}, "c", 1).ok);
  ASSERT_TRUE(net.request(f, "policy.add", {{"prefix", "203.0.113.0/24"}}, "c", 2).ok);
  net.settle(10);
  std::vector<std::uint64_t> last;
  for (std::size_t i = 0; i < 3; ++i) last.push_back(net.core(i).node().status().last_index);
  for (std::size_t i : {static_cast<std::size_t>(lead), f}) {
    ClientResponse g = net.request(i, "kv.get", {{"key", "color"}});
    ASSERT_TRUE(g.ok) << g.code << " " << g.message;
    EXPECT_EQ(g.result["value"], "blue");
    EXPECT_EQ(net.request(i, "kv.get", {{"key", "nope"}}).code, ErrorCode::kNotFound);
    EXPECT_EQ(net.request(i, "kv.list", json::object()).result["items"].size(), 1u);
    EXPECT_EQ(net.request(i, "policy.show", json::object()).result["routes"].size(), 1u);
  }
  net.settle(5);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(net.core(i).node().status().last_index, last[i]) << "node " << i + 1;
  EXPECT_EQ(net.core(f).debug_json()["reads"]["served"], 4u);
}

TEST(AgentMembers, Joining_router_is_added_as_learner_promoted_and_votes_then_one_is_removed) {
  AgentNet net(4, bootstrap3());
  net.start_all();  // node 4 starts with joining: true
  const int lead = net.wait_leader();
  ASSERT_GE(lead, 0);
  EXPECT_EQ(net.core(3).node().role(), raft::Role::kFollower);
  ASSERT_TRUE(net.request(static_cast<std::size_t>(lead), "kv.put", {{"key", "a"}, {"value", "1"}}, "c", 1).ok);
  const std::size_t f = (static_cast<std::size_t>(lead) + 1) % 3;
  ClientResponse add = net.admin(f, "members.add", {{"id", 4}, {"learner", true}});  // forwarded
  ASSERT_TRUE(add.ok) << add.code << " " << add.message;
  EXPECT_EQ(net.core(f).applied_learners(), std::vector<raft::NodeId>{4});
  ASSERT_TRUE(net.fabric().run_until([&] { return net.core(3).state().kv().count("a") == 1; }, 400));
  ClientResponse promote = net.admin(static_cast<std::size_t>(lead), "members.promote", {{"id", 4}});
  ASSERT_TRUE(promote.ok) << promote.code << " " << promote.message;
  EXPECT_EQ(net.core(static_cast<std::size_t>(lead)).applied_voters(), (std::vector<raft::NodeId>{1, 2, 3, 4}));
  // Node 4 applies the promotion when the commit reaches it (a learner paces its acknowledgements,
  // ack_pacing.h, so that may take a few ticks more than at the leader).
  ASSERT_TRUE(net.fabric().run_until([&] { return net.core(3).applied_voters().size() == 4; }, 400));
  json members = net.request(3, "members", json::object()).result;
  EXPECT_EQ(members["voters"], json({1, 2, 3, 4}));
  // With 4 voters a quorum is 3: stopping one original follower leaves 2 originals, so a write commits
  // only because node 4 acknowledges it.
  const std::size_t gone = other_follower(lead, 99);
  net.stop(gone);
  ClientResponse w = net.request(static_cast<std::size_t>(lead), "kv.put", {{"key", "b"}, {"value", "2"}}, "c", 2);
  ASSERT_TRUE(w.ok) << w.code << " " << w.message;
  ClientResponse rm = net.admin(static_cast<std::size_t>(lead), "members.remove", {{"id", gone + 1}});
  ASSERT_TRUE(rm.ok) << rm.code << " " << rm.message;
  EXPECT_EQ(net.core(3).status_json()["voters"].size(), 3u);
  net.settle(10);
  EXPECT_TRUE(net.admin(3, "members.remove", {{"id", gone + 1}}).result["unchanged"].get<bool>());
}

TEST(AgentMembers, Bad_arguments_and_refusals_are_answered_as_error_codes) {
  AgentNet net(3, bootstrap3());
  net.start_all();
  const int lead = net.wait_leader();
  ASSERT_GE(lead, 0);
  net.settle(10);  // the leader's no-op commits (before that: not_ready)
  EXPECT_EQ(net.admin(0, "members.add", json::object()).code, ErrorCode::kBadRequest);
  EXPECT_EQ(net.admin(0, "members.promote", {{"id", 2}, {"learner", true}}).code, ErrorCode::kBadRequest);
  EXPECT_EQ(net.admin(static_cast<std::size_t>(lead), "members.promote", {{"id", 9}}).code, ErrorCode::kRejected);
  EXPECT_EQ(net.admin(static_cast<std::size_t>(lead), "transfer_leader", {{"id", 9}}).code, ErrorCode::kRejected);
}

TEST(AgentTransfer, Transfer_leader_moves_leadership_when_asked_on_a_follower_or_the_leader) {
  AgentNet net(3, bootstrap3());
  net.start_all();
  int lead = net.wait_leader();
  ASSERT_GE(lead, 0);
  const std::size_t asker = (static_cast<std::size_t>(lead) + 1) % 3;
  const std::size_t target = other_follower(lead, asker);
  ClientResponse r = net.admin(asker, "transfer_leader", {{"id", target + 1}});  // forwarded
  ASSERT_TRUE(r.ok) << r.code << " " << r.message;
  EXPECT_EQ(r.result["leader"], target + 1);
  EXPECT_EQ(net.wait_leader(), static_cast<int>(target));
  const std::size_t back = static_cast<std::size_t>(lead);
  r = net.admin(target, "transfer_leader", {{"id", back + 1}});
  ASSERT_TRUE(r.ok) << r.code << " " << r.message;
  EXPECT_EQ(net.wait_leader(), static_cast<int>(back));
  EXPECT_TRUE(net.admin(back, "transfer_leader", {{"id", back + 1}}).result["unchanged"].get<bool>());
}

}  // namespace
}  // namespace raftbgp::agent::test
