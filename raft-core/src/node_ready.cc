// Node, continued: the Ready batch handed to the driver, advance(), and status (see node.h for the
// ready-loop contract).
#include <algorithm>

#include "raftbgp/raft/node.h"

namespace raftbgp::raft {

HardState Node::hard_state() const {
  HardState hs;
  hs.set_term(term_);
  hs.set_vote(vote_);
  hs.set_commit(log_.committed());
  return hs;
}

bool Node::has_ready() const {
  const HardState hs = hard_state();
  return hs.term() != prev_hard_state_.term() || hs.vote() != prev_hard_state_.vote() ||
         hs.commit() != prev_hard_state_.commit() || !log_.unstable_entries().empty() || !msgs_.empty() ||
         log_.has_next_committed_entries() || !read_states_.empty() || ready_snapshot_ || bcast_pending_ ||
         append_pending_ || prev_soft_state_ != std::make_pair(lead_, role_);
}

Ready Node::ready() {
  if (ready_outstanding_) RAFT_PANIC("ready() called again before advance()");
  if (bcast_pending_ || append_pending_) {
    // Every proposal, acknowledgement and commit advance since the last Ready goes out in one AppendEntries
    // per follower, aligned where it fits (bcast_aligned): over BGP each message costs an announcement, so
    // coalescing them is the throughput.
    if (role_ == Role::kLeader) bcast_append(bcast_pending_);
    bcast_pending_ = false;
    append_pending_ = false;
  }
  Ready rd;
  const HardState hs = hard_state();
  if (hs.term() != prev_hard_state_.term() || hs.vote() != prev_hard_state_.vote() ||
      hs.commit() != prev_hard_state_.commit()) {
    rd.hard_state = hs;
  }
  rd.entries = log_.unstable_entries();
  rd.messages = std::move(msgs_);
  msgs_.clear();
  rd.committed_entries = log_.next_committed_entries();
  rd.read_states = std::move(read_states_);
  read_states_.clear();
  rd.snapshot = std::move(ready_snapshot_);
  ready_snapshot_.reset();
  // Parallel persistence (thesis §10.2.1, node.h): a leader's messages promise nothing about its own
  // log, which it counts in the quorum only after advance(). A new term or vote must still be durable
  // before anything of that term leaves, and a snapshot is never a leader's.
  rd.send_before_persist =
      role_ == Role::kLeader && !rd.snapshot &&
      (!rd.hard_state || (hs.term() == prev_hard_state_.term() && hs.vote() == prev_hard_state_.vote()));
  const std::pair<NodeId, Role> soft{lead_, role_};
  if (soft != prev_soft_state_) {
    rd.soft_state = soft;
    prev_soft_state_ = soft;
  }
  ready_outstanding_ = true;
  return rd;
}

void Node::advance(const Ready& rd) {
  if (!ready_outstanding_) RAFT_PANIC("advance() without a ready()");
  ready_outstanding_ = false;
  if (rd.hard_state) prev_hard_state_ = *rd.hard_state;
  if (rd.snapshot) log_.stable_snapshot_to(rd.snapshot->meta.index());
  if (!rd.entries.empty()) log_.stable_to(rd.entries.back().index(), rd.entries.back().term());
  if (!rd.committed_entries.empty()) log_.applied_to(rd.committed_entries.back().index());
  // The leader counts its own entries once they are durable (node.h): only now, not on append.
  if (role_ == Role::kLeader) {
    auto self = progress_.find(id_);
    if (self != progress_.end() && self->second.maybe_update(log_.stable_last_index()) && maybe_commit()) {
      bcast_pending_ = true;  // the new commit index goes to the followers with the next Ready
      // As after every input that moves the commit index: the committed configuration (which a
      // snapshot taken right after this advance() records) must include what just committed.
      apply_committed_conf_changes();
    }
  }
}

Status Node::status() const {
  Status s;
  s.id = id_;
  s.role = role_;
  s.term = term_;
  s.vote = vote_;
  s.leader = lead_;
  s.commit = log_.committed();
  s.applied = log_.applied();
  s.first_index = log_.first_index();
  s.last_index = log_.last_index();
  for (const auto& [id, pr] : progress_) {
    if (role_ != Role::kLeader && id != id_) continue;
    s.peers.push_back({id, is_voter(id), pr.match, pr.next, pr.state_name(), pr.ticks_since_contact});
  }
  s.learners = learners_;
  s.voters = voters_;
  std::copy(std::begin(dropped_), std::end(dropped_), std::begin(s.dropped));
  return s;
}

}  // namespace raftbgp::raft
