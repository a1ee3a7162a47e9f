// Node, continued: the follower side of replication (Raft paper §5.3), leadership transfer's TimeoutNow
// (thesis §3.10), and the checks that refuse what no honest leader can send.
//
// Messages are authenticated by the transport (sealed frames), so a sender is a cluster member; but a
// member can be compromised or broken. Whatever it sends must not crash this node or rewrite what this
// node knows is committed: such messages are dropped and counted (DropReason::kContradictsLog,
// kNotLeader), never asserted on.
#include <algorithm>
#include <string>

#include "raftbgp/raft/node.h"

namespace raftbgp::raft {

std::optional<DropReason> Node::contradicts_log(const Message& m) const {
  // Leader Completeness (§5.4): every leader's log holds every committed entry, so an honest leader
  // never claims a term for a committed index that differs from ours. Entries below our first index
  // (compacted) cannot be compared and are not.
  auto differs = [this](Index i, Term t) {
    if (i > log_.committed()) return false;
    const std::optional<Term> ours = log_.term(i);
    return ours && *ours != t;
  };
  switch (m.type()) {
    case raftbgp::v1::MSG_APP:
      if (differs(m.index(), m.log_term())) return DropReason::kContradictsLog;
      for (const Entry& e : m.entries()) {
        if (e.index() > log_.committed()) break;
        if (differs(e.index(), e.term())) return DropReason::kContradictsLog;
      }
      return std::nullopt;
    case raftbgp::v1::MSG_HEARTBEAT:
      // The leader caps a heartbeat's commit at the follower's match (send_heartbeat), which this node
      // has persisted: more than our log holds is not a stale value but an impossible one.
      if (m.commit() > log_.last_index()) return DropReason::kContradictsLog;
      return std::nullopt;
    case raftbgp::v1::MSG_SNAP:
      if (differs(m.snapshot().index(), m.snapshot().term())) return DropReason::kContradictsLog;
      return std::nullopt;
    default: return std::nullopt;
  }
}

std::optional<DropReason> Node::check_timeout_now(const Message& m) const {
  // Thesis §3.10: TimeoutNow makes its target campaign at once, skipping PreVote and the leader lease
  // (thesis §6.2), so it must only come from the leader of the current term. The target cannot know
  // that a transfer is in progress: the leader announces nothing before TimeoutNow (it only brings the
  // target's log up to date, which looks like ordinary replication). "From the leader this node follows
  // in this term" is therefore the rule that keeps one member from deposing a healthy leader at will.
  // An honest TimeoutNow always carries the current term: the target acknowledged the leader's entries
  // in that term before it is sent.
  if (m.term() != term_ || lead_ == kNoNode || m.from() != lead_) return DropReason::kNotLeader;
  if (!promotable()) return DropReason::kUnexpected;
  return std::nullopt;
}

std::optional<DropReason> Node::step_follower(const Message& m) {
  switch (m.type()) {
    case raftbgp::v1::MSG_APP:
      election_elapsed_ = 0;
      lead_ = m.from();
      handle_append_entries(m);
      return std::nullopt;
    case raftbgp::v1::MSG_HEARTBEAT:
      election_elapsed_ = 0;
      lead_ = m.from();
      handle_heartbeat(m);
      return std::nullopt;
    case raftbgp::v1::MSG_SNAP:
      election_elapsed_ = 0;
      lead_ = m.from();
      handle_snapshot(m);
      return std::nullopt;
    case raftbgp::v1::MSG_TIMEOUT_NOW:
      // Thesis §3.10: the leader asks us to start an election at once, bypassing PreVote and leases.
      if (std::optional<DropReason> drop = check_timeout_now(m)) return drop;
      start_campaign(CampaignKind::kTransfer);
      return std::nullopt;
    default: return DropReason::kUnexpected;
  }
}

// ---------------------------------------------------------------------------------------------
// Follower side of replication (§5.3)

void Node::handle_append_entries(const Message& m) {
  Message r;
  r.set_type(raftbgp::v1::MSG_APP_RESP);
  r.set_to(m.from());
  if (m.index() < log_.committed()) {
    // Everything up to our commit index already matches the leader's log (Leader Completeness).
    r.set_index(log_.committed());
    send(std::move(r));
    return;
  }
  if (std::optional<Index> last_new = log_.maybe_append(m.index(), m.log_term(), m.commit(), m.entries())) {
    track_conf_entries(m.entries());
    if (m.commit_only() && m.entries().empty()) return;  // nothing the leader does not know (raft.proto)
    r.set_index(*last_new);
    send(std::move(r));
    return;
  }
  // Log mismatch at prevLogIndex: reject with a hint that lets the leader skip a whole conflicting
  // term at once instead of one index per round trip (§5.3, "the protocol can be optimized...").
  const auto [hint_index, hint_term] = log_.find_conflict_by_term(std::min(m.index(), log_.last_index()), m.log_term());
  r.set_index(m.index());
  r.set_reject(true);
  r.set_reject_hint(hint_index);
  r.set_log_term(hint_term);
  send(std::move(r));
}

void Node::handle_heartbeat(const Message& m) {
  // The leader sends commit = min(match, commit), so it never exceeds what we hold (a larger value was
  // dropped by contradicts_log); an older one is a stale heartbeat and commit_to ignores it.
  log_.commit_to(m.commit());
  Message r;
  r.set_type(raftbgp::v1::MSG_HEARTBEAT_RESP);
  r.set_to(m.from());
  r.set_context(m.context());
  send(std::move(r));
}

}  // namespace raftbgp::raft
