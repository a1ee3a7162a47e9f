// The model raftbgp-predict simulates (predictor/): the cluster's members and timers, and what each part of the
// protocol's path costs. Loaded either from the model files a running cluster dumps (`raftbgpctl debug model`,
// agent/include/raftbgp/agent/latency_model.h; one per node, any subset) or from a hand-written topology YAML
// (predictor/topologies/*.yaml, docs/operator-guide.md §13 "Latency model and predictions"):
//
//   link(a, b)   one way from agent a to agent b: a's ExaBGP, the BGP transits, b's ExaBGP (the transport's whole
//                path, as the Raft message sees it). Per-link FIFO is the simulator's (TCP keeps a session's order).
//   fsync(n)     one Ready of node n made durable (only Readys that must sync pay it).
//   apply(n)     the committed entries of one Ready applied on node n.
//   work(n)      the rest of node n's agent work in a ready loop that persists (opening and stepping the message,
//                the WAL write, sealing and formatting the answers): from a model file, the node's append_service
//                less its p50 fsync, or, for the leader, its propose_service whole (proposal -> AppendEntries written:
//                the Ready, the replay state's save with its own fsync, sealing; the WAL fsync comes after the
//                write, the output hook); in a topology YAML, `work:` (default 0). A leader's AppendEntries in a
//                Ready that syncs leave after work(n) and before fsync(n), as the agent sends them.
//   persist(n)   a whole ready loop that persists, fsync and work together: from a model file, a follower's
//                append_service drawn as measured. The simulator uses it where there is one, fsync(n) + work(n)
//                elsewhere: two independent draws of parts taken off at their medians would add the fsync's
//                spread twice.
//
// From model files, a link a<->b is derived from the best of what a and b measured (as leader), in this order, each
// with at least kMinSamples (then the larger sample):
//   append_rtt (>= kMinSamples): one way D with D1 + S + D2 ~ rtt, S drawn independently from the peer's service
//                (Distribution::half_of with `within`; D at least 50 us), where the service is the peer's own
//                append_service (delivery -> answer written) or, without one, its fsync (or everyone's). S is taken
//                off as a whole distribution, not as its median: the median left S's spread (fsync tails, queueing)
//                in D, and the simulator, which draws S again at the peer, counted it twice (issue 14: a follower's
//                commit, which crosses two more links, was over-predicted by 20% and more as the fsyncs spread)
//   heartbeat_rtt:               D1 + D2 ~ rtt (a heartbeat syncs nothing)
//   vote_rtt:                    as append_rtt (a candidate's; rare)
// A round trip is timed from the lines' write to the answer's delivery, so it holds neither end's fsync before
// the write.
// and, when no file measured it, the mixture of every link that was measured (said in `notes`). A link is taken
// as symmetric. When the files give co_move (below), a round trip's two halves are split as two draws that move
// together by co_move_at(half its median) (Distribution::half_of's rho). fsync and apply come from each node's own
// file; a node without one gets the mixture of the others.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "raftbgp/predict/distribution.h"
#include "raftbgp/raft/types.h"

namespace raftbgp::predict {

using raft::NodeId;

struct Model {
  std::vector<NodeId> voters;
  NodeId leader = 0;  // the node that leads in the simulation (the dumping cluster's leader)
  double tick_us = 100000;
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  std::map<std::pair<NodeId, NodeId>, Distribution> links;  // one way, directed
  Distribution default_link;
  std::map<NodeId, Distribution> fsync, apply, work, persist;
  Distribution default_fsync, default_apply, default_work;
  // How the links' delays move together. On star3 the two followers' round trips of one AppendEntries correlate by
  // ~0.4 (Spearman), and one follower's successive round trips by ~0.4 at 4 ms apart, ~0.2 at 20 ms, ~0.1 at 80 ms
  // (hop_trace recordings, docs/architecture.md §7): every agent and ExaBGP shares the host's CPUs, a real network's
  // links share queues and route processors. Drawn independently, the first of two answers came too early and the
  // last of two commit notices too late. The simulator draws a link delay at the quantile Phi(sqrt(co_move) * Z(t) +
  // sqrt(1 - co_move) * e) of its distribution, Z a stationary Ornstein-Uhlenbeck process with time constant
  // co_move_tau_us shared by every link and e drawn per message: two delays drawn dt apart have normal scores that
  // correlate by co_move * exp(-dt / co_move_tau_us). co_move 0: independent draws (a topology YAML's default;
  // `co_move: {rho: r, tau_ms: t}` sets it). From model files: fitted to the leader's rtt_co_move (latency_model.h).
  double co_move = 0, co_move_tau_us = 0;
  std::vector<std::string> notes;  // where every part came from (printed by raftbgp-predict)

  const Distribution& link(NodeId from, NodeId to) const;
  const Distribution& fsync_of(NodeId n) const;
  const Distribution& apply_of(NodeId n) const;
  const Distribution& work_of(NodeId n) const;
  const Distribution* persist_of(NodeId n) const;  // nullptr: fsync_of(n) + work_of(n)
};

inline constexpr std::uint64_t kMinSamples = 20;

// The normal-score correlation of two link delays drawn dt_us apart (co_move * exp(-dt / tau)).
double co_move_at(const Model& m, double dt_us);

// A topology YAML (the file's text); why not, naming the key.
std::variant<Model, std::string> model_from_yaml(const std::string& text);
// Model files (each one node's `debug.model` JSON text). `co_move`: {rho, tau_us} to use instead of what the files
// measured (raftbgp-predict --co-move: what-ifs, and {0, 0} for independent delays).
std::variant<Model, std::string> model_from_dumps(const std::vector<std::string>& texts,
                                                  std::optional<std::pair<double, double>> co_move = std::nullopt);

// A model file's `rtt_co_move` (latency_model.h: the normal scores of pairs of AppendEntries round trips, summed per
// gap between their sends) fitted to co_move * exp(-gap / tau): {rho, tau_us}, weighted by each gap bin's pairs;
// nullopt with fewer than 100 pairs in bins of at least 30.
std::optional<std::pair<double, double>> fit_co_move(const nlohmann::json& rtt_co_move);

}  // namespace raftbgp::predict
