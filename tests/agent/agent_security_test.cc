// Security tracker scenarios on the in-process cluster (AgentNet + SimFabric): replayed forwards,
// exactly-once admin commands, ExaBGP command injection through a forwarded route, and the ExaBGP ack
// watchdog. Time is ticks.
#include <gtest/gtest.h>

#include "agent_net.h"

namespace raftbgp::agent::test {
namespace {

using nlohmann::json;

std::vector<std::uint64_t> bootstrap3() { return {1, 2, 3}; }

// Seals `m` as node m.from() would, under a fresh transport epoch (the receiver's replay window is gone,
// as after a restart of the leader), and hands every announcement to node `to` as its ExaBGP would.
void deliver_forged(AgentNet& net, std::size_t to, const raft::Message& m, std::uint64_t epoch) {
  auto tx = transport::Transport::create(transport_config(net.config(m.from() - 1), test_keys(), epoch));
  ASSERT_TRUE(std::holds_alternative<transport::Transport>(tx)) << std::get<std::string>(tx);
  const std::uint64_t dest = to + 1;
  for (const std::string& line : std::get<transport::Transport>(tx).send(m, std::span<const std::uint64_t>(&dest, 1)))
    net.core(to).on_exabgp_line(SimFabric::update_json(line));
}

raft::Message forward(std::size_t from, std::size_t to, raft::Term term, v1::Command cmd) {
  cmd.set_origin_node(from + 1);
  cmd.set_origin_request(77);
  raft::Message m;
  m.set_type(raft::MessageType::MSG_FORWARD);
  m.set_from(from + 1);
  m.set_to(to + 1);
  m.set_term(term);
  m.set_context(cmd.SerializeAsString());
  return m;
}

// Starts every node and returns the leader's index once its no-op has committed.
std::size_t started_leader(AgentNet& net) {
  net.start_all();
  const int lead = net.wait_leader();
  EXPECT_GE(lead, 0);
  net.settle(10);
  return static_cast<std::size_t>(std::max(lead, 0));
}

std::uint64_t safety(AgentCore& core, const char* counter) {
  return core.status_json()["safety"][counter].get<std::uint64_t>();
}

TEST(AgentSecurity, Forward_sealed_in_another_term_is_dropped_by_the_leader) {
  AgentNet net(3, bootstrap3());
  const std::size_t lead = started_leader(net);
  const std::size_t f = (lead + 1) % 3;
  const raft::Term term = net.core(lead).node().term();
  // An archived forward of an earlier term (the leader restarted since: its transport accepts it again).
  deliver_forged(net, lead, forward(f, lead, term - 1, put_command("replayed", 1, "k", "old")), 1000);
  net.settle(20);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(net.core(i).state().kv().count("k"), 0u) << "node " << i + 1;
  EXPECT_EQ(safety(net.core(lead), "forwards_stale_term"), 1u);
  // The same forgery in the current term is applied: the test's forward is a faithful one.
  deliver_forged(net, lead, forward(f, lead, term, put_command("replayed", 1, "k", "old")), 1001);
  net.settle(20);
  EXPECT_EQ(net.core(lead).state().kv().count("k"), 1u);
}

TEST(AgentSecurity, Forwarded_route_with_a_line_break_is_refused_and_reaches_no_exabgp) {
  AgentNet net(3, bootstrap3());
  const std::size_t lead = started_leader(net);
  v1::Command cmd;
  cmd.set_client_id("attacker");
  cmd.set_seq(1);
  v1::PolicyRoute* r = cmd.mutable_policy_add()->mutable_route();
  r->set_prefix("192.0.2.0/24");
  r->set_next_hop("192.0.2.1\nneighbor 10.0.0.1 teardown 2\nannounce route 0.0.0.0/0 next-hop self");
  const std::size_t f = (lead + 1) % 3;
  deliver_forged(net, lead, forward(f, lead, net.core(lead).node().term(), cmd), 1000);
  net.settle(30);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(net.core(i).state().policies().empty()) << "node " << i + 1;
    EXPECT_TRUE(net.fabric().policy_rib(i).empty()) << "node " << i + 1;
  }
}

TEST(AgentSecurity, Retried_membership_change_with_an_old_seq_does_not_apply_again) {
  AgentNet net(4, bootstrap3());
  const std::size_t lead = started_leader(net);
  const std::size_t f = (lead + 1) % 3;
  EXPECT_EQ(net.request(lead, "members.add", {{"id", 4}, {"learner", true}}).code,
            ErrorCode::kBadRequest);                                                             // no session
  ClientResponse add = net.request(f, "members.add", {{"id", 4}, {"learner", true}}, "ops", 1);  // forwarded
  ASSERT_TRUE(add.ok) << add.code << ": " << add.message;
  ClientResponse rm = net.request(lead, "members.remove", {{"id", 4}}, "ops", 2);
  ASSERT_TRUE(rm.ok) << rm.code << ": " << rm.message;
  net.settle(10);
  // The add is retried (the client never saw its answer) on the follower and on the leader: the first
  // outcome comes back and node 4 stays removed.
  for (std::size_t via : {f, lead}) {
    ClientResponse again = net.request(via, "members.add", {{"id", 4}, {"learner", true}}, "ops", 1);
    EXPECT_EQ(again.code, ErrorCode::kStaleSequence) << "via node " << via + 1 << ": " << again.message;
  }
  // The same add reaching the leader as a forward of its current term (a follower that had not applied
  // the outcome yet) is not proposed again either.
  v1::Command add_again;
  add_again.set_client_id("ops");
  add_again.set_seq(1);
  add_again.mutable_conf_change()->set_type(raftbgp::v1::CONF_ADD_LEARNER);
  add_again.mutable_conf_change()->set_node_id(4);
  deliver_forged(net, lead, forward(f, lead, net.core(lead).node().term(), add_again), 1000);
  net.settle(20);
  ClientResponse same = net.request(f, "members.remove", {{"id", 4}}, "ops", 2);
  ASSERT_TRUE(same.ok) << same.code << ": " << same.message;
  EXPECT_TRUE(same.result["unchanged"].get<bool>());
  net.settle(20);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(net.core(i).applied_learners().empty()) << "node " << i + 1;
    EXPECT_TRUE(net.core(i).node().status().learners.empty()) << "node " << i + 1;
    ASSERT_NE(net.core(i).state().session("ops"), nullptr);
    EXPECT_EQ(net.core(i).state().session("ops")->seq, 2u);  // recorded at apply, on every node
  }
}

TEST(AgentSecurity, Retried_transfer_leader_with_an_old_seq_does_not_move_leadership_again) {
  AgentNet net(3, bootstrap3());
  const std::size_t back = started_leader(net);
  const std::size_t target = (back + 1) % 3, asker = (back + 2) % 3;
  ClientResponse first = net.request(asker, "transfer_leader", {{"id", target + 1}}, "ops", 1);
  ASSERT_TRUE(first.ok) << first.code << ": " << first.message;
  ASSERT_EQ(net.wait_leader(), static_cast<int>(target));
  net.settle(10);
  ClientResponse home = net.request(asker, "transfer_leader", {{"id", back + 1}}, "ops", 2);
  ASSERT_TRUE(home.ok) << home.code << ": " << home.message;
  ASSERT_EQ(net.wait_leader(), static_cast<int>(back));
  net.settle(10);
  EXPECT_EQ(net.request(asker, "transfer_leader", {{"id", target + 1}}, "ops", 1).code, ErrorCode::kStaleSequence);
  net.settle(60);
  EXPECT_EQ(net.leader(), static_cast<int>(back));
  EXPECT_EQ(net.request(asker, "transfer_leader", {{"id", 9}}, "ops", 3).code, ErrorCode::kRejected);  // not a voter
}

TEST(AgentSecurity, Exabgp_that_stops_acking_is_detected_and_the_window_recovers) {
  AgentNet net(3, bootstrap3());
  const std::size_t lead = started_leader(net);
  const std::size_t f = (lead + 1) % 3;
  net.fabric().set_acks_lost(f, true);
  constexpr int kRoutes = 20;  // more than the 16-command policy window
  for (int n = 0; n < kRoutes; ++n)
    ASSERT_TRUE(net.request(lead, "policy.add", {{"prefix", "10.9." + std::to_string(n) + ".0/24"}}, "ops",
                            static_cast<std::uint64_t>(n + 1))
                    .ok);
  net.settle(20);
  ASSERT_EQ(net.core(f).state().policies().size(), static_cast<std::size_t>(kRoutes));
  EXPECT_EQ(net.core(f).debug_json()["exabgp_window"]["agent_waiting"], kRoutes - 16);  // stuck behind the window
  EXPECT_LT(net.fabric().policy_rib(f).size(), static_cast<std::size_t>(kRoutes));
  net.fabric().set_acks_lost(f, false);  // ExaBGP answers again, but never the commands it dropped
  ASSERT_TRUE(net.fabric().run_until(
      [&] {
        return net.fabric().policy_rib(f).size() == static_cast<std::size_t>(kRoutes) &&
               net.core(f).debug_json()["exabgp_window"]["agent_waiting"] == 0;
      },
      600));
  EXPECT_EQ(safety(net.core(f), "exabgp_ack_stalls"), 1u);
  // Its mailbox traffic flows again: a write forwarded by f commits.
  ClientResponse w = net.request(f, "kv.put", {{"key", "after"}, {"value", "1"}}, "w", 1);
  EXPECT_TRUE(w.ok) << w.code << ": " << w.message;
}

}  // namespace
}  // namespace raftbgp::agent::test
