// raftbgp-predict (predictor/include/raftbgp/predict/simulator.h): the real core over synthetic models whose answers
// are known. Constant delays give exact commit latencies (two link delays and the follower's fsync; the leader's own
// fsync overlaps them, a slow one bounds it; a forward and the commit's broadcast add one link each); propagation and
// PBS visibility are one link; elections fall inside the randomized timeout's window; model files from agents and
// topology YAML load into the same figures.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "raftbgp/agent/latency_model.h"
#include "raftbgp/predict/model.h"
#include "raftbgp/predict/simulator.h"

namespace raftbgp::predict {
namespace {

using nlohmann::json;

Model constant_model(int nodes, double link_ms, double fsync_ms, double apply_ms = 0) {
  Model m;
  for (int i = 1; i <= nodes; ++i) m.voters.push_back(static_cast<NodeId>(i));
  m.leader = 1;
  m.default_link = Distribution::constant(link_ms * 1000);
  m.default_fsync = Distribution::constant(fsync_ms * 1000);
  m.default_apply = Distribution::constant(apply_ms * 1000);
  return m;
}

TEST(Predictor, Constant_delays_give_an_exact_commit_latency_at_the_leader) {
  // Leader: the AppendEntries leave before its own 1 ms fsync (the output hook), 2 ms, the follower's 1 ms fsync,
  // 2 ms back: 5 ms, every time.
  const CommitFigures f = simulate_commits(constant_model(3, 2, 1), 1, 2000, 4, 7);
  ASSERT_EQ(f.latency_ms.size(), 2000u);
  EXPECT_DOUBLE_EQ(quantile(f.latency_ms, 0.0), 5.0);
  EXPECT_DOUBLE_EQ(quantile(f.latency_ms, 1.0), 5.0);
  EXPECT_EQ(f.refused, 0u);
}

TEST(Predictor, Constant_delays_give_an_exact_commit_latency_at_a_follower) {
  // The forward (2 ms), the leader's 5 ms, and the commit's broadcast back (2 ms; a commit needs no fsync): 9 ms.
  const CommitFigures f = simulate_commits(constant_model(3, 2, 1), 2, 2000, 4, 7);
  ASSERT_EQ(f.latency_ms.size(), 2000u);
  EXPECT_DOUBLE_EQ(quantile(f.latency_ms, 0.0), 9.0);
  EXPECT_DOUBLE_EQ(quantile(f.latency_ms, 1.0), 9.0);
}

TEST(Predictor, A_slow_leader_disk_delays_the_commit_by_its_fsync) {
  // No disk: 1 ms there and back. With a 10 ms leader fsync the AppendEntries still leave first (the output hook),
  // but the answers wait for the fsync, and so does the leader's own vote in the quorum: 10 ms.
  const CommitFigures f = simulate_commits(constant_model(5, 1, 0), 1, 500, 2, 3);
  EXPECT_DOUBLE_EQ(quantile(f.latency_ms, 0.5), 2.0);
  Model slow = constant_model(5, 1, 0);
  slow.fsync[1] = Distribution::constant(10000);
  const CommitFigures g = simulate_commits(slow, 1, 500, 2, 3);
  EXPECT_DOUBLE_EQ(quantile(g.latency_ms, 0.0), 10.0);
  EXPECT_DOUBLE_EQ(quantile(g.latency_ms, 1.0), 10.0);
}

TEST(Predictor, Propagation_and_pbs_visibility_are_one_link_after_the_leader_applies) {
  const CommitFigures f = simulate_commits(constant_model(3, 2, 1), 1, 1000, 2, 11);
  ASSERT_EQ(f.propagation_ms.size(), 1000u);
  EXPECT_DOUBLE_EQ(quantile(f.propagation_ms, 0.0), 2.0);
  EXPECT_DOUBLE_EQ(quantile(f.propagation_ms, 1.0), 2.0);
  EXPECT_EQ(f.follower_delay_ms.size(), 2000u);
  EXPECT_DOUBLE_EQ(visibility(f.follower_delay_ms, 1.99), 0.0);
  EXPECT_DOUBLE_EQ(visibility(f.follower_delay_ms, 2.0), 1.0);
}

TEST(Predictor, The_commit_waits_for_the_quorums_fastest_followers_and_no_more) {
  // Five voters, no disk: the leader and its two fastest followers are a quorum. Followers 2 and 3 at 1 ms, 4 and 5
  // at 10 ms: 2 ms. With follower 3 slow too, the third vote is a 10 ms one: 20 ms.
  Model m = constant_model(5, 10, 0);
  for (NodeId f : {NodeId{2}, NodeId{3}}) m.links[{1, f}] = m.links[{f, 1}] = Distribution::constant(1000);
  const CommitFigures fast = simulate_commits(m, 1, 500, 2, 1);
  EXPECT_DOUBLE_EQ(quantile(fast.latency_ms, 0.0), 2.0);
  EXPECT_DOUBLE_EQ(quantile(fast.latency_ms, 1.0), 2.0);
  m.links.erase({1, 3});
  m.links.erase({3, 1});
  const CommitFigures slow = simulate_commits(m, 1, 500, 2, 1);
  EXPECT_DOUBLE_EQ(quantile(slow.latency_ms, 0.0), 20.0);
  EXPECT_DOUBLE_EQ(quantile(slow.latency_ms, 1.0), 20.0);
  // Propagation waits for the slowest member: the leader's commit news takes 10 ms to node 5.
  EXPECT_DOUBLE_EQ(quantile(slow.propagation_ms, 1.0), 10.0);
}

TEST(Predictor, Half_of_a_round_trip_adds_back_up_to_it_tail_included) {
  // A heavy-tailed round trip: 3 ms plus an exponential of mean 2 ms. Two independent draws of its "half" must give
  // its quantiles back, the p99 too (halving each sample would give the mean of two, with a far lighter tail).
  const Distribution rtt = Distribution::sum({Distribution::constant(3000), Distribution::exponential(2000)});
  const Distribution half = Distribution::half_of(rtt, 50);
  Rng rng(3);
  std::vector<double> sums(200000), halves(200000);
  for (double& v : sums) v = half.sample(rng) + half.sample(rng);
  for (double& v : halves) v = (rtt.sample(rng) + rtt.sample(rng)) / 2;
  for (double q : {0.5, 0.9, 0.99})
    EXPECT_NEAR(quantile(sums, q), rtt.quantile_estimate(q, 200001), 0.05 * rtt.quantile_estimate(q, 200001)) << q;
  EXPECT_LT(quantile(halves, 0.99), 0.85 * rtt.quantile_estimate(0.99, 200001));  // what halving would lose
}

TEST(Predictor, A_round_trip_less_the_peers_service_leaves_the_services_spread_to_the_peer) {
  // Two 1 ms links and a peer whose service (fsync and work) is 2 ms plus an exponential of mean 4 ms: the round trip
  // the leader measures. Taking the service off at its median left its spread in the links (p99 of one way ~5x too
  // long); taken off as a distribution, the links come back as they are, and link + service + link adds up again.
  const Distribution service = Distribution::sum({Distribution::constant(2000), Distribution::exponential(4000)});
  const Distribution rtt = Distribution::sum({Distribution::constant(2000), service});
  const Distribution one = Distribution::half_of(rtt, 50, service);
  EXPECT_NEAR(one.quantile_estimate(0.5, 20001), 1000, 150);
  EXPECT_LT(one.quantile_estimate(0.99, 20001), 1500);
  const Distribution by_median =
      Distribution::half_of(Distribution::affine(rtt, 1.0, -service.quantile_estimate(0.5, 20001), 50), 50);
  EXPECT_GT(by_median.quantile_estimate(0.99, 20001), 4000);  // what the median took off
  Rng rng(5);
  std::vector<double> sums(200000);
  for (double& v : sums) v = one.sample(rng) + service.sample(rng) + one.sample(rng);
  for (double q : {0.5, 0.9, 0.99})
    EXPECT_NEAR(quantile(sums, q), rtt.quantile_estimate(q, 200001), 0.05 * rtt.quantile_estimate(q, 200001)) << q;
}

TEST(Predictor, Halves_that_move_together_need_less_spread_to_add_up_to_the_round_trip) {
  // The same round trip split with the way out and back correlated (co_move): each half has less spread and the same
  // total, and two correlated draws add back up to the round trip. Fully together, a half is the round trip halved.
  const Distribution rtt = Distribution::sum({Distribution::constant(2000), Distribution::exponential(2000)});
  const Distribution apart = Distribution::half_of(rtt, 50);
  const Distribution together = Distribution::half_of(rtt, 50, Distribution::constant(0), 0.9);
  const auto spread = [](const Distribution& d) {
    return d.quantile_estimate(0.9, 20001) - d.quantile_estimate(0.1, 20001);
  };
  EXPECT_LT(spread(together), 0.85 * spread(apart));
  EXPECT_NEAR(together.quantile_estimate(0.9, 20001), rtt.quantile_estimate(0.9, 20001) / 2,
              0.05 * rtt.quantile_estimate(0.9, 20001) / 2);
  Rng rng(9);
  std::normal_distribution<double> normal;
  const std::vector<double> table = together.quantile_table(4096);
  const auto at = [&](double z) {
    return table[std::min(table.size() - 1,
                          static_cast<std::size_t>(normal_cdf(z) * static_cast<double>(table.size())))];
  };
  std::vector<double> sums(100000);
  for (double& v : sums) {
    const double z1 = normal(rng), z2 = 0.9 * z1 + std::sqrt(1 - 0.81) * normal(rng);
    v = at(z1) + at(z2);
  }
  for (double q : {0.5, 0.9, 0.99})
    EXPECT_NEAR(quantile(sums, q), rtt.quantile_estimate(q, 200001), 0.06 * rtt.quantile_estimate(q, 200001)) << q;
}

// Spearman's rank correlation of (v[0], v[1]), (v[2], v[3]), ...: the two followers' delays of each write.
double pair_rank_correlation(const std::vector<double>& v) {
  const std::size_t n = v.size() / 2;
  std::vector<double> rx(n), ry(n);
  const auto ranks = [&](std::size_t off, std::vector<double>& r) {
    std::vector<std::size_t> idx(n);
    for (std::size_t i = 0; i < n; ++i) idx[i] = i;
    std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return v[2 * a + off] < v[2 * b + off]; });
    for (std::size_t k = 0; k < n; ++k) r[idx[k]] = static_cast<double>(k);
  };
  ranks(0, rx), ranks(1, ry);
  const double mean = (static_cast<double>(n) - 1) / 2;
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < n; ++i) sxy += (rx[i] - mean) * (ry[i] - mean), sxx += (rx[i] - mean) * (rx[i] - mean);
  return sxy / sxx;
}

TEST(Predictor, Links_that_move_together_deliver_one_broadcast_alike_and_keep_each_links_distribution) {
  // Three nodes, no disk, every link 0.5 ms plus an exponential of mean 2 ms. Drawn independently, the two followers
  // learn a commit at unrelated times, and the later of the two (the propagation) is late. With the links moving
  // together (co_move 0.95) the leader's commit notice reaches both nearly alike: the delays correlate more, the
  // propagation shrinks, and one follower's delay is distributed as the link is. One write per cluster (3,000
  // clusters): successive writes would also queue behind each other's slow messages (a link is FIFO), less so when
  // the draws move together, which would blur what is tested here.
  Model m = constant_model(3, 0, 0);
  m.default_link = Distribution::sum({Distribution::constant(500), Distribution::exponential(2000)});
  const CommitFigures apart = simulate_commits(m, 1, 3000, 3000, 5);
  m.co_move = 0.95;
  m.co_move_tau_us = 20000;
  EXPECT_NEAR(co_move_at(m, 0), 0.95, 1e-12);
  EXPECT_NEAR(co_move_at(m, 20000), 0.95 / std::exp(1.0), 1e-9);
  const CommitFigures together = simulate_commits(m, 1, 3000, 3000, 5);
  ASSERT_EQ(together.follower_delay_ms.size(), 6000u);
  // (Apart, the two delays still share their start, the leader's apply, which the first answer sets.)
  EXPECT_GT(pair_rank_correlation(together.follower_delay_ms), pair_rank_correlation(apart.follower_delay_ms) + 0.3);
  EXPECT_LT(quantile(together.propagation_ms, 0.5), 0.85 * quantile(apart.propagation_ms, 0.5));
  const double link_p50 = m.default_link.quantile_estimate(0.5, 20001) / 1000;
  EXPECT_NEAR(quantile(together.follower_delay_ms, 0.5), link_p50, 0.1 * link_p50);
  EXPECT_NEAR(quantile(apart.follower_delay_ms, 0.5), link_p50, 0.1 * link_p50);
}

TEST(Predictor, Election_after_a_leader_crash_falls_inside_the_randomized_timeout_window) {
  // tick 100 ms, election 10 ticks: a follower campaigns 10..20 ticks after its last heartbeat, then a pre-vote and
  // a vote round (4 x 1 ms + fsyncs of the vote). The last heartbeat reached the followers up to one tick before the
  // crash and their ticks have their own phase: never faster than 10 - 1 - 1 ticks; nearly always within 2 timeouts.
  const ElectionFigures e = simulate_elections(constant_model(3, 1, 0.5), 300, 9);
  ASSERT_EQ(e.unfinished, 0u);
  ASSERT_EQ(e.election_ms.size(), 300u);
  EXPECT_GE(quantile(e.election_ms, 0.0), 800.0);
  EXPECT_LE(quantile(e.election_ms, 0.95), 2 * 2000.0);
  EXPECT_GT(quantile(e.election_ms, 0.5), 1000.0);
  EXPECT_LT(quantile(e.election_ms, 0.5), 1700.0);
}

TEST(Predictor, The_same_seed_gives_the_same_figures) {
  Model m = constant_model(3, 0, 0);
  m.default_link = Distribution::uniform(500, 3000);
  m.default_fsync = Distribution::normal(1000, 300);
  const CommitFigures a = simulate_commits(m, 2, 300, 3, 42), b = simulate_commits(m, 2, 300, 3, 42);
  EXPECT_EQ(a.latency_ms, b.latency_ms);
  EXPECT_EQ(simulate_elections(m, 20, 4).election_ms, simulate_elections(m, 20, 4).election_ms);
}

// A model file as raftbgpctl debug model writes it, from the agent's own histograms.
json dump(NodeId id, const std::string& role, double fsync_s, std::map<NodeId, double> append_rtt_s,
          double propose_service_s = 0) {
  agent::ModelHistogram fs, ap;
  for (int i = 0; i < 100; ++i) fs.observe(fsync_s);
  if (propose_service_s > 0)
    for (int i = 0; i < 100; ++i) ap.observe(propose_service_s);
  json peers = json::object();
  for (const auto& [peer, rtt] : append_rtt_s) {
    agent::ModelHistogram h;
    for (int i = 0; i < 100; ++i) h.observe(rtt);
    peers[std::to_string(peer)] = json{{"append_rtt_seconds", h.to_json()},
                                       {"heartbeat_rtt_seconds", agent::ModelHistogram().to_json()},
                                       {"vote_rtt_seconds", agent::ModelHistogram().to_json()}};
  }
  return json{{"format", "raftbgp-latency-model/1"},
              {"node_id", id},
              {"role", role},
              {"leader", 1},
              {"voters", {1, 2, 3}},
              {"timers", {{"tick_ms", 100}, {"election_ticks", 10}, {"heartbeat_ticks", 1}}},
              {"fsync_seconds", fs.to_json()},
              {"apply_seconds", agent::ModelHistogram().to_json()},
              {"propose_service_seconds", ap.to_json()},
              {"peers", peers}};
}

// An rtt_co_move block (latency_model.h) whose bins correlate by rho * exp(-gap / tau), 1000 pairs each.
json co_move_bins(double rho, double tau_s, std::uint64_t pairs = 1000) {
  const std::vector<double> upper = {0.0005, 0.002, 0.008, 0.032, 0.128, 0.512, 2.048};
  json c{{"gap_upper_seconds", upper}};
  for (const char* k : {"pairs", "sum_x", "sum_y", "sum_xx", "sum_yy", "sum_xy"}) c[k] = json::array();
  for (std::size_t k = 0; k <= upper.size(); ++k) {
    const double gap = k == 0 ? upper[0] / 2 : k < upper.size() ? std::sqrt(upper[k - 1] * upper[k]) : 10;
    const double n = static_cast<double>(pairs);
    c["pairs"].push_back(pairs);
    c["sum_x"].push_back(0.0), c["sum_y"].push_back(0.0);
    c["sum_xx"].push_back(n), c["sum_yy"].push_back(n);
    c["sum_xy"].push_back(n * rho * std::exp(-gap / tau_s));
  }
  return c;
}

TEST(Predictor, Co_move_is_fitted_to_the_measured_bins_and_needs_enough_pairs) {
  const auto fit = fit_co_move(co_move_bins(0.45, 0.020));
  ASSERT_TRUE(fit.has_value());
  EXPECT_NEAR(fit->first, 0.45, 0.02);
  EXPECT_NEAR(fit->second, 20000, 0.2 * 20000);
  EXPECT_FALSE(fit_co_move(co_move_bins(0.45, 0.020, 10)).has_value());  // bins under 30 pairs are not used
  EXPECT_FALSE(fit_co_move(json()).has_value());
  // From model files: the leader's bins set the model's co_move (and say so); --co-move 0,0 overrides them.
  json leader = dump(1, "leader", 0.002, {{2, 0.010}, {3, 0.010}});
  leader["rtt_co_move"] = co_move_bins(0.45, 0.020);
  const std::vector<std::string> files = {leader.dump(), dump(2, "follower", 0.002, {}).dump()};
  auto loaded = model_from_dumps(files);
  ASSERT_TRUE(std::holds_alternative<Model>(loaded)) << std::get<std::string>(loaded);
  EXPECT_NEAR(std::get<Model>(loaded).co_move, 0.45, 0.02);
  auto independent = model_from_dumps(files, std::make_pair(0.0, 0.0));
  ASSERT_TRUE(std::holds_alternative<Model>(independent));
  EXPECT_EQ(std::get<Model>(independent).co_move, 0.0);
  // A topology YAML says it itself, and a bad one is refused naming the key.
  auto yaml = model_from_yaml("nodes: [1, 2, 3]\npath: 2\nco_move: {rho: 0.5, tau_ms: 30}\n");
  ASSERT_TRUE(std::holds_alternative<Model>(yaml)) << std::get<std::string>(yaml);
  EXPECT_EQ(std::get<Model>(yaml).co_move, 0.5);
  EXPECT_EQ(std::get<Model>(yaml).co_move_tau_us, 30000);
  auto bad = model_from_yaml("nodes: [1, 2, 3]\npath: 2\nco_move: {rho: 1.5, tau_ms: 30}\n");
  ASSERT_TRUE(std::holds_alternative<std::string>(bad));
  EXPECT_NE(std::get<std::string>(bad).find("co_move"), std::string::npos);
}

TEST(Predictor, Model_files_give_back_the_measured_round_trip_as_the_commit_latency) {
  // The leader measured 10 ms AppendEntries round trips (from the write) to both followers, whose fsync is 2 ms:
  // links of 4 ms, and a predicted commit of 4 + 2 + 4 = 10 ms (the leader's own 2 ms fsync overlaps the first link),
  // within the buckets' width (+-9%).
  auto loaded = model_from_dumps({dump(1, "leader", 0.002, {{2, 0.010}, {3, 0.010}}).dump(),
                                  dump(2, "follower", 0.002, {}).dump(), dump(3, "follower", 0.002, {}).dump()});
  ASSERT_TRUE(std::holds_alternative<Model>(loaded)) << std::get<std::string>(loaded);
  const Model& m = std::get<Model>(loaded);
  EXPECT_EQ(m.leader, 1u);
  EXPECT_EQ(m.links.size(), 4u);  // 1<->2, 1<->3
  const CommitFigures f = simulate_commits(m, 1, 5000, 5, 1);
  EXPECT_NEAR(quantile(f.latency_ms, 0.5), 10.0, 1.0);
  // A learner's round trips (held answers) are no link of the simulation, nor part of the mixture.
  json with_learner = dump(1, "leader", 0.002, {{2, 0.010}, {3, 0.010}, {4, 0.300}});
  with_learner["learners"] = {4};
  auto l = model_from_dumps({with_learner.dump(), dump(2, "follower", 0.002, {}).dump()});
  ASSERT_TRUE(std::holds_alternative<Model>(l)) << std::get<std::string>(l);
  EXPECT_EQ(std::get<Model>(l).links.count({1, 4}), 0u);
  EXPECT_LT(std::get<Model>(l).default_link.quantile_estimate(0.99), 6000);
  // Link 2-3 was not measured: the mixture of the measured ones (said in the notes).
  bool said = false;
  for (const std::string& n : m.notes) said |= n.find("2-3: not measured") != std::string::npos;
  EXPECT_TRUE(said);
  EXPECT_TRUE(std::holds_alternative<std::string>(model_from_dumps({"{\"format\": \"other\"}"})));
}

TEST(Predictor, A_leaders_AppendEntries_leave_after_its_measured_work_and_before_its_fsync) {
  // The leader took 3 ms from a proposal to its AppendEntries' write (propose_service: the agent's work before the
  // output hook, which holds the replay state's save and its fsync) and then fsyncs for 2 ms; its round trips are
  // 10 ms from the write. Its commit is 3 + 10 = 13 ms; its own fsync ends long before the answers arrive. (Drawing
  // the 3 ms as the loop's whole cost, with the AppendEntries out at its start, predicted 10 ms.)
  auto loaded = model_from_dumps({dump(1, "leader", 0.002, {{2, 0.010}, {3, 0.010}}, 0.003).dump(),
                                  dump(2, "follower", 0.002, {}).dump(), dump(3, "follower", 0.002, {}).dump()});
  ASSERT_TRUE(std::holds_alternative<Model>(loaded)) << std::get<std::string>(loaded);
  const CommitFigures f = simulate_commits(std::get<Model>(loaded), 1, 5000, 5, 1);
  EXPECT_NEAR(quantile(f.latency_ms, 0.5), 13.0, 1.2);
  // A slow fsync after the write bounds the commit: 3 + 20 ms.
  auto slow = model_from_dumps({dump(1, "leader", 0.020, {{2, 0.010}, {3, 0.010}}, 0.003).dump(),
                                dump(2, "follower", 0.002, {}).dump(), dump(3, "follower", 0.002, {}).dump()});
  ASSERT_TRUE(std::holds_alternative<Model>(slow)) << std::get<std::string>(slow);
  EXPECT_NEAR(quantile(simulate_commits(std::get<Model>(slow), 1, 5000, 5, 1).latency_ms, 0.5), 23.0, 2.3);
}

TEST(Predictor, A_link_is_taken_from_the_best_measurement_of_either_end) {
  // Node 1 once campaigned while 2 was still starting: 30 slow vote round trips. Node 2, the leader, has 100
  // AppendEntries round trips to 1 (10 ms): those decide the link 1-2, whichever file comes first.
  json one = dump(1, "follower", 0.002, {});
  agent::ModelHistogram slow;
  for (int i = 0; i < 30; ++i) slow.observe(0.8);
  one["peers"]["2"] = json{{"append_rtt_seconds", agent::ModelHistogram().to_json()},
                           {"heartbeat_rtt_seconds", agent::ModelHistogram().to_json()},
                           {"vote_rtt_seconds", slow.to_json()}};
  json two = dump(2, "leader", 0.002, {{1, 0.010}, {3, 0.010}});
  two["leader"] = 2;
  auto loaded = model_from_dumps({one.dump(), two.dump(), dump(3, "follower", 0.002, {}).dump()});
  ASSERT_TRUE(std::holds_alternative<Model>(loaded)) << std::get<std::string>(loaded);
  const Model& m = std::get<Model>(loaded);
  EXPECT_LT(m.link(1, 2).quantile_estimate(0.99), 6000);  // ~4 ms, not ~400 ms
  EXPECT_LT(m.link(2, 1).quantile_estimate(0.99), 6000);
}

TEST(Predictor, Topology_yaml_sums_hops_along_a_path) {
  auto loaded = model_from_yaml(R"(
nodes: [1, 2, 3]
timers: {tick_ms: 100, election_ticks: 10}
hops:
  exabgp: 1
  bird: {const: 0.5}
path: [exabgp, bird, exabgp]
links:
  - {from: 1, to: 3, path: [exabgp, bird, bird, bird, exabgp]}
fsync: 1
)");
  ASSERT_TRUE(std::holds_alternative<Model>(loaded)) << std::get<std::string>(loaded);
  const Model& m = std::get<Model>(loaded);
  // Leader 1: 2.5 ms to node 2, 3.5 ms to node 3: the quorum's answer comes from 2 after 2.5 + 1 + 2.5 ms (the
  // leader's own 1 ms fsync overlaps the first hop).
  const CommitFigures f = simulate_commits(m, 1, 200, 1, 1);
  EXPECT_DOUBLE_EQ(quantile(f.latency_ms, 0.5), 6.0);
  // ... and node 3 applies last, 3.5 ms after the leader.
  EXPECT_DOUBLE_EQ(quantile(f.propagation_ms, 0.5), 3.5);
  EXPECT_TRUE(std::holds_alternative<std::string>(model_from_yaml("nodes: [1]\npath: {warp: 3}\n")));
  EXPECT_TRUE(std::holds_alternative<std::string>(model_from_yaml("path: 1\n")));
}

TEST(Predictor, The_shipped_topologies_load) {
  for (const char* name : {"star3-bird", "star3-frr", "ring5"}) {
    std::ifstream f(std::string(RAFTBGP_SOURCE_DIR) + "/predictor/topologies/" + name + ".yaml");
    ASSERT_TRUE(f) << name;
    std::ostringstream text;
    text << f.rdbuf();
    auto loaded = model_from_yaml(text.str());
    EXPECT_TRUE(std::holds_alternative<Model>(loaded)) << name << ": " << std::get<std::string>(loaded);
  }
}

}  // namespace
}  // namespace raftbgp::predict
