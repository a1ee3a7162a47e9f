// raftbgpctl health's verdict (agent/cli/ctl_health.cc judge_health), one case per reason, and the status
// fields it reads from a running agent (health_signals.h, AgentCore::exabgp_json) on the in-process cluster
// (AgentNet + SimFabric). Time is ticks.
#include <gtest/gtest.h>

#include "agent_net.h"
#include "cli/ctl.h"
#include "raftbgp/agent/health_signals.h"

namespace raftbgp::agent::test {
namespace {

using ctl::HealthLimits;
using ctl::judge_health;
using nlohmann::json;

// A healthy follower's status: node 1 of voters 1..3, leader 2, caught up, one BGP session up, ExaBGP idle.
json healthy_status() {
  return json::parse(R"({"node_id":1,"role":"follower","term":4,"leader":2,"commit":10,"applied":10,
    "voters":[1,2,3],"learners":[],"quiesce":{"frozen":false},
    "exabgp":{"outstanding":0,"agent_waiting":0,"ms_without_ack":0,"ack_stalls":0},
    "health":{"bgp_sessions_up":1,"bgp_peers":{"10.0.0.1":"up"},"leader_commit":10,"lag_entries":0,
              "behind_ms":0,"leader_contact_ms":100,"last_ack_stall_ms_ago":null}})");
}

// The one reason `s` is judged unhealthy for (fails the test unless there is exactly one).
std::string only_reason(json s, const HealthLimits& limits = {}) {
  const ctl::Health h = judge_health(s, limits);
  EXPECT_FALSE(h.healthy) << s.dump();
  EXPECT_EQ(h.reasons.size(), 1u) << s.dump();
  return h.reasons.empty() ? "" : h.reasons.front();
}

bool says(const std::string& reason, const char* what) { return reason.find(what) != std::string::npos; }

TEST(Health, Judge_is_healthy_when_every_signal_is_within_its_limit) {
  json s = healthy_status();
  const ctl::Health h = judge_health(s, {});
  EXPECT_TRUE(h.healthy);
  EXPECT_TRUE(h.reasons.empty());
}

TEST(Health, Judge_fails_when_no_leader_is_known_or_the_node_is_not_a_member) {
  json s = healthy_status();
  s["leader"] = 0;
  EXPECT_TRUE(says(only_reason(s), "no leader known (term 4)"));
  s = healthy_status();
  s["voters"] = {2, 3, 4};
  EXPECT_TRUE(says(only_reason(s), "node 1 is not a member"));
}

TEST(Health, Judge_fails_when_applied_trails_commit_by_more_than_max_lag) {
  json s = healthy_status();
  s["commit"] = 500;
  s["health"]["leader_commit"] = 500;
  s["health"]["lag_entries"] = 490;
  EXPECT_TRUE(says(only_reason(s), "applied index 10 lags commit index 500 by more than 100 entries"));
  json ok = s;
  EXPECT_TRUE(judge_health(ok, HealthLimits{1000, 10000, 10000}).healthy);
}

TEST(Health, Judge_fails_when_the_node_lags_the_leaders_commit_by_more_than_max_lag) {
  json s = healthy_status();  // its own commit is current, the leader's is far ahead (a slow AppendEntries stream)
  s["health"]["leader_commit"] = 400;
  s["health"]["lag_entries"] = 390;
  EXPECT_TRUE(says(only_reason(s), "lags the leader's commit index 400 by more than 100 entries"));
}

TEST(Health, Judge_fails_when_the_node_trailed_the_leader_for_more_than_max_lag_seconds) {
  json s = healthy_status();
  s["health"]["behind_ms"] = 12000;
  EXPECT_TRUE(says(only_reason(s), "trailed the leader's commit index for 12.0 s (more than 10.0 s)"));
  json ok = s;
  EXPECT_TRUE(judge_health(ok, HealthLimits{100, 20000, 10000}).healthy);
}

TEST(Health, Judge_fails_when_the_leader_is_silent_unless_this_follower_is_frozen_by_a_quiet_leader) {
  json s = healthy_status();
  s["health"]["leader_contact_ms"] = 15000;
  EXPECT_TRUE(says(only_reason(s), "nothing heard from leader 2 for 15.0 s"));
  s["quiesce"]["frozen"] = true;  // a quiet leader sends nothing on purpose; its presence route stands for it
  EXPECT_TRUE(judge_health(s, {}).healthy);
}

TEST(Health, Judge_fails_when_no_bgp_session_is_up) {
  json s = healthy_status();
  s["health"]["bgp_sessions_up"] = 0;
  s["health"]["bgp_peers"] = {{"10.0.0.1", "down"}};
  EXPECT_TRUE(says(only_reason(s), "no BGP session up"));
}

TEST(Health, Judge_fails_when_exabgp_leaves_commands_unacknowledged_longer_than_max_ack_wait) {
  json s = healthy_status();
  s["exabgp"]["outstanding"] = 3;
  s["exabgp"]["ms_without_ack"] = 11000;
  EXPECT_TRUE(says(only_reason(s), "ExaBGP acknowledged none of 3 outstanding commands for 11.0 s"));
  s["exabgp"]["outstanding"] = 0;  // nothing outstanding: the silence is idleness
  EXPECT_TRUE(judge_health(s, {}).healthy);
}

TEST(Health, Judge_fails_for_a_minute_after_the_exabgp_watchdog_reset_the_window) {
  json s = healthy_status();
  s["health"]["last_ack_stall_ms_ago"] = 5000;
  EXPECT_TRUE(says(only_reason(s), "ExaBGP stopped acknowledging commands"));
  s["health"]["last_ack_stall_ms_ago"] = ctl::kRecentAckStallMs;
  EXPECT_TRUE(judge_health(s, {}).healthy);
}

TEST(Health, Judge_skips_the_checks_whose_fields_an_older_agent_does_not_send) {
  json s = healthy_status();
  s.erase("health");
  s.erase("exabgp");
  EXPECT_TRUE(judge_health(s, {}).healthy);
}

TEST(Health, Judge_lists_every_reason_at_once) {
  json s = healthy_status();
  s["leader"] = 0;
  s["health"]["bgp_sessions_up"] = 0;
  s["health"]["last_ack_stall_ms_ago"] = 1000;
  EXPECT_EQ(judge_health(s, {}).reasons.size(), 3u);
}

// HealthSignals alone: sessions from state and update events, the leader's commit from AppendEntries.
TEST(HealthSignals, Sessions_follow_state_events_and_an_update_marks_its_neighbor_up) {
  HealthSignals h;
  EXPECT_EQ(h.sessions_up(), 0u);
  h.on_event(transport::StateEvent{"10.0.0.1", "connected", ""});
  EXPECT_EQ(h.sessions_up(), 0u);
  h.on_event(transport::StateEvent{"10.0.0.1", "up", ""});
  h.on_event(transport::StateEvent{"10.0.0.9", "up", ""});
  EXPECT_EQ(h.sessions_up(), 2u);
  h.on_event(transport::StateEvent{"10.0.0.1", "down", "peer reset"});
  EXPECT_EQ(h.sessions_up(), 1u);
  transport::UpdateEvent u;
  u.peer = "10.0.0.1";  // a respawned agent sees routes, never the `up` it missed
  h.on_event(u);
  EXPECT_EQ(h.sessions_up(), 2u);
}

// A follower that keeps up under sustained writes (always a few entries behind at each tick) is not "behind"
// for long: behind_ms is the age of the oldest unapplied leader commit, not the time since it was exactly
// caught up.
TEST(HealthSignals, Behind_is_the_age_of_the_oldest_unapplied_leader_commit) {
  HealthSignals h;
  HealthSignals::View v{1, 2, 4, 0, 0};
  raft::Message m;
  m.set_from(2);
  m.set_term(4);
  m.set_type(raft::MessageType::MSG_APP);
  for (std::uint64_t t = 1; t <= 200; ++t) {  // 20 s of ticks; each tick the leader is 3 entries ahead
    m.set_commit(t * 3);
    h.on_message(m, t);
    v.applied = v.commit = t * 3 - 3;  // applied what the leader committed one tick ago
    h.on_tick(t, v);
  }
  EXPECT_LE(h.to_json(v, 200, 100)["behind_ms"].get<std::uint64_t>(), 100u);
  for (std::uint64_t t = 201; t <= 300; ++t) h.on_tick(t, v);  // stuck: nothing applied for 10 s
  EXPECT_GE(h.to_json(v, 300, 100)["behind_ms"].get<std::uint64_t>(), 10000u);
}

raft::Message from(raft::NodeId node, raft::Term term, raft::MessageType type, raft::Index commit) {
  raft::Message m;
  m.set_from(node);
  m.set_to(1);
  m.set_term(term);
  m.set_type(type);
  m.set_commit(commit);
  return m;
}

TEST(HealthSignals, Lag_counts_entries_and_time_behind_the_leaders_commit_of_this_term) {
  HealthSignals h;
  HealthSignals::View v{1, 2, 4, 10, 10};
  h.on_message(from(2, 4, raft::MessageType::MSG_APP, 50), 100);
  h.on_tick(100, v);
  json j = h.to_json(v, 130, 100);
  EXPECT_EQ(j["leader_commit"], 50u);
  EXPECT_EQ(j["lag_entries"], 40u);
  EXPECT_EQ(j["behind_ms"], 3000u);  // commit 50 was first seen unapplied at tick 100
  EXPECT_EQ(j["leader_contact_ms"], 3000u);
  v.applied = v.commit = 50;
  h.on_tick(131, v);
  j = h.to_json(v, 131, 100);
  EXPECT_EQ(j["lag_entries"], 0u);
  EXPECT_EQ(j["behind_ms"], 0u);
  v.term = 5;  // a new term: the old leader's numbers no longer count, nor does its contact
  j = h.to_json(v, 132, 100);
  EXPECT_EQ(j["leader_commit"], 50u);
  EXPECT_TRUE(j["leader_contact_ms"].is_null());
  v.leader = 1;  // this node leads: it is its own leader
  EXPECT_EQ(h.to_json(v, 132, 100)["leader_contact_ms"], 0u);
  EXPECT_TRUE(j["last_ack_stall_ms_ago"].is_null());
  h.on_ack_stall(120);
  EXPECT_EQ(h.to_json(v, 132, 100)["last_ack_stall_ms_ago"], 1200u);
}

// The running agent: status carries the fields judge_health reads, and a healthy cluster is judged healthy.
TEST(Health, Status_of_a_running_cluster_is_healthy_and_shows_sessions_lag_and_exabgp_window) {
  AgentNet net(3, {1, 2, 3});
  net.start_all();
  const int lead = net.wait_leader();
  ASSERT_GE(lead, 0);
  ASSERT_TRUE(net.request(static_cast<std::size_t>(lead), "kv.put", {{"key", "k"}, {"value", "v"}}, "c", 1).ok);
  net.settle(20);
  const std::size_t f = (static_cast<std::size_t>(lead) + 1) % 3;
  json s = net.core(f).status_json();
  EXPECT_EQ(s["health"]["bgp_sessions_up"], 1u) << s["health"].dump();  // the sim's updates come from 10.0.0.1
  EXPECT_EQ(s["health"]["leader_commit"], net.core(static_cast<std::size_t>(lead)).node().commit_index());
  EXPECT_EQ(s["health"]["lag_entries"], 0u);
  EXPECT_LT(s["exabgp"]["ms_without_ack"].get<std::uint64_t>(), 1000u);  // ExaBGP answers (a command may be in flight)
  const ctl::Health h = judge_health(s, {});
  EXPECT_TRUE(h.healthy) << json(h.reasons).dump();
  // Its BGP session goes down (no update follows yet): unhealthy for that reason alone.
  net.core(f).on_exabgp_line(SimFabric::state_line("down"));
  s = net.core(f).status_json();
  EXPECT_EQ(s["health"]["bgp_sessions_up"], 0u);
  const ctl::Health down = judge_health(s, {});
  ASSERT_EQ(down.reasons.size(), 1u) << json(down.reasons).dump();
  EXPECT_TRUE(says(down.reasons[0], "no BGP session up"));
}

TEST(Health, Exabgp_that_stops_acking_makes_the_node_unhealthy_before_and_after_the_watchdog) {
  AgentNet net(3, {1, 2, 3});
  net.start_all();
  const int lead = net.wait_leader();
  ASSERT_GE(lead, 0);
  net.settle(10);
  const std::size_t f = (static_cast<std::size_t>(lead) + 1) % 3;
  net.fabric().set_acks_lost(f, true);
  ASSERT_TRUE(net.request(static_cast<std::size_t>(lead), "policy.add", {{"prefix", "10.9.0.0/24"}}, "ops", 1).ok);
  net.settle(120);  // 12 s at the default 100 ms tick
  json s = net.core(f).status_json();
  EXPECT_GT(s["exabgp"]["outstanding"].get<std::uint64_t>(), 0u) << s["exabgp"].dump();
  EXPECT_GE(s["exabgp"]["ms_without_ack"].get<std::uint64_t>(), 11000u) << s["exabgp"].dump();
  ctl::Health h = judge_health(s, {});
  EXPECT_FALSE(h.healthy);
  EXPECT_TRUE(std::any_of(h.reasons.begin(), h.reasons.end(), [](const std::string& r) {
    return says(r, "ExaBGP acknowledged none of");
  })) << json(h.reasons).dump();
  net.settle(200);  // past the 30 s watchdog: the window was reset
  s = net.core(f).status_json();
  ASSERT_EQ(s["exabgp"]["ack_stalls"], 1u);
  h = judge_health(s, {});
  EXPECT_TRUE(std::any_of(h.reasons.begin(), h.reasons.end(), [](const std::string& r) {
    return says(r, "ExaBGP stopped acknowledging commands");
  })) << json(h.reasons).dump();
}

}  // namespace
}  // namespace raftbgp::agent::test
