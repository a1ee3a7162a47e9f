// Node, continued: membership changes (thesis §4.1), leadership transfer (thesis §3.10) and ReadIndex
// (thesis §6.4). Kept apart from node.cc so that each file reads as one part of the protocol.
#include <algorithm>
#include <string>

#include "raftbgp/raft/node.h"

namespace raftbgp::raft {

using raftbgp::v1::ConfChange;

// ---------------------------------------------------------------------------------------------
// Membership

ProposeResult Node::propose_conf_change(const ConfChange& cc) {
  ProposeResult res;
  res.leader = lead_;
  using S = ProposeResult::Status;
  if (role_ != Role::kLeader) {
    res.status = S::kNotLeader;
    return res;
  }
  if (lead_transferee_ != kNoNode) {
    res.status = S::kTransferring;
    return res;
  }
  if (pending_conf_index_ > log_.committed()) {
    res.status = S::kConfChangePending;
    return res;
  }
  if (!committed_in_current_term()) {
    res.status = S::kNotReady;
    return res;
  }
  const NodeId n = cc.node_id();
  bool valid = n != kNoNode;
  switch (cc.type()) {
    case raftbgp::v1::CONF_ADD_LEARNER: valid = valid && !is_voter(n) && !is_learner(n); break;
    case raftbgp::v1::CONF_PROMOTE: valid = valid && is_learner(n); break;
    case raftbgp::v1::CONF_ADD_VOTER: valid = valid && !is_voter(n); break;
    case raftbgp::v1::CONF_REMOVE:
      // Removing the last voter would leave a cluster that can never commit again.
      valid = valid && (is_learner(n) || (is_voter(n) && voters_.size() > 1));
      break;
    default: valid = false;
  }
  if (!valid) {
    res.status = S::kInvalid;
    return res;
  }
  Entry e;
  e.set_type(raftbgp::v1::ENTRY_CONF_CHANGE);
  e.set_data(cc.SerializeAsString());
  append_entries({std::move(e)});
  pending_conf_index_ = log_.last_index();
  bcast_pending_ = true;
  res.status = S::kAccepted;
  res.index = log_.last_index();
  res.term = term_;
  apply_committed_conf_changes();
  return res;
}

template <class Entries>
void Node::track_conf_entries(const Entries& appended) {
  bool changed = false;
  for (const Entry& e : appended) {
    if (e.type() != raftbgp::v1::ENTRY_CONF_CHANGE || log_.term(e.index()) != e.term()) continue;
    ConfChange cc;
    // validate() refused unparsable changes from the network; our own log only holds what we parsed.
    if (!cc.ParseFromString(e.data())) RAFT_PANIC("unparsable configuration change in the log");
    pending_conf_[e.index()] = {e.term(), std::move(cc)};
    changed = true;
  }
  // Entries overwritten by a newer leader (§5.3) take their configuration changes with them.
  for (auto it = pending_conf_.begin(); it != pending_conf_.end();) {
    if (log_.term(it->first) != it->second.first) {
      it = pending_conf_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  // Normal entries change nothing: skip the recomputation (it rebuilds the progress map's members).
  if (changed) recompute_configuration();
}
template void Node::track_conf_entries(const std::vector<Entry>&);
template void Node::track_conf_entries(const google::protobuf::RepeatedPtrField<Entry>&);

namespace {

// Applies one change to a configuration. A change that no longer makes sense (a duplicate, say) is a
// no-op, identically on every node, so configurations never diverge.
void apply_change(std::vector<NodeId>& voters, std::vector<NodeId>& learners, const ConfChange& cc) {
  const NodeId n = cc.node_id();
  auto erase = [n](std::vector<NodeId>& set) { set.erase(std::remove(set.begin(), set.end(), n), set.end()); };
  auto insert = [n](std::vector<NodeId>& set) {
    if (!std::binary_search(set.begin(), set.end(), n)) set.insert(std::upper_bound(set.begin(), set.end(), n), n);
  };
  switch (cc.type()) {
    case raftbgp::v1::CONF_ADD_LEARNER:
      if (!std::binary_search(voters.begin(), voters.end(), n)) insert(learners);
      break;
    case raftbgp::v1::CONF_PROMOTE:
    case raftbgp::v1::CONF_ADD_VOTER:
      erase(learners);
      insert(voters);
      break;
    case raftbgp::v1::CONF_REMOVE:
      erase(learners);
      erase(voters);
      break;
    default: break;
  }
}

}  // namespace

bool Node::promotable() const {
  return is_voter(id_) || std::binary_search(committed_voters_.begin(), committed_voters_.end(), id_);
}

void Node::recompute_configuration() {
  // Thesis §4.1: "a server always uses the latest configuration in its log, regardless of whether the
  // entry is committed". Uncommitted changes are layered over the committed configuration, so an entry
  // overwritten by a newer leader takes its change with it.
  voters_ = committed_voters_;
  learners_ = committed_learners_;
  for (const auto& [index, change] : pending_conf_) apply_change(voters_, learners_, change.second);
  for (auto it = votes_.begin(); it != votes_.end();) {
    it = is_voter(it->first) ? std::next(it) : votes_.erase(it);
  }
  if (lead_transferee_ != kNoNode && !is_voter(lead_transferee_)) lead_transferee_ = kNoNode;
  if (role_ != Role::kLeader) return;
  for (NodeId v : voters_) add_progress(v);
  for (NodeId l : learners_) add_progress(l);
  for (auto it = progress_.begin(); it != progress_.end();) {
    const bool member = it->first == id_ || is_voter(it->first) || is_learner(it->first);
    it = member ? std::next(it) : progress_.erase(it);
  }
  maybe_commit();  // the quorum changed
}

void Node::apply_committed_conf_changes() {
  bool changed = false;
  while (!pending_conf_.empty() && pending_conf_.begin()->first <= log_.committed()) {
    apply_change(committed_voters_, committed_learners_, pending_conf_.begin()->second.second);
    pending_conf_.erase(pending_conf_.begin());
    changed = true;
  }
  if (!changed) return;
  const Index before = log_.committed();
  recompute_configuration();
  if (role_ != Role::kLeader) return;
  if (!std::binary_search(committed_voters_.begin(), committed_voters_.end(), id_)) {
    // Thesis §4.2.2: a leader that is not part of the new configuration steps down once it commits.
    // Tell the others the commit index first, so that one of them can win without our vote.
    bcast_append();
    become_follower(term_, kNoNode);
    return;
  }
  if (log_.committed() != before) bcast_pending_ = true;
}

// ---------------------------------------------------------------------------------------------
// Leadership transfer

TransferResult Node::transfer_leader(NodeId target) {
  if (role_ != Role::kLeader) return TransferResult::kNotLeader;
  if (target == id_) return TransferResult::kAlreadyLeader;
  if (!is_voter(target)) return TransferResult::kNotVoter;
  lead_transferee_ = target;
  // The transfer must finish within one election timeout or it is abandoned (tick_heartbeat).
  election_elapsed_ = 0;
  if (progress_.at(target).match == log_.last_index()) {
    Message m;
    m.set_type(raftbgp::v1::MSG_TIMEOUT_NOW);
    m.set_to(target);
    send(std::move(m));
  } else {
    send_append(target);
  }
  return TransferResult::kStarted;
}

// ---------------------------------------------------------------------------------------------
// ReadIndex

ReadIndexResult Node::read_index(std::string context) {
  if (role_ != Role::kLeader) {
    if (lead_ == kNoNode) return ReadIndexResult::kNotLeader;
    Message m;
    m.set_type(raftbgp::v1::MSG_READ_INDEX);
    m.set_to(lead_);
    m.set_context(std::move(context));
    send(std::move(m));
    return ReadIndexResult::kPending;
  }
  // Thesis §6.4 step 1: until the no-op of this term commits, the leader's commit index may lag what
  // earlier leaders committed, so it cannot serve as a read index.
  if (!committed_in_current_term()) return ReadIndexResult::kNotReady;
  if (quorum() == 1 && is_voter(id_)) {
    read_states_.push_back({log_.committed(), std::move(context), false});
    return ReadIndexResult::kPending;
  }
  read_requests_.push_back({log_.committed(), context, id_, {}});
  bcast_heartbeat(context);
  return ReadIndexResult::kPending;
}

void Node::handle_read_index_request(const Message& m) {
  Message r;
  r.set_type(raftbgp::v1::MSG_READ_INDEX_RESP);
  r.set_to(m.from());
  r.set_context(m.context());
  if (!committed_in_current_term()) {
    r.set_reject(true);
    send(std::move(r));
    return;
  }
  if (quorum() == 1 && is_voter(id_)) {
    r.set_index(log_.committed());
    send(std::move(r));
    return;
  }
  read_requests_.push_back({log_.committed(), m.context(), m.from(), {}});
  bcast_heartbeat(m.context());
}

void Node::ack_read(NodeId from, const std::string& context) {
  auto it = std::find_if(read_requests_.begin(), read_requests_.end(),
                         [&](const ReadRequest& r) { return r.context == context; });
  if (it == read_requests_.end() || !is_voter(from)) return;
  if (std::find(it->acks.begin(), it->acks.end(), from) == it->acks.end()) it->acks.push_back(from);
  // Thesis §6.4 step 3: a quorum of heartbeat answers proves we were still leader after the request
  // arrived. That proof covers every request queued before this one too.
  if (it->acks.size() + (is_voter(id_) ? 1 : 0) < quorum()) return;
  const auto end = std::next(it);
  for (auto r = read_requests_.begin(); r != end; ++r) {
    if (r->from == id_) {
      read_states_.push_back({r->index, r->context, false});
    } else {
      Message resp;
      resp.set_type(raftbgp::v1::MSG_READ_INDEX_RESP);
      resp.set_to(r->from);
      resp.set_index(r->index);
      resp.set_context(r->context);
      send(std::move(resp));
    }
  }
  read_requests_.erase(read_requests_.begin(), end);
}

}  // namespace raftbgp::raft
