// A deterministic cluster simulator for the Raft core (the talk's "Monte Carlo simulation", etcd's
// in-process network): N nodes over MemoryStorage, a network that loses, duplicates, delays and
// reorders messages, partitions, and crashes that lose whatever was not synced. Every run is a pure
// function of its seed, so a failing seed replays exactly with `raft_sim --nodes N --seed S`.
//
// Nodes compact their logs at a per-run threshold, so lagging or restarted nodes catch up through
// InstallSnapshot chunks. Besides the N bootstrap voters there is one spare router outside the bootstrap list; random
// membership changes (add learner, promote, remove, including the leader), leadership transfers and
// ReadIndex requests run under the faults.
//
// After every delivered message and every tick it checks the safety properties of the Raft paper's
// Figure 3: Election Safety, Log Matching, Leader Completeness, State Machine Safety, plus commit
// monotonicity and ReadIndex linearizability (a read index is never below an index that some node
// knew committed when the read was requested). At the end it heals every fault and checks liveness:
// one leader, every member caught up, and every acknowledged proposal applied exactly once on every
// member.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "raftbgp/raft/memory_storage.h"
#include "raftbgp/raft/node.h"

namespace raftbgp::sim {

struct SimOptions {
  int nodes = 3;
  std::uint64_t seed = 1;
  int fault_ticks = 400;  // ticks with faults and proposals
  int heal_ticks = 300;   // ticks without faults at the end; the cluster must converge within them
  int substeps = 10;      // network steps per tick (a one-way delay is 1..max_delay substeps)
  int max_delay = 12;
  double loss = 0.10;  // upper bound of the per-run loss rate (each run draws its own in [0, loss])
  double duplicate = 0.05;
  double propose_per_tick = 0.5;
  double crash_per_tick = 0.004;  // per node
  double partition_per_tick = 0.01;
  double admin_per_tick = 0.02;     // a membership change proposed at the leader
  double transfer_per_tick = 0.01;  // a leadership transfer to a random voter
  double read_per_tick = 0.3;       // a ReadIndex request at a random node
  bool trace = false;
};

struct SimResult {
  bool ok = true;
  std::string failure;  // first violated property, with the tick and node
  std::uint64_t proposals_acked = 0;
  std::uint64_t elections = 0;  // distinct (term, leader) pairs seen
  std::uint64_t crashes = 0;
  std::uint64_t messages_delivered = 0;
  std::uint64_t max_commit = 0;
  std::uint64_t conf_changes = 0;  // membership changes accepted by a leader
  std::uint64_t reads_served = 0;
  std::uint64_t snapshots_installed = 0;
};

SimResult run_simulation(const SimOptions& opts);

}  // namespace raftbgp::sim
