// raftbgp-predict: Monte Carlo predictions of a raftbgp cluster's latencies, running the real Raft core over a latency
// model (predictor/include/raftbgp/predict/simulator.h says what is simulated and what is sampled):
//
//   raftbgp-predict --model r1.json --model r2.json ...   model files from `raftbgpctl debug model` (any subset)
//   raftbgp-predict --topology predictor/topologies/star3-bird.yaml
//
// Prints commit latency at the leader and at a follower, propagation to every member, PBS t-visibility and the
// election time after a leader crash (p50/p90/p99/mean, ms); --json prints the same as one JSON object.
// Exit status: 0, or 2 for an unreadable model or bad usage.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "raftbgp/predict/model.h"
#include "raftbgp/predict/simulator.h"

namespace {

using nlohmann::json;
using namespace raftbgp::predict;

bool read_file(const std::string& path, std::string& out) {
  std::ifstream f(path);
  if (!f) return false;
  std::ostringstream s;
  s << f.rdbuf();
  out = s.str();
  return true;
}

json summary(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return json{{"n", v.size()},
              {"p50", quantile(v, 0.5)},
              {"p90", quantile(v, 0.9)},
              {"p99", quantile(v, 0.99)},
              {"mean", v.empty() ? 0.0 : sum / static_cast<double>(v.size())}};
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"raftbgp-predict: Monte Carlo of the Raft core over a measured or hand-written latency model"};
  std::vector<std::string> model_files;
  std::string topology;
  int trials = 100000, election_trials = 2000, runs = 20;
  std::uint64_t seed = 1;
  raftbgp::raft::NodeId leader = 0, follower = 0;
  std::vector<double> visibility_ms = {1, 2, 5, 10, 20, 50, 100};
  bool as_json = false, no_election = false;
  auto* mo =
      app.add_option("--model", model_files, "a model file from `raftbgpctl debug model` (repeat: one per node)");
  auto* to = app.add_option("--topology", topology, "a hand-written topology YAML (predictor/topologies/)");
  mo->excludes(to);
  app.add_option("--trials", trials, "writes simulated at the leader, and again at the follower (default 100000)")
      ->check(CLI::PositiveNumber);
  app.add_option("--election-trials", election_trials, "leader crashes simulated (default 2000)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--runs", runs, "independent clusters the writes are spread over (default 20)")
      ->check(CLI::PositiveNumber);
  app.add_option("--seed", seed, "the simulation's seed (the same seed, model and options give the same figures)");
  app.add_option("--leader", leader, "the node that leads (default: the model's leader)");
  app.add_option("--follower", follower, "the follower whose writes are timed (default: the lowest-id follower)");
  app.add_option("--visibility", visibility_ms, "t (ms) at which to give PBS t-visibility")->delimiter(',');
  std::vector<double> co_move;
  app.add_option("--co-move", co_move,
                 "RHO,TAU_MS: how the links' delays move together, instead of what the model files measured "
                 "(0,0: independent; model.h)")
      ->delimiter(',')
      ->expected(2);
  app.add_flag("--no-election", no_election, "skip the election trials");
  app.add_flag("--json", as_json, "print one JSON object");
  CLI11_PARSE(app, argc, argv);

  std::optional<std::pair<double, double>> over;  // --co-move as {rho, tau_us}
  if (!co_move.empty()) {
    if (!(co_move[0] >= 0 && co_move[0] <= 1) || !(co_move[1] >= 0)) {
      std::cerr << "raftbgp-predict: --co-move needs 0 <= RHO <= 1 and TAU_MS >= 0\n";
      return 2;
    }
    over = std::make_pair(co_move[0], co_move[1] * 1000);
  }
  std::variant<Model, std::string> loaded = std::string("give --model FILE... or --topology FILE");
  if (!topology.empty()) {
    std::string text;
    if (!read_file(topology, text)) {
      std::cerr << "raftbgp-predict: cannot read " << topology << "\n";
      return 2;
    }
    loaded = model_from_yaml(text);
  } else if (!model_files.empty()) {
    std::vector<std::string> texts;
    for (const std::string& f : model_files) {
      if (!read_file(f, texts.emplace_back())) {
        std::cerr << "raftbgp-predict: cannot read " << f << "\n";
        return 2;
      }
    }
    loaded = model_from_dumps(texts, over);
  }
  if (auto* e = std::get_if<std::string>(&loaded)) {
    std::cerr << "raftbgp-predict: " << *e << "\n";
    return 2;
  }
  Model m = std::get<Model>(std::move(loaded));
  if (over && !topology.empty()) {  // a topology's links are given one way: nothing to derive again
    m.co_move = over->first;
    m.co_move_tau_us = over->second;
  }
  if (leader != 0) m.leader = leader;
  if (std::find(m.voters.begin(), m.voters.end(), m.leader) == m.voters.end()) {
    std::cerr << "raftbgp-predict: leader " << m.leader << " is not a voter\n";
    return 2;
  }
  if (follower == 0)
    for (auto id : m.voters)
      if (id != m.leader && (follower == 0 || id < follower)) follower = id;
  if (m.voters.size() < 2 || follower == m.leader ||
      std::find(m.voters.begin(), m.voters.end(), follower) == m.voters.end()) {
    std::cerr << "raftbgp-predict: needs a follower that is a voter other than the leader\n";
    return 2;
  }

  json out{{"leader", m.leader}, {"follower", follower}, {"voters", m.voters}, {"notes", m.notes}};
  auto t = std::chrono::steady_clock::now();
  const CommitFigures at_leader = simulate_commits(m, m.leader, trials, runs, seed);
  const double leader_s = seconds_since(t);
  t = std::chrono::steady_clock::now();
  const CommitFigures at_follower = simulate_commits(m, follower, trials, runs, seed + 1);
  const double follower_s = seconds_since(t);
  out["commit_leader_ms"] = summary(at_leader.latency_ms);
  out["commit_follower_ms"] = summary(at_follower.latency_ms);
  out["propagation_ms"] = summary(at_leader.propagation_ms);
  json vis = json::array();
  for (double v : visibility_ms) vis.push_back(json{{"t_ms", v}, {"p", visibility(at_leader.follower_delay_ms, v)}});
  out["visibility"] = vis;
  out["follower_delay_ms"] = summary(at_leader.follower_delay_ms);
  json timing{{"commit_seconds", leader_s + follower_s},
              {"commit_events", at_leader.events + at_follower.events},
              {"refused", at_leader.refused + at_follower.refused}};
  if (!no_election && election_trials > 0) {
    t = std::chrono::steady_clock::now();
    const ElectionFigures el = simulate_elections(m, election_trials, seed + 2);
    timing["election_seconds"] = seconds_since(t);
    timing["election_events"] = el.events;
    timing["election_unfinished"] = el.unfinished;
    out["election_ms"] = summary(el.election_ms);
  }
  out["timing"] = timing;
  if (as_json) {
    std::cout << out.dump(1) << "\n";
    return 0;
  }
  std::cout << "model (" << m.voters.size() << " voters, leader " << m.leader << ", tick " << m.tick_us / 1000
            << " ms, election " << m.election_ticks << " ticks):\n";
  for (const std::string& n : m.notes) std::cout << "  " << n << "\n";
  std::printf("\n%-34s %8s %9s %9s %9s %9s\n", "figure (ms)", "n", "p50", "p90", "p99", "mean");
  auto row = [&](const std::string& name, const json& s) {
    if (s.is_null()) return;
    std::printf("%-34s %8zu %9.2f %9.2f %9.2f %9.2f\n", name.c_str(), s["n"].get<std::size_t>(), s["p50"].get<double>(),
                s["p90"].get<double>(), s["p99"].get<double>(), s["mean"].get<double>());
  };
  row("commit at leader " + std::to_string(m.leader), out["commit_leader_ms"]);
  row("commit at follower " + std::to_string(follower), out["commit_follower_ms"]);
  row("propagation to every member", out["propagation_ms"]);
  row("follower applied after leader", out["follower_delay_ms"]);
  if (out.contains("election_ms")) row("election after leader crash", out["election_ms"]);
  std::printf("\nPBS t-visibility (a read at a follower t ms after the leader applied a write sees it):\n");
  for (const json& v : vis) std::printf("  t = %6.1f ms   P = %.4f\n", v["t_ms"].get<double>(), v["p"].get<double>());
  std::printf("\nsimulated: %d writes x 2 in %.2f s (%llu core events)", trials, leader_s + follower_s,
              static_cast<unsigned long long>(timing["commit_events"].get<std::uint64_t>()));
  if (timing.contains("election_seconds"))
    std::printf(", %d elections in %.2f s", election_trials, timing["election_seconds"].get<double>());
  std::printf("\n");
  return 0;
}
