// The facts `raftbgpctl health` judges beyond Raft's own status (agent/cli/ctl_health.cc): whether this
// node's BGP sessions are up, how far and for how long it trails the leader, and when the ExaBGP watchdog
// last reset the command window. Pure bookkeeping over the agent's own ticks (no clock, no IO); AgentCore
// feeds it and renders to_json() as the "health" object of `status` (agent_status.cc).
//
// BGP sessions. ExaBGP reports `state` events per neighbor (connected, up, down). A respawned agent gets no
// replay of them (docs/exabgp.md §5.2), so an `update` from a neighbor also marks it up: a neighbor that
// sends routes has an established session. Until the first event of a neighbor it is unknown, and a node
// whose agent never saw one reports zero sessions up.
//
// Leader lag. Every AppendEntries carries the leader's commit index (raft-core's node.cc; a heartbeat's is
// capped at what the follower holds). leader_commit is the highest one heard from the current leader in the
// current term (this node's own commit when it leads or knows no more); lag_entries = leader_commit -
// applied. behind_ms is the age of the oldest leader commit index this node has not applied yet: at every
// agent tick at which applied trails leader_commit, (tick, leader_commit) is noted, and marks that applied
// has reached are dropped (0 when caught up, or no leader is known). A follower that keeps up under
// sustained writes, always a few entries behind, so shows the few ticks it takes, not the time since it
// was last exactly caught up. At most kMaxMarks marks are kept (about 7 min at 100 ms ticks): beyond that
// the age is underestimated, long after any health limit. leader_contact_ms is the age of the last
// message from the leader (0 on the leader, null when none was heard in this term): a follower frozen under
// a quiet leader's presence (quiescence.h) hears nothing on purpose, which the status shows as
// quiesce.frozen.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "raftbgp/raft/types.h"
#include "raftbgp/transport/exabgp.h"

namespace raftbgp::agent {

class HealthSignals {
 public:
  // What the node says now (Raft's status and the applied index of the state machine).
  struct View {
    raft::NodeId self = 0;
    raft::NodeId leader = 0;  // 0: none known
    raft::Term term = 0;
    raft::Index commit = 0;
    raft::Index applied = 0;
  };

  // Every line ExaBGP wrote, as the transport parsed it: state and update events mark their neighbor.
  void on_event(const transport::ExabgpLine& event);
  // Every Raft message the transport delivered to this node, at agent tick `now`.
  void on_message(const raft::Message& m, std::uint64_t now);
  // Once per agent tick, after that tick's inputs.
  void on_tick(std::uint64_t now, const View& v);
  // The ExaBGP watchdog reset the command window at tick `now` (agent_core.h "ExaBGP watchdog").
  void on_ack_stall(std::uint64_t now) { last_ack_stall_ = now; }

  std::size_t sessions_up() const;
  raft::Index leader_commit(const View& v) const;
  // {"bgp_sessions_up", "bgp_peers": {address: state}, "leader_commit", "lag_entries", "behind_ms",
  //  "leader_contact_ms" (null: none heard), "last_ack_stall_ms_ago" (null: never)}.
  nlohmann::json to_json(const View& v, std::uint64_t now, std::uint64_t tick_ms) const;

 private:
  struct Heard {
    std::uint64_t tick = 0;  // last message of any type
    raft::Term term = 0;     // of that message
    raft::Index commit = 0;  // highest commit index in an AppendEntries or heartbeat of `term`
  };
  std::map<std::string, std::string> peers_;  // neighbor address -> connected / up / down
  std::map<raft::NodeId, Heard> heard_;
  static constexpr std::size_t kMaxMarks = 4096;
  std::deque<std::pair<std::uint64_t, raft::Index>> behind_;  // (tick, leader_commit) not applied yet, oldest first
  std::optional<std::uint64_t> last_ack_stall_;
};

}  // namespace raftbgp::agent
