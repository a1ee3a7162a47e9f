// raft_sim: runs the cluster simulator over a range of seeds.
//   raft_sim --nodes 3 --seeds 0:1000          CI: every seed must pass
//   raft_sim --nodes 5 --seed 42 --trace       replay one seed with a trace of its events
//   raft_sim --nodes 5 --seeds 0:100000        a longer soak
// Exit code 1 on the first failing seed, after printing the command that replays it.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cluster_sim.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: raft_sim [--nodes N] (--seed S | --seeds A:B) [--fault-ticks T] [--heal-ticks T]\n"
               "                [--loss P] [--trace]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  raftbgp::sim::SimOptions o;
  std::uint64_t first = 1;
  std::uint64_t last = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--nodes" && has_value) {
      o.nodes = std::atoi(argv[++i]);
    } else if (a == "--seed" && has_value) {
      first = std::strtoull(argv[++i], nullptr, 10);
      last = first + 1;
    } else if (a == "--seeds" && has_value) {
      const std::string r = argv[++i];
      const auto colon = r.find(':');
      if (colon == std::string::npos) return usage();
      first = std::strtoull(r.substr(0, colon).c_str(), nullptr, 10);
      last = std::strtoull(r.substr(colon + 1).c_str(), nullptr, 10);
    } else if (a == "--fault-ticks" && has_value) {
      o.fault_ticks = std::atoi(argv[++i]);
    } else if (a == "--heal-ticks" && has_value) {
      o.heal_ticks = std::atoi(argv[++i]);
    } else if (a == "--loss" && has_value) {
      o.loss = std::atof(argv[++i]);
    } else if (a == "--trace") {
      o.trace = true;
    } else {
      return usage();
    }
  }
  if (o.nodes < 1 || o.nodes > 9 || first >= last) return usage();
  std::uint64_t acked = 0, elections = 0, crashes = 0, delivered = 0, changes = 0, reads = 0, snaps = 0;
  for (std::uint64_t s = first; s < last; ++s) {
    o.seed = s;
    const raftbgp::sim::SimResult r = raftbgp::sim::run_simulation(o);
    if (!r.ok) {
      std::printf(
          "FAIL seed %llu (%d nodes): %s\nreplay: %s --nodes %d --seed %llu --fault-ticks %d "
          "--heal-ticks %d --loss %g --trace\n",
          static_cast<unsigned long long>(s), o.nodes, r.failure.c_str(), argv[0], o.nodes,
          static_cast<unsigned long long>(s), o.fault_ticks, o.heal_ticks, o.loss);
      return 1;
    }
    acked += r.proposals_acked;
    elections += r.elections;
    crashes += r.crashes;
    delivered += r.messages_delivered;
    changes += r.conf_changes;
    reads += r.reads_served;
    snaps += r.snapshots_installed;
  }
  std::printf(
      "%llu seeds passed (%d nodes + 1 spare): %llu proposals acknowledged, %llu leaders elected, "
      "%llu membership changes, %llu reads served, %llu snapshots installed, %llu crashes, "
      "%llu messages delivered\n",
      static_cast<unsigned long long>(last - first), o.nodes, static_cast<unsigned long long>(acked),
      static_cast<unsigned long long>(elections), static_cast<unsigned long long>(changes),
      static_cast<unsigned long long>(reads), static_cast<unsigned long long>(snaps),
      static_cast<unsigned long long>(crashes), static_cast<unsigned long long>(delivered));
  return 0;
}
