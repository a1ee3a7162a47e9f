// The latency model (latency_model.h): round trips matched by index (AppendEntries) or in order (heartbeats,
// votes), fsync/apply/elections, its status and Prometheus forms, and the debug.model file of a real agent cluster.
// Synthetic clock: time points are built by hand, nothing sleeps.
#include "raftbgp/agent/latency_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "agent_net.h"
#include "raftbgp/agent/metrics.h"

namespace raftbgp::agent::test {
namespace {

using nlohmann::json;
using Clock = LatencyModel::Clock;
using std::chrono::milliseconds;

raft::Message msg(raft::MessageType type, raft::NodeId from, std::uint64_t index = 0, int entries = 0) {
  raft::Message m;
  m.set_type(type);
  m.set_from(from);
  m.set_index(index);
  for (int i = 0; i < entries; ++i) m.add_entries()->set_index(index + 1 + static_cast<std::uint64_t>(i));
  return m;
}

double sum_of(const json& h) { return h["sum"].get<double>(); }

TEST(LatencyModel, ModelHistogram_buckets_are_four_per_doubling_and_quantiles_land_in_the_right_bucket) {
  ModelHistogram h;
  for (int i = 0; i < 99; ++i) h.observe(0.002);
  h.observe(1.0);
  // 2 ms lies in (50us*2^(21/4), 50us*2^(22/4)] = (1.82, 2.16] ms.
  EXPECT_NEAR(h.quantile(0.5), ModelHistogram::bound(22), 1e-12);
  EXPECT_GT(h.quantile(0.5), 0.002);
  EXPECT_LT(h.quantile(0.5), 0.002 * 1.19);
  EXPECT_GE(h.quantile(1.0), 1.0);
  const json fine = h.to_json(), coarse = h.to_json(ModelHistogram::kPerDoubling);
  EXPECT_EQ(fine["bounds"].size(), ModelHistogram::kBounds);
  EXPECT_EQ(coarse["bounds"].size(), 19u);
  EXPECT_EQ(fine["counts"].back(), 100u);  // cumulative; the last bound (13 s) holds everything
  EXPECT_EQ(coarse["count"], 100u);
  h.observe(100.0);  // past the last bound: only +Inf
  EXPECT_EQ(h.to_json()["counts"].back(), 100u);
  EXPECT_EQ(h.to_json()["count"], 101u);
}

TEST(LatencyModel, AppendEntries_round_trip_is_matched_by_index_and_ignores_rejections_and_commit_only) {
  LatencyModel m;
  const Clock::time_point t0{};
  m.on_send(msg(raft::MessageType::MSG_APP, 1, 4, 1), 2, t0);                    // entries up to 5
  m.on_send(msg(raft::MessageType::MSG_APP, 1, 5, 2), 2, t0 + milliseconds(1));  // up to 7
  m.on_send(msg(raft::MessageType::MSG_APP, 1, 7, 0), 2, t0 + milliseconds(1));  // commit-only: not timed
  raft::Message reject = msg(raft::MessageType::MSG_APP_RESP, 2, 7);
  reject.set_reject(true);
  m.on_receive(reject, t0 + milliseconds(2));
  m.on_receive(msg(raft::MessageType::MSG_APP_RESP, 2, 5), t0 + milliseconds(3));
  m.on_receive(msg(raft::MessageType::MSG_APP_RESP, 2, 7), t0 + milliseconds(5));
  m.on_receive(msg(raft::MessageType::MSG_APP_RESP, 2, 7), t0 + milliseconds(9));  // a duplicate: nothing left
  const json p = m.model_json()["peers"]["2"];
  EXPECT_EQ(p["append_rtt_seconds"]["count"], 2u);
  EXPECT_NEAR(sum_of(p["append_rtt_seconds"]), 0.003 + 0.004, 1e-9);
  EXPECT_EQ(p["heartbeat_rtt_seconds"]["count"], 0u);
}

TEST(LatencyModel, One_acknowledgement_covering_several_sends_times_each_to_it) {
  LatencyModel m;
  const Clock::time_point t0{};
  m.on_send(msg(raft::MessageType::MSG_APP, 1, 0, 1), 3, t0);
  m.on_send(msg(raft::MessageType::MSG_APP, 1, 1, 1), 3, t0 + milliseconds(2));
  m.on_receive(msg(raft::MessageType::MSG_APP_RESP, 3, 2), t0 + milliseconds(10));
  EXPECT_NEAR(sum_of(m.model_json()["peers"]["3"]["append_rtt_seconds"]), 0.010 + 0.008, 1e-9);
}

// Pearson correlation of one rtt_co_move bin (sums of pairs of normal scores).
double co_move_r(const json& c, std::size_t bin) {
  const double n = c["pairs"][bin].get<double>(), sx = c["sum_x"][bin], sy = c["sum_y"][bin];
  const double vx = c["sum_xx"][bin].get<double>() - sx * sx / n, vy = c["sum_yy"][bin].get<double>() - sy * sy / n;
  return (c["sum_xy"][bin].get<double>() - sx * sy / n) / std::sqrt(vx * vy);
}

// 400 AppendEntries, each to peers 2 and 3, 10 ms apart; peer 2 answers after rtt2(k), peer 3 after rtt3(k).
json co_move_of(const std::function<double(std::size_t)>& rtt2, const std::function<double(std::size_t)>& rtt3) {
  LatencyModel m;
  const Clock::time_point t0{};
  for (std::size_t k = 0; k < 400; ++k) {
    const Clock::time_point sent = t0 + milliseconds(10 * static_cast<int>(k));
    const auto index = static_cast<std::uint64_t>(k);
    m.on_send(msg(raft::MessageType::MSG_APP, 1, index, 1), 2, sent);
    m.on_send(msg(raft::MessageType::MSG_APP, 1, index, 1), 3, sent);
    m.on_receive(msg(raft::MessageType::MSG_APP_RESP, 2, index + 1),
                 sent + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(rtt2(k))));
    m.on_receive(msg(raft::MessageType::MSG_APP_RESP, 3, index + 1),
                 sent + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(rtt3(k))));
  }
  return m.model_json()["rtt_co_move"];
}

TEST(LatencyModel, Round_trips_that_move_together_correlate_in_rtt_co_move_and_independent_ones_do_not) {
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> ms(0.001, 0.009);
  std::vector<double> a(400), b(400);
  for (double& v : a) v = ms(rng);
  for (double& v : b) v = ms(rng);
  // Both peers answer each AppendEntries after the same time (one load moves both): their pairs at gap 0 (one
  // broadcast) correlate fully; successive sends (10 ms apart: the 8-32 ms bin) do not.
  const json together = co_move_of([&](std::size_t k) { return a[k]; }, [&](std::size_t k) { return a[k]; });
  EXPECT_EQ(together["gap_upper_seconds"].size() + 1, together["pairs"].size());
  EXPECT_GT(together["pairs"][0].get<std::uint64_t>(), 300u);  // ~350: from each peer's 50th sample on
  EXPECT_GT(co_move_r(together, 0), 0.9);
  EXPECT_NEAR(co_move_r(together, 3), 0.0, 0.15);
  // Independent answer times: nothing in common at any gap.
  const json apart = co_move_of([&](std::size_t k) { return a[k]; }, [&](std::size_t k) { return b[k]; });
  EXPECT_NEAR(co_move_r(apart, 0), 0.0, 0.15);
  EXPECT_NEAR(co_move_r(apart, 3), 0.0, 0.15);
  // A peer with fewer than kCoMinCount samples gives no pairs yet.
  LatencyModel fresh;
  fresh.on_send(msg(raft::MessageType::MSG_APP, 1, 0, 1), 2, Clock::time_point{});
  fresh.on_receive(msg(raft::MessageType::MSG_APP_RESP, 2, 1), Clock::time_point{} + milliseconds(3));
  EXPECT_EQ(fresh.model_json()["rtt_co_move"]["pairs"][0], 0u);
}

TEST(LatencyModel, A_learners_paced_answers_stay_out_of_rtt_co_move) {
  // Voters 1, 2, 3; 4 is a learner. 100 AppendEntries to 2 and 4: 2's round trips are paired, 4's are timed in its
  // own histogram but never paired (its answers wait for the pacing, not for the links).
  LatencyModel m;
  m.set_voters({1, 2, 3});
  const Clock::time_point t0{};
  for (std::uint64_t k = 0; k < 100; ++k) {
    const Clock::time_point sent = t0 + milliseconds(10 * static_cast<int>(k));
    for (raft::NodeId to : {raft::NodeId{2}, raft::NodeId{4}}) {
      m.on_send(msg(raft::MessageType::MSG_APP, 1, k, 1), to, sent);
      m.on_receive(msg(raft::MessageType::MSG_APP_RESP, to, k + 1),
                   sent + std::chrono::microseconds(1000 + 37 * static_cast<int>(k % 50) + 500 * static_cast<int>(to)));
    }
  }
  const json j = m.model_json();
  EXPECT_EQ(j["peers"]["4"]["append_rtt_seconds"]["count"], 100u);
  std::uint64_t pairs = 0;
  for (const json& n : j["rtt_co_move"]["pairs"]) pairs += n.get<std::uint64_t>();
  // 2's samples from its 50th on: 50 scored, each paired with the scored ones before it (at most 64).
  EXPECT_EQ(pairs, 50u * 49u / 2u);
}

TEST(LatencyModel, Heartbeats_and_votes_are_matched_in_order) {
  LatencyModel m;
  const Clock::time_point t0{};
  m.on_send(msg(raft::MessageType::MSG_HEARTBEAT, 1), 2, t0);
  m.on_send(msg(raft::MessageType::MSG_HEARTBEAT, 1), 2, t0 + milliseconds(100));
  m.on_receive(msg(raft::MessageType::MSG_HEARTBEAT_RESP, 2), t0 + milliseconds(60));
  m.on_receive(msg(raft::MessageType::MSG_HEARTBEAT_RESP, 2), t0 + milliseconds(160));
  m.on_send(msg(raft::MessageType::MSG_PRE_VOTE, 1), 2, t0);
  m.on_receive(msg(raft::MessageType::MSG_PRE_VOTE_RESP, 2), t0 + milliseconds(7));
  m.on_receive(msg(raft::MessageType::MSG_HEARTBEAT_RESP, 9), t0 + milliseconds(7));  // unknown peer: ignored
  const json p = m.model_json()["peers"]["2"];
  EXPECT_EQ(p["heartbeat_rtt_seconds"]["count"], 2u);
  EXPECT_NEAR(sum_of(p["heartbeat_rtt_seconds"]), 0.120, 1e-9);
  EXPECT_NEAR(sum_of(p["vote_rtt_seconds"]), 0.007, 1e-9);
  EXPECT_FALSE(m.model_json()["peers"].contains("9"));
}

TEST(LatencyModel, A_full_ring_forgets_the_oldest_send) {
  LatencyModel m;
  const Clock::time_point t0{};
  for (int i = 0; i < 40; ++i) m.on_send(msg(raft::MessageType::MSG_HEARTBEAT, 1), 2, t0 + milliseconds(i));
  m.on_receive(msg(raft::MessageType::MSG_HEARTBEAT_RESP, 2), t0 + milliseconds(50));
  // The oldest kept is the 9th send (40 - 32 = 8 forgotten): 50 - 8 ms.
  EXPECT_NEAR(sum_of(m.model_json()["peers"]["2"]["heartbeat_rtt_seconds"]), 0.042, 1e-9);
}

TEST(LatencyModel, Sends_are_timed_from_when_their_lines_are_written) {
  // A leader's AppendEntries is made before its fsync, but raftbgpd writes it after the ready loop: the stamp.
  LatencyModel m;
  const Clock::time_point t0{};
  m.on_send(msg(raft::MessageType::MSG_APP, 1, 0, 1), 2, t0);
  m.on_send(msg(raft::MessageType::MSG_HEARTBEAT, 1), 2, t0);
  m.stamp_sends(t0 + milliseconds(3));
  m.on_send(msg(raft::MessageType::MSG_APP, 1, 1, 1), 2, t0 + milliseconds(4));
  m.stamp_sends(t0 + milliseconds(4));
  m.stamp_sends(t0 + milliseconds(9));  // nothing new: earlier stamps stay
  m.on_receive(msg(raft::MessageType::MSG_APP_RESP, 2, 2), t0 + milliseconds(10));
  m.on_receive(msg(raft::MessageType::MSG_HEARTBEAT_RESP, 2), t0 + milliseconds(10));
  const json p = m.model_json()["peers"]["2"];
  EXPECT_NEAR(sum_of(p["append_rtt_seconds"]), 0.007 + 0.006, 1e-9);
  EXPECT_NEAR(sum_of(p["heartbeat_rtt_seconds"]), 0.007, 1e-9);
}

TEST(LatencyModel, An_answer_delivered_right_after_a_loop_that_synced_is_timed_to_the_middle_of_that_loop) {
  // The agent's one thread reads nothing while it persists: an answer that arrived during our fsync is delivered
  // when the loop ends. The predictor simulates that wait, so the round trip must not hold it too.
  LatencyModel m;
  const Clock::time_point t0{};
  m.on_send(msg(raft::MessageType::MSG_APP, 1, 0, 1), 2, t0);
  m.on_send(msg(raft::MessageType::MSG_APP, 1, 0, 1), 3, t0);
  m.stamp_sends(t0);
  m.on_propose(2, t0 + milliseconds(2));  // the next write: its loop syncs until t0 + 10 ms
  m.on_send(msg(raft::MessageType::MSG_APP, 1, 1, 1), 2, t0 + milliseconds(10));
  m.on_send(msg(raft::MessageType::MSG_APP, 1, 1, 1), 3, t0 + milliseconds(10));
  m.on_fsync(0.006);
  m.stamp_sends(t0 + milliseconds(10));
  m.on_receive(msg(raft::MessageType::MSG_APP_RESP, 2, 1), t0 + milliseconds(10) + std::chrono::microseconds(100));
  m.on_receive(msg(raft::MessageType::MSG_APP_RESP, 3, 1), t0 + milliseconds(11));  // after the loop: as delivered
  const json j = m.model_json();
  EXPECT_NEAR(sum_of(j["peers"]["2"]["append_rtt_seconds"]), 0.006, 1e-9);  // (2 + 10) / 2 ms
  EXPECT_NEAR(sum_of(j["peers"]["3"]["append_rtt_seconds"]), 0.011, 1e-9);
  EXPECT_EQ(j["queued_answers"], 1u);
}

TEST(LatencyModel, A_follower_times_its_answer_from_the_first_unanswered_append) {
  LatencyModel m;
  const Clock::time_point t0{};
  m.on_receive(msg(raft::MessageType::MSG_APP, 1, 0, 1), t0);                    // entry 1
  m.on_receive(msg(raft::MessageType::MSG_APP, 1, 1, 1), t0 + milliseconds(1));  // entry 2
  m.on_send(msg(raft::MessageType::MSG_APP_RESP, 2, 2), 1, t0 + milliseconds(2));
  m.stamp_sends(t0 + milliseconds(3));
  raft::Message rejected = msg(raft::MessageType::MSG_APP_RESP, 2, 2);
  rejected.set_reject(true);
  m.on_receive(msg(raft::MessageType::MSG_APP, 1, 2, 1), t0 + milliseconds(10));
  m.on_send(rejected, 1, t0 + milliseconds(11));  // not an acknowledgement
  m.stamp_sends(t0 + milliseconds(12));
  const json s = m.model_json()["append_service_seconds"];
  EXPECT_EQ(s["count"], 1u);
  EXPECT_NEAR(sum_of(s), 0.003, 1e-9);
}

TEST(LatencyModel, A_leader_times_a_proposal_to_the_write_of_the_first_append_carrying_it) {
  LatencyModel m;
  const Clock::time_point t0{};
  m.on_propose(5, t0);
  m.on_propose(6, t0 + milliseconds(1));                                         // timed from the oldest waiting
  m.on_send(msg(raft::MessageType::MSG_APP, 1, 3, 1), 2, t0 + milliseconds(1));  // up to 4: not it
  m.stamp_sends(t0 + milliseconds(2));
  m.on_send(msg(raft::MessageType::MSG_APP, 1, 4, 2), 2, t0 + milliseconds(2));  // up to 6
  m.stamp_sends(t0 + milliseconds(4));
  const json s = m.model_json()["propose_service_seconds"];
  EXPECT_EQ(s["count"], 1u);
  EXPECT_NEAR(sum_of(s), 0.004, 1e-9);
}

TEST(LatencyModel, Leaderless_time_and_campaigns_come_from_the_soft_state) {
  LatencyModel m;
  const Clock::time_point t0{};
  m.on_soft_state(1, raft::Role::kFollower, t0);
  m.on_soft_state(raft::kNoNode, raft::Role::kPreCandidate, t0 + milliseconds(1000));
  m.on_soft_state(raft::kNoNode, raft::Role::kCandidate, t0 + milliseconds(1100));
  m.on_soft_state(2, raft::Role::kLeader, t0 + milliseconds(1250));
  const json e = m.model_json()["elections"];
  EXPECT_EQ(e["campaigns"], 1u);
  EXPECT_EQ(e["won"], 1u);
  EXPECT_EQ(e["leader_changes"], 2u);
  EXPECT_EQ(e["leaderless_seconds"]["count"], 1u);
  EXPECT_NEAR(sum_of(e["leaderless_seconds"]), 0.25, 1e-9);
}

// A learner holds its plain heartbeat answers and drops those behind a newer one (ack_pacing.h), so its answers
// are fewer than the leader's heartbeats and in-order matching would pair an answer with an older heartbeat (a
// round trip of up to hold_ticks too long). The leader times heartbeats to voters only.
TEST(LatencyModel, A_leader_does_not_time_heartbeats_to_learners) {
  AgentNet net(4, {1, 2, 3}, [](AgentConfig& c) {
    c.learners = {4};
    c.joining = false;
    c.quiesce.after_ticks = 0;  // a quiet leader would stop heartbeating
  });
  net.start_all();
  const int lead = net.wait_leader();
  ASSERT_GE(lead, 0);
  ASSERT_NE(lead, 3);  // a learner does not campaign
  ASSERT_TRUE(net.request(static_cast<std::size_t>(lead), "kv.put", {{"key", "k"}, {"value", "v"}}, "c", 1).ok);
  net.settle(200);
  const ClientResponse r = net.request(static_cast<std::size_t>(lead), "debug.model", json::object());
  ASSERT_TRUE(r.ok) << r.message;
  const json& peers = r.result["peers"];
  for (std::size_t i = 0; i < 3; ++i) {
    if (static_cast<int>(i) == lead) continue;
    EXPECT_GT(peers[std::to_string(i + 1)]["heartbeat_rtt_seconds"]["count"], 0u) << "voter " << i + 1;
  }
  ASSERT_TRUE(peers.contains("4"));  // its AppendEntries answers are matched by index, and timed
  EXPECT_EQ(peers["4"]["heartbeat_rtt_seconds"]["count"], 0u);
}

TEST(LatencyModel, A_cluster_measures_its_links_and_exports_them_in_status_metrics_and_the_model_file) {
  AgentNet net(3, {1, 2, 3});
  net.start_all();
  const int lead = net.wait_leader();
  ASSERT_GE(lead, 0);
  for (std::uint64_t seq = 1; seq <= 5; ++seq)
    ASSERT_TRUE(net.request(static_cast<std::size_t>(lead), "kv.put", {{"key", "k"}, {"value", "v"}}, "c", seq).ok);
  net.settle();
  const ClientResponse r = net.request(static_cast<std::size_t>(lead), "debug.model", json::object());
  ASSERT_TRUE(r.ok) << r.message;
  const json& model = r.result;
  EXPECT_EQ(model["format"], "raftbgp-latency-model/1");
  EXPECT_EQ(model["node_id"], lead + 1);
  EXPECT_EQ(model["timers"]["election_ticks"], net.config(0).election_ticks);
  EXPECT_GT(model["fsync_seconds"]["count"], 0u);
  EXPECT_GT(model["propose_service_seconds"]["count"], 0u);
  // The followers timed their answers.
  const ClientResponse fm = net.request(static_cast<std::size_t>((lead + 1) % 3), "debug.model", json::object());
  EXPECT_GT(fm.result["append_service_seconds"]["count"], 0u);
  EXPECT_GT(model["apply_seconds"]["count"], 0u);
  for (std::size_t i = 0; i < 3; ++i) {
    if (static_cast<int>(i) == lead) continue;
    EXPECT_GT(model["peers"][std::to_string(i + 1)]["append_rtt_seconds"]["count"], 0u) << "peer " << i + 1;
  }
  const json status = net.core(static_cast<std::size_t>(lead)).status_json();
  EXPECT_EQ(status["latency_model"]["fsync_seconds"]["bounds"].size(), 19u);
  const std::string text = serialize_metrics(status_to_families(status));
  EXPECT_NE(text.find("raftbgp_model_append_rtt_seconds_bucket{peer=\""), std::string::npos);
  EXPECT_NE(text.find("raftbgp_model_fsync_duration_seconds_count"), std::string::npos);
  EXPECT_NE(text.find("raftbgp_model_campaigns_total"), std::string::npos);
}

}  // namespace
}  // namespace raftbgp::agent::test
