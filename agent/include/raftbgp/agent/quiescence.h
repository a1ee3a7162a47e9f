// Quiet when idle (docs/architecture.md §3 "Quiet when idle"): the agent's half of quiescence. raft::Node's half is
// quiescable()/quiesce() (node.h "Quiescence"); the transport's is its presence slots (transport.h "Presence").
// Pure bookkeeping over the agent's own ticks; AgentCore drives it and owns every side effect.
//
// Leader. Ticked normally while busy. After `after_ticks` consecutive agent ticks in which Node::quiescable() held
// and no client request waited, the agent calls Node::quiesce() and stops ticking the node: the quiesce heartbeats
// go out on presence slots and stay in every transit's RIB. Every `refresh_ticks` it quiesces again (a fresh
// heartbeat renews the followers' leases, and their answers show the leader anyone who lags). It wakes (releases
// its presence routes and ticks again) as soon as an input leaves the node unquiescable (a proposal, a read, a
// lagging peer's answer), when any message other than a heartbeat answer arrives (a campaign, a forward, ...),
// and when it stops leading.
//
// Follower. A fresh quiesce heartbeat (delivered, so never a replay) from the leader of its current term starts
// that leader's presence; while the presence lasts the node is not ticked, so its election timer stands still.
// The presence ends when its route is withdrawn (the leader woke, or the leader's BGP session died and the transits
// withdrew its routes: failure detection at BGP speed), when our own BGP session goes down (our RIB is gone), or
// lease_ticks() after the last fresh quiesce heartbeat (a hung leader agent whose ExaBGP still holds the route).
// The election timer then resumes where the heartbeat left it, so a dead leader is replaced one election timeout
// after its presence ends, as one is without quiescence one election timeout after its last heartbeat.
#pragma once

#include <cstdint>
#include <map>

#include "raftbgp/raft/types.h"

namespace raftbgp::agent {

struct QuiesceSettings {
  std::uint64_t after_ticks = 10;    // idle agent ticks before the leader goes quiet; 0: never quiesce
  std::uint64_t refresh_ticks = 30;  // a quiet leader sends a fresh quiesce heartbeat this often
  // How long a follower trusts a presence without a fresh heartbeat: a hung leader agent is replaced after at most
  // this plus an election timeout (a hung router: its BGP hold time plus an election timeout).
  std::uint64_t lease_ticks() const { return 3 * refresh_ticks; }
};

class Quiescence {
 public:
  explicit Quiescence(QuiesceSettings settings) : settings_(settings) {}

  // What the leader does with the node this agent tick.
  enum class LeaderTick { kTick, kQuiesce, kQuiet };
  // Once per agent tick while leading. `idle`: Node::quiescable() and no client request waits. The caller wakes a
  // quiet leader that is not idle (wake()) before asking.
  LeaderTick leader_tick(std::uint64_t now, bool idle);
  // Node::quiesce() sent the quiesce heartbeats (the first time, or a refresh).
  void quiesced(std::uint64_t now);
  // Ends the leader's quiet. True if it was quiet: the caller then releases its presence routes.
  bool wake();
  bool quiet() const { return quiet_; }

  // A fresh quiesce heartbeat from `from`, the leader of `term` as the node now knows it.
  void on_quiesce_heartbeat(raft::NodeId from, raft::Term term, std::uint64_t now);
  void on_presence_withdrawn(raft::NodeId from);
  void on_session_down();
  // True while `leader`'s presence for `term` lasts: do not tick the node.
  bool frozen(raft::NodeId leader, raft::Term term, std::uint64_t now) const;

  std::uint64_t quiesces() const { return quiesces_; }  // quiesce heartbeat rounds sent as leader
  std::uint64_t wakes() const { return wakes_; }
  std::uint64_t presences_ended() const { return presences_ended_; }  // withdrawn or session down, while held

 private:
  struct Presence {
    raft::Term term = 0;
    std::uint64_t fresh_tick = 0;
  };
  QuiesceSettings settings_;
  bool quiet_ = false;
  std::uint64_t idle_ticks_ = 0;
  std::uint64_t next_refresh_ = 0;
  std::map<raft::NodeId, Presence> presence_;
  std::uint64_t quiesces_ = 0;
  std::uint64_t wakes_ = 0;
  std::uint64_t presences_ended_ = 0;
};

}  // namespace raftbgp::agent
