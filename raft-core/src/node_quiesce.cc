// Quiescence (node.h "Quiescence"): when an idle leader may stop heartbeating, and its last heartbeat.
#include "raftbgp/raft/node.h"

namespace raftbgp::raft {

bool Node::quiescable() const {
  if (role_ != Role::kLeader || lead_transferee_ != kNoNode || !read_requests_.empty() || bcast_pending_ ||
      append_pending_ || !msgs_.empty() || !pending_conf_.empty() || log_.committed() != log_.last_index() ||
      !committed_in_current_term())
    return false;
  const Index last = log_.last_index();
  for (const auto& [id, pr] : progress_) {
    if (id == id_) continue;
    const bool caught_up = pr.state == Progress::State::kReplicate && pr.match == last;
    // Not heard from for an election timeout: treated as down. Its answer (to the quiesce heartbeat or a later
    // one) resets ticks_since_contact, and then it must match like everyone else.
    const bool silent = pr.ticks_since_contact >= static_cast<std::uint64_t>(election_ticks_);
    if (!caught_up && !silent) return false;
  }
  return true;
}

bool Node::quiesce() {
  if (!quiescable()) return false;
  const Index lagging = lagging_commit();
  for (NodeId id : replication_targets()) {
    send_heartbeat(id, {}, lagging);
    msgs_.back().set_quiesce(true);
  }
  heartbeat_elapsed_ = 0;
  return true;
}

}  // namespace raftbgp::raft
