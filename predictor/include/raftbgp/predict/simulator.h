// raftbgp-predict's Monte Carlo (issue 14 item 4): the real Raft core (raft::Node over MemoryStorage, the code every
// raftbgpd runs) driven by an event-driven network and disk whose delays are drawn from a Model (model.h). Nothing of
// Raft is re-implemented here: elections, replication, commit and its broadcast are the core's own decisions.
//
// What is simulated: every node's Ready loop as AgentCore runs it (persist, fsync and the agent's work when
// must_sync says so, apply, advance), its messages leaving when the loop ends as raftbgpd writes them, except a
// leader's AppendEntries, which leave after its work and before its fsync (the output hook); one agent thread per
// node (an input that arrives while the node is busy with an fsync or an apply waits for it); ticks every tick_ms at
// a random phase per node; per-link FIFO delivery (a BGP session keeps its order). What is sampled: each message's
// one-way delay (independently, or moving together with the others as the model's co_move says: one broadcast's
// messages alike, close sends more alike than distant ones), each fsync and each apply, from the model. What is
// modelled outside the core: the agent's MSG_FORWARD of a write from a follower to the leader (one link delay, then
// the leader proposes). What is left out: quiescence (a busy or freshly active cluster does not quiesce), ExaBGP's
// command window and batching, the control socket, the bench's polling, losses, and reads (PBS below is about a
// follower's applied state, what a stale local read would see).
//
// Figures, in milliseconds:
//   commit at node o     a write reaching o -> o has applied it (o the leader, or a follower that forwards it);
//                        sequential, one client, the next write when the previous is answered (bench/kv_load)
//   propagation          the leader applied an entry -> every member has (the time until every router has a policy)
//   follower delay       per entry and follower: leader applied -> that follower applied; PBS t-visibility at t is
//                        the fraction of these <= t (Bailis et al.: the chance a read at a follower t ms after the
//                        commit sees the write)
//   election             at a random moment of steady state a write, and the leader crashes as it applies it ->
//                        every survivor names the same live leader (what bench/lab measures by polling status)
#pragma once

#include <cstdint>
#include <vector>

#include "raftbgp/predict/model.h"

namespace raftbgp::predict {

struct CommitFigures {
  std::vector<double> latency_ms;         // one per write, at its origin
  std::vector<double> propagation_ms;     // one per write (leader origin only)
  std::vector<double> follower_delay_ms;  // one per write and follower (leader origin only)
  std::uint64_t events = 0;
  std::uint64_t refused = 0;  // proposals the core refused (leadership lost mid-run): not counted
};

// `trials` sequential writes at `origin`, spread over `runs` independent clusters (different seeds).
CommitFigures simulate_commits(const Model& m, NodeId origin, int trials, int runs, std::uint64_t seed);

struct ElectionFigures {
  std::vector<double> election_ms;
  std::uint64_t events = 0;
  std::uint64_t unfinished = 0;  // trials with no agreed leader within 60 s of simulated time
};

// `trials` independent leader crashes.
ElectionFigures simulate_elections(const Model& m, int trials, std::uint64_t seed);

// The q-quantile (nearest rank) of `v`; NaN when empty.
double quantile(std::vector<double> v, double q);
// PBS t-visibility: the fraction of `delays_ms` that are <= t_ms.
double visibility(const std::vector<double>& delays_ms, double t_ms);

}  // namespace raftbgp::predict
