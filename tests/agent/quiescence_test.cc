// Quiet when idle (quiescence.h): the bookkeeping alone, then three agents over the simulated fabric: an idle
// cluster goes quiet, a write wakes it, a dead leader router is replaced at BGP speed and a hung one after the lease.
#include <gtest/gtest.h>

#include "agent_net.h"
#include "raftbgp/agent/quiescence.h"

namespace raftbgp::agent {
namespace {

using test::AgentNet;
using LT = Quiescence::LeaderTick;

TEST(Quiescence, A_leader_quiesces_after_after_ticks_idle_ticks_and_refreshes_every_refresh_ticks) {
  Quiescence q({3, 30});
  EXPECT_EQ(q.leader_tick(1, true), LT::kTick);
  EXPECT_EQ(q.leader_tick(2, false), LT::kTick) << "a busy tick restarts the count";
  EXPECT_EQ(q.leader_tick(3, true), LT::kTick);
  EXPECT_EQ(q.leader_tick(4, true), LT::kTick);
  EXPECT_EQ(q.leader_tick(5, true), LT::kQuiesce);
  q.quiesced(5);
  EXPECT_TRUE(q.quiet());
  EXPECT_EQ(q.leader_tick(34, true), LT::kQuiet);
  EXPECT_EQ(q.leader_tick(35, true), LT::kQuiesce);
  q.quiesced(35);
  EXPECT_TRUE(q.wake());
  EXPECT_FALSE(q.wake()) << "waking an awake leader releases nothing";
  EXPECT_EQ(q.quiesces(), 2u);
  EXPECT_EQ(q.wakes(), 1u);
}

TEST(Quiescence, Zero_after_ticks_never_quiesces) {
  Quiescence q({0, 30});
  for (std::uint64_t t = 1; t < 1000; ++t) ASSERT_EQ(q.leader_tick(t, true), LT::kTick);
}

TEST(Quiescence, A_presence_freezes_only_its_leader_and_term_and_ends_on_withdrawal_session_down_or_lease) {
  Quiescence q({10, 30});  // lease 90 ticks
  q.on_quiesce_heartbeat(1, 5, 100);
  EXPECT_TRUE(q.frozen(1, 5, 100));
  EXPECT_TRUE(q.frozen(1, 5, 190));
  EXPECT_FALSE(q.frozen(1, 5, 191)) << "no fresh heartbeat for the lease: a hung leader agent";
  EXPECT_FALSE(q.frozen(1, 6, 100)) << "another term";
  EXPECT_FALSE(q.frozen(2, 5, 100)) << "another leader";
  q.on_presence_withdrawn(1);
  EXPECT_FALSE(q.frozen(1, 5, 100));
  q.on_quiesce_heartbeat(1, 5, 100);
  q.on_session_down();
  EXPECT_FALSE(q.frozen(1, 5, 100));
  EXPECT_EQ(q.presences_ended(), 2u);
  q.on_presence_withdrawn(3);
  EXPECT_EQ(q.presences_ended(), 2u) << "a withdrawal of a presence never held ends nothing";
}

std::vector<std::uint64_t> three() { return {1, 2, 3}; }

// Commands every simulated ExaBGP received from its agent, in all.
std::uint64_t commands(AgentNet& net) {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < net.size(); ++i) n += net.fabric().commands(i);
  return n;
}

// A 3-node cluster, led and then idle long enough to go quiet.
std::size_t quiet_cluster(AgentNet& net) {
  net.start_all();
  const int lead = net.wait_leader();
  EXPECT_GE(lead, 0);
  net.settle(40);
  return static_cast<std::size_t>(std::max(lead, 0));
}

TEST(QuiescenceCluster, An_idle_cluster_goes_quiet_and_announces_a_tenth_of_what_it_would_otherwise) {
  AgentNet quiet(3, three());
  const std::size_t lead = quiet_cluster(quiet);
  ASSERT_TRUE(quiet.core(lead).status_json()["quiesce"]["quiet"].get<bool>());
  for (std::size_t i = 0; i < 3; ++i) {
    if (i == lead) continue;
    EXPECT_TRUE(quiet.core(i).status_json()["quiesce"]["frozen"].get<bool>()) << "node " << i + 1;
  }
  AgentNet busy(3, three(), [](AgentConfig& c) { c.quiesce.after_ticks = 0; });
  quiet_cluster(busy);
  const std::uint64_t q0 = commands(quiet), b0 = commands(busy);
  quiet.settle(300);
  busy.settle(300);
  const std::uint64_t q = commands(quiet) - q0, b = commands(busy) - b0;
  // Quiet: per 30-tick refresh one presence announcement, two answers and their withdrawals. Busy: a heartbeat
  // and two answers every tick, each answer withdrawn later.
  EXPECT_LE(q, 60u) << "busy sent " << b;
  EXPECT_GE(b, 10 * q);
  EXPECT_EQ(quiet.fabric().mailbox_rib_size(lead), 1u) << "the presence route alone";
  EXPECT_EQ(quiet.core(lead).node().term(), busy.core(static_cast<std::size_t>(busy.leader())).node().term());
}

TEST(QuiescenceCluster, A_write_at_a_follower_wakes_the_quiet_leader_applies_everywhere_and_the_cluster_quiets_again) {
  AgentNet net(3, three());
  const std::size_t lead = quiet_cluster(net);
  const raft::Term term = net.core(lead).node().term();
  const std::size_t f = (lead + 1) % 3;
  ASSERT_TRUE(net.request(f, "kv.put", {{"key", "k"}, {"value", "v"}}, "c", 1).ok);
  net.settle(40);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(net.core(i).state().applied_index(), net.core(lead).state().applied_index()) << "node " << i + 1;
    EXPECT_EQ(net.request(i, "kv.get", {{"key", "k"}}).result["value"], "v") << "node " << i + 1;
  }
  net.settle(40);
  EXPECT_TRUE(net.core(lead).status_json()["quiesce"]["quiet"].get<bool>());
  EXPECT_GE(net.core(lead).status_json()["quiesce"]["wakes"].get<std::uint64_t>(), 1u);
  EXPECT_EQ(net.core(lead).node().term(), term) << "no election on the way";
}

// Steps until a leader other than `old` is known by the live nodes.
int steps_to_new_leader(AgentNet& net, std::size_t old, int max_steps) {
  for (int s = 0; s < max_steps; ++s) {
    const int l = net.leader();
    if (l >= 0 && static_cast<std::size_t>(l) != old) return s;
    net.fabric().step();
  }
  return -1;
}

TEST(QuiescenceCluster, A_dead_leader_router_is_replaced_within_an_election_timeout_of_its_presence_withdrawal) {
  AgentNet net(3, three());
  const std::size_t lead = quiet_cluster(net);
  net.fabric().kill_router(lead);
  net.stop(lead);
  const int steps = steps_to_new_leader(net, lead, 400);
  ASSERT_GE(steps, 0);
  EXPECT_LE(steps, 2 * 10 + 5) << "randomized election timeout of 10..19 ticks, plus the campaign";
}

TEST(QuiescenceCluster, A_hung_leader_agent_whose_routes_stay_is_replaced_after_the_presence_lease) {
  AgentNet net(3, three());
  const std::size_t lead = quiet_cluster(net);
  net.stop(lead);  // the agent is gone, its ExaBGP keeps announcing the presence route
  const int steps = steps_to_new_leader(net, lead, 400);
  ASSERT_GE(steps, 0);
  EXPECT_GE(steps, 90 - 30) << "the lease counts from the last refresh, at most 30 ticks ago";
  EXPECT_LE(steps, 90 + 2 * 10 + 5);
}

TEST(QuiescenceCluster, A_follower_that_missed_writes_is_caught_up_by_a_quiet_leader_after_its_restart) {
  AgentNet net(3, three());
  const std::size_t lead = quiet_cluster(net);
  const std::size_t f = (lead + 1) % 3, other = (lead + 2) % 3;
  net.stop(f);
  for (std::uint64_t seq = 1; seq <= 5; ++seq)
    ASSERT_TRUE(net.request(lead, "kv.put", {{"key", "k"}, {"value", std::to_string(seq)}}, "c", seq).ok);
  net.settle(60);
  ASSERT_TRUE(net.core(lead).status_json()["quiesce"]["quiet"].get<bool>()) << "a silent follower keeps nobody awake";
  net.start(f);
  const bool caught_up = net.fabric().run_until(
      [&] { return net.core(f).state().applied_index() == net.core(lead).state().applied_index(); }, 120);
  EXPECT_TRUE(caught_up) << "applied " << net.core(f).state().applied_index() << " of "
                         << net.core(lead).state().applied_index();
  EXPECT_EQ(net.leader(), static_cast<int>(lead));
  EXPECT_EQ(net.core(other).node().term(), net.core(lead).node().term());
}

TEST(QuiescenceCluster, A_follower_session_reset_under_a_quiet_leader_costs_no_election) {
  AgentNet net(3, three());
  const std::size_t lead = quiet_cluster(net);
  const raft::Term term = net.core(lead).node().term();
  const std::size_t f = (lead + 1) % 3;
  net.fabric().reset_session(f);
  net.settle(200);
  EXPECT_EQ(net.leader(), static_cast<int>(lead));
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(net.core(i).node().term(), term) << "node " << i + 1;
  EXPECT_GE(net.core(f).status_json()["quiesce"]["presences_ended"].get<std::uint64_t>(), 1u);
}

}  // namespace
}  // namespace raftbgp::agent
