// Node: the Raft protocol step function. Section numbers cite the Raft paper (Ongaro & Ousterhout,
// "In Search of an Understandable Consensus Algorithm", 2014) and, as "thesis", Ongaro's 2014 thesis.
#include "raftbgp/raft/node.h"

#include <algorithm>
#include <string>

namespace raftbgp::raft {
namespace {

using raftbgp::v1::MessageType;

constexpr std::string_view kCampaignTransfer = "transfer";
// Bytes a Message spends outside its entries (type, ids, term, indexes, commit) plus per-entry framing;
// used only to pick a first guess of how many entries fit, the exact size is checked after.
constexpr std::uint64_t kMessageOverhead = 96;

bool is_local(MessageType t) {
  return t == raftbgp::v1::MSG_HUP || t == raftbgp::v1::MSG_BEAT || t == raftbgp::v1::MSG_CHECK_QUORUM;
}

MessageType vote_response_type(MessageType t) {
  return t == raftbgp::v1::MSG_PRE_VOTE ? raftbgp::v1::MSG_PRE_VOTE_RESP : raftbgp::v1::MSG_VOTE_RESP;
}

}  // namespace

const char* role_name(Role r) {
  switch (r) {
    case Role::kFollower: return "follower";
    case Role::kPreCandidate: return "pre-candidate";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
  }
  return "?";
}

const char* drop_reason_name(DropReason r) {
  switch (r) {
    case DropReason::kUnknownType: return "unknown_type";
    case DropReason::kNotForMe: return "not_for_me";
    case DropReason::kMalformed: return "malformed";
    case DropReason::kStaleTerm: return "stale_term";
    case DropReason::kUnknownPeer: return "unknown_peer";
    case DropReason::kInLease: return "in_lease";
    case DropReason::kUnexpected: return "unexpected";
    case DropReason::kContradictsLog: return "contradicts_log";
    case DropReason::kNotLeader: return "not_leader";
    case DropReason::kCount_: break;
  }
  return "?";
}

Node::Node(const Config& c, const Storage& storage)
    : id_(c.id),
      voters_(c.voters),
      election_ticks_(c.election_ticks),
      heartbeat_ticks_(c.heartbeat_ticks),
      max_msg_bytes_(c.max_msg_bytes),
      max_inflight_msgs_(c.max_inflight_msgs),
      max_inflight_bytes_(c.max_inflight_bytes),
      pre_vote_(c.pre_vote),
      check_quorum_(c.check_quorum),
      storage_(storage),
      log_(storage, c.applied),
      rng_(c.seed) {
  if (id_ == kNoNode) RAFT_PANIC("Config.id must be non-zero");
  if (heartbeat_ticks_ <= 0 || election_ticks_ <= heartbeat_ticks_)
    RAFT_PANIC("Config needs 0 < heartbeat_ticks < election_ticks");
  if (max_inflight_msgs_ == 0 || max_msg_bytes_ < 2 * kMessageOverhead)
    RAFT_PANIC("Config needs max_inflight_msgs > 0 and max_msg_bytes >= 192");
  learners_ = c.learners;
  if (const SnapshotMetadata snap = storage.snapshot_metadata(); snap.index() > 0) {
    // The snapshot's configuration replaces the bootstrap list: the changes that led to it are gone.
    const ConfState& cs = snap.conf_state();
    voters_.assign(cs.voters().begin(), cs.voters().end());
    learners_.assign(cs.learners().begin(), cs.learners().end());
  }
  committed_voters_ = voters_;
  committed_learners_ = learners_;
  for (std::vector<NodeId>* set : {&voters_, &learners_, &committed_voters_, &committed_learners_}) {
    std::sort(set->begin(), set->end());
    set->erase(std::unique(set->begin(), set->end()), set->end());
    if (std::find(set->begin(), set->end(), kNoNode) != set->end())
      RAFT_PANIC("Config.voters/learners contain node id 0");
  }
  for (NodeId l : learners_) {
    if (is_voter(l)) RAFT_PANIC("Config: a node cannot be both voter and learner");
  }
  // Rebuild the configuration from the log: committed changes apply now, later ones when they commit.
  if (log_.last_index() >= log_.first_index()) {
    track_conf_entries(log_.slice(log_.first_index(), log_.last_index() + 1, UINT64_MAX));
  }
  apply_committed_conf_changes();
  const HardState hs = storage.hard_state();
  term_ = hs.term();
  vote_ = hs.vote();
  prev_hard_state_ = hs;
  prev_hard_state_.set_commit(log_.committed());
  become_follower(term_, kNoNode);
  prev_soft_state_ = {lead_, role_};
}

bool Node::is_voter(NodeId id) const { return std::binary_search(voters_.begin(), voters_.end(), id); }

bool Node::is_learner(NodeId id) const { return std::binary_search(learners_.begin(), learners_.end(), id); }

std::vector<NodeId> Node::replication_targets() const {
  std::vector<NodeId> out;
  for (const auto& [id, pr] : progress_) {
    if (id != id_) out.push_back(id);
  }
  return out;
}

ConfState Node::conf_state() const {
  ConfState cs;
  for (NodeId v : voters_) cs.add_voters(v);
  for (NodeId l : learners_) cs.add_learners(l);
  return cs;
}

bool Node::committed_in_current_term() const { return log_.term(log_.committed()) == term_; }

// ---------------------------------------------------------------------------------------------
// Role transitions (§5.2)

void Node::reset_randomized_election_timeout() {
  // §5.2: randomised timeouts in [ET, 2ET) make split votes rare.
  randomized_election_timeout_ =
      election_ticks_ + static_cast<int>(rng_() % static_cast<std::uint64_t>(election_ticks_));
}

void Node::reset(Term term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNoNode;
  }
  lead_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  reset_randomized_election_timeout();
  lead_transferee_ = kNoNode;
  votes_.clear();
  read_requests_.clear();
  progress_.clear();
  for (NodeId v : voters_) add_progress(v);
  for (NodeId l : learners_) add_progress(l);
}

void Node::add_progress(NodeId id) {
  if (progress_.count(id) != 0) return;
  auto it = progress_.emplace(id, Progress(log_.last_index() + 1, max_inflight_msgs_, max_inflight_bytes_)).first;
  // This node counts only what it has persisted (node.h, parallel persistence).
  if (id == id_) it->second.match = std::min(log_.last_index(), log_.stable_last_index());
}

void Node::become_follower(Term term, NodeId lead) {
  reset(term);
  lead_ = lead;
  role_ = Role::kFollower;
}

void Node::become_pre_candidate() {
  RAFT_ASSERT(role_ != Role::kLeader);
  // Thesis §9.6: the pre-candidate changes neither its term nor its vote.
  votes_.clear();
  lead_ = kNoNode;
  role_ = Role::kPreCandidate;
}

void Node::become_candidate() {
  RAFT_ASSERT(role_ != Role::kLeader);
  reset(term_ + 1);
  vote_ = id_;
  role_ = Role::kCandidate;
}

void Node::become_leader() {
  RAFT_ASSERT(role_ == Role::kCandidate);
  reset(term_);
  lead_ = id_;
  role_ = Role::kLeader;
  // Any configuration change still uncommitted in our log must commit before we append another.
  pending_conf_index_ = log_.last_index();
  if (progress_.count(id_) != 0) {
    progress_.at(id_).become_replicate();
    progress_.at(id_).recent_active = true;
  }
  // §8: a new leader commits a no-op entry of its own term, which commits everything before it
  // (§5.4.2) and lets ReadIndex know the commit index is current (thesis §6.4).
  append_entries({Entry{}});
  bcast_append();
}

// ---------------------------------------------------------------------------------------------
// Time

void Node::tick() {
  if (role_ == Role::kLeader) {
    tick_heartbeat();
  } else {
    tick_election();
  }
  apply_committed_conf_changes();
}

void Node::tick_election() {
  ++election_elapsed_;
  if (promotable() && election_elapsed_ >= randomized_election_timeout_) {
    election_elapsed_ = 0;
    Message m;
    m.set_type(raftbgp::v1::MSG_HUP);
    step(m);
  }
}

void Node::tick_heartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  for (auto& [id, pr] : progress_) {
    if (id != id_) {
      ++pr.ticks_since_contact;
      ++pr.ticks_since_chunk;
    }
  }
  if (election_elapsed_ >= election_ticks_) {
    election_elapsed_ = 0;
    if (check_quorum_) {
      Message m;
      m.set_type(raftbgp::v1::MSG_CHECK_QUORUM);
      step(m);
    }
    // Thesis §3.10: a transfer that did not finish within an election timeout is abandoned.
    if (role_ == Role::kLeader) lead_transferee_ = kNoNode;
  }
  if (role_ != Role::kLeader) return;
  if (heartbeat_elapsed_ >= heartbeat_ticks_) {
    heartbeat_elapsed_ = 0;
    Message m;
    m.set_type(raftbgp::v1::MSG_BEAT);
    step(m);
  }
}

void Node::campaign() {
  if (role_ == Role::kLeader) return;
  Message m;
  m.set_type(raftbgp::v1::MSG_HUP);
  step(m);
}

// ---------------------------------------------------------------------------------------------
// Step: validation, term rules (§5.1), dispatch

std::optional<DropReason> Node::validate(const Message& m) const {
  const MessageType t = m.type();
  if (!raftbgp::v1::MessageType_IsValid(t) || t == raftbgp::v1::MSG_UNKNOWN || t == raftbgp::v1::MSG_PROP ||
      t == raftbgp::v1::MSG_FORWARD || t == raftbgp::v1::MSG_FORWARD_RESP) {
    return DropReason::kUnknownType;
  }
  if (is_local(t)) return m.term() == 0 ? std::nullopt : std::optional(DropReason::kUnknownType);
  if (m.to() != id_) return DropReason::kNotForMe;
  if (m.from() == kNoNode || m.from() == id_ || m.term() == 0) return DropReason::kMalformed;
  if (m.log_term() > m.term()) return DropReason::kMalformed;
  if (t == raftbgp::v1::MSG_APP) {
    // Entries must follow prevLogIndex contiguously with non-decreasing terms no newer than the
    // leader's term (Log Matching, §5.3).
    Index expect = m.index() + 1;
    Term prev = m.log_term();
    for (const Entry& e : m.entries()) {
      if (e.index() != expect || e.term() < prev || e.term() > m.term()) return DropReason::kMalformed;
      if (!raftbgp::v1::EntryType_IsValid(e.type())) return DropReason::kMalformed;
      if (e.type() == raftbgp::v1::ENTRY_CONF_CHANGE) {
        raftbgp::v1::ConfChange cc;
        if (!cc.ParseFromString(e.data())) return DropReason::kMalformed;
      }
      ++expect;
      prev = e.term();
    }
    if (m.index() == 0 && m.log_term() != 0) return DropReason::kMalformed;
  }
  if (t == raftbgp::v1::MSG_SNAP &&
      (m.snapshot().index() == 0 || m.snapshot().term() == 0 || m.snapshot().term() > m.term())) {
    return DropReason::kMalformed;
  }
  return std::nullopt;
}

std::optional<DropReason> Node::step(const Message& m) {
  std::optional<DropReason> drop = validate(m);
  // A stale message is answered and counted as stale (step_validated); a current or newer one that
  // contradicts our committed log is refused before it can change term, leader or log.
  if (!drop && m.term() >= term_) drop = contradicts_log(m);
  if (!drop) drop = step_validated(m);
  if (drop) ++dropped_[static_cast<int>(*drop)];
  apply_committed_conf_changes();
  return drop;
}

std::optional<DropReason> Node::step_validated(const Message& m) {
  const MessageType t = m.type();
  if (m.term() == 0) {
    // Local event.
  } else if (m.term() > term_) {
    // An honest TimeoutNow is in the target's current term (check_timeout_now): refuse a newer one
    // before it moves our term.
    if (t == raftbgp::v1::MSG_TIMEOUT_NOW) return DropReason::kNotLeader;
    if (t == raftbgp::v1::MSG_VOTE || t == raftbgp::v1::MSG_PRE_VOTE) {
      // Thesis §4.2.3 / §6.2: a node that heard from a leader within the minimum election timeout
      // does not help depose it. A transfer campaign (thesis §3.10) is exempt.
      const bool force = t == raftbgp::v1::MSG_VOTE && m.context() == kCampaignTransfer;
      const bool in_lease = check_quorum_ && lead_ != kNoNode && election_elapsed_ < election_ticks_;
      if (!force && in_lease) return DropReason::kInLease;
    }
    // Never change term on a pre-vote request (thesis §9.6); a granted pre-vote carries the future term,
    // and we bump our term only when we win the pre-vote.
    const bool keeps_term = t == raftbgp::v1::MSG_PRE_VOTE || (t == raftbgp::v1::MSG_PRE_VOTE_RESP && !m.reject());
    if (!keeps_term) {
      const bool from_leader =
          t == raftbgp::v1::MSG_APP || t == raftbgp::v1::MSG_HEARTBEAT || t == raftbgp::v1::MSG_SNAP;
      become_follower(m.term(), from_leader ? m.from() : kNoNode);
    }
  } else if (m.term() < term_) {
    if ((check_quorum_ || pre_vote_) && (t == raftbgp::v1::MSG_APP || t == raftbgp::v1::MSG_HEARTBEAT)) {
      // A leader cut off by a partition keeps its old term. Tell it ours so that it steps down;
      // otherwise, with PreVote, nobody would ever raise its term (thesis §9.6).
      Message r;
      r.set_type(raftbgp::v1::MSG_APP_RESP);
      r.set_to(m.from());
      send(std::move(r));
    } else if (t == raftbgp::v1::MSG_PRE_VOTE) {
      Message r;
      r.set_type(raftbgp::v1::MSG_PRE_VOTE_RESP);
      r.set_to(m.from());
      r.set_reject(true);
      send(std::move(r));
    }
    return DropReason::kStaleTerm;
  }

  switch (t) {
    case raftbgp::v1::MSG_HUP:
      if (role_ == Role::kLeader) return DropReason::kUnexpected;
      start_campaign(pre_vote_ ? CampaignKind::kPreElection : CampaignKind::kElection);
      return std::nullopt;
    case raftbgp::v1::MSG_VOTE:
    case raftbgp::v1::MSG_PRE_VOTE: handle_vote_request(m); return std::nullopt;
    case raftbgp::v1::MSG_READ_INDEX_RESP:
      // A leader of our term confirmed its commit index after our request was sent: valid in any role.
      read_states_.push_back({m.index(), m.context(), m.reject()});
      return std::nullopt;
    default: break;
  }
  switch (role_) {
    case Role::kLeader: return step_leader(m);
    case Role::kPreCandidate:
    case Role::kCandidate: return step_candidate(m);
    case Role::kFollower: return step_follower(m);
  }
  return DropReason::kUnexpected;
}

// ---------------------------------------------------------------------------------------------
// Elections (§5.2, thesis §9.6)

void Node::start_campaign(CampaignKind kind) {
  if (!promotable()) return;
  MessageType type;
  Term term;
  if (kind == CampaignKind::kPreElection) {
    become_pre_candidate();
    type = raftbgp::v1::MSG_PRE_VOTE;
    term = term_ + 1;  // the term we would campaign in; ours stays unchanged
  } else {
    become_candidate();
    type = raftbgp::v1::MSG_VOTE;
    term = term_;
  }
  if (poll(id_, true).first >= quorum()) {
    // A single-voter cluster wins at once.
    if (kind == CampaignKind::kPreElection) {
      start_campaign(CampaignKind::kElection);
    } else {
      become_leader();
    }
    return;
  }
  for (NodeId v : voters_) {
    if (v == id_) continue;
    Message m;
    m.set_type(type);
    m.set_to(v);
    m.set_term(term);
    m.set_index(log_.last_index());
    m.set_log_term(log_.last_term());
    if (kind == CampaignKind::kTransfer) m.set_context(std::string(kCampaignTransfer));
    send(std::move(m));
  }
}

std::pair<std::size_t, std::size_t> Node::poll(NodeId from, bool granted) {
  votes_.try_emplace(from, granted);  // the first answer of each voter counts (duplicates are ignored)
  std::size_t yes = 0;
  std::size_t no = 0;
  for (const auto& [id, v] : votes_) {
    if (!is_voter(id)) continue;
    (v ? yes : no) += 1;
  }
  return {yes, no};
}

void Node::handle_vote_request(const Message& m) {
  // §5.2 / §5.4.1: grant at most one vote per term, and only to a candidate whose log is at least as
  // up-to-date as ours. A pre-vote for a future term is granted without promising anything.
  const bool pre = m.type() == raftbgp::v1::MSG_PRE_VOTE;
  const bool can_vote = vote_ == m.from() || (vote_ == kNoNode && lead_ == kNoNode) || (pre && m.term() > term_);
  Message r;
  r.set_type(vote_response_type(m.type()));
  r.set_to(m.from());
  if (can_vote && log_.is_up_to_date(m.index(), m.log_term())) {
    // The granting response carries the candidate's term (for a pre-vote, the future term).
    r.set_term(m.term());
    if (!pre) {
      election_elapsed_ = 0;
      vote_ = m.from();  // persisted (Ready::hard_state) before this response is sent
    }
  } else {
    r.set_reject(true);
  }
  send(std::move(r));
}

std::optional<DropReason> Node::step_candidate(const Message& m) {
  const MessageType mine = role_ == Role::kPreCandidate ? raftbgp::v1::MSG_PRE_VOTE_RESP : raftbgp::v1::MSG_VOTE_RESP;
  switch (m.type()) {
    case raftbgp::v1::MSG_APP:
      // §5.2: a candidate that hears from a leader of its term (or newer) returns to follower.
      become_follower(m.term(), m.from());
      handle_append_entries(m);
      return std::nullopt;
    case raftbgp::v1::MSG_HEARTBEAT:
      become_follower(m.term(), m.from());
      handle_heartbeat(m);
      return std::nullopt;
    case raftbgp::v1::MSG_SNAP:
      become_follower(m.term(), m.from());
      handle_snapshot(m);
      return std::nullopt;
    default: break;
  }
  if (m.type() != mine) return DropReason::kUnexpected;
  if (!is_voter(m.from())) return DropReason::kUnknownPeer;
  const auto [yes, no] = poll(m.from(), !m.reject());
  if (yes >= quorum()) {
    if (role_ == Role::kPreCandidate) {
      start_campaign(CampaignKind::kElection);
    } else {
      become_leader();
    }
  } else if (no > voters_.size() - quorum()) {
    // The election is lost: enough voters said no that a quorum can no longer be reached.
    become_follower(term_, kNoNode);
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Leader (§5.3, §5.4, thesis §6.2)

std::optional<DropReason> Node::step_leader(const Message& m) {
  switch (m.type()) {
    case raftbgp::v1::MSG_BEAT: bcast_heartbeat(); return std::nullopt;
    case raftbgp::v1::MSG_CHECK_QUORUM: handle_check_quorum(); return std::nullopt;
    case raftbgp::v1::MSG_READ_INDEX: handle_read_index_request(m); return std::nullopt;
    case raftbgp::v1::MSG_APP_RESP:
    case raftbgp::v1::MSG_HEARTBEAT_RESP:
    case raftbgp::v1::MSG_SNAP_RESP: break;
    default: return DropReason::kUnexpected;
  }
  auto it = progress_.find(m.from());
  if (it == progress_.end()) return DropReason::kUnknownPeer;
  Progress& pr = it->second;
  if (m.type() == raftbgp::v1::MSG_APP_RESP && !m.reject() && m.index() > log_.last_index()) {
    return DropReason::kMalformed;  // a follower cannot match entries we never had
  }
  pr.recent_active = true;
  pr.ticks_since_contact = 0;
  if (m.type() == raftbgp::v1::MSG_APP_RESP) {
    handle_append_response(m, pr);
  } else if (m.type() == raftbgp::v1::MSG_SNAP_RESP) {
    handle_snapshot_response(m, pr);
  } else {
    handle_heartbeat_response(pr, m.from(), m.context());
  }
  return std::nullopt;
}

void Node::handle_append_response(const Message& m, Progress& pr) {
  if (m.reject()) {
    Index next_probe = m.reject_hint();
    if (m.log_term() > 0) next_probe = log_.find_conflict_by_term(m.reject_hint(), m.log_term()).first;
    if (pr.maybe_decr_to(m.index(), next_probe)) {
      if (pr.state == Progress::State::kReplicate) pr.become_probe();
      send_append(m.from());
    }
    return;
  }
  const bool was_paused = pr.is_paused();
  if (!pr.maybe_update(m.index())) return;
  if (pr.state == Progress::State::kProbe ||
      (pr.state == Progress::State::kSnapshot && pr.match >= pr.pending_snapshot)) {
    pr.become_replicate();
  } else if (pr.state == Progress::State::kReplicate) {
    pr.inflights.free_le(m.index());
  }
  if (maybe_commit()) {
    bcast_pending_ = true;  // the new commit index goes to every follower with the next Ready
  } else if (was_paused && !bcast_pending_) {
    // A follower that was paused learns our commit index now; when a broadcast is already pending it
    // carries the commit to this follower too, and an empty append here would only duplicate it.
    send_append(m.from());
  }
  // Flow control may now allow more entries in flight: they leave with the next Ready's broadcast, where
  // they can share one AppendEntries (one announcement) with the other followers' (bcast_aligned).
  if (!pr.is_paused() && pr.next <= log_.last_index()) append_pending_ = true;
  if (m.from() == lead_transferee_ && pr.match == log_.last_index()) {
    Message t;
    t.set_type(raftbgp::v1::MSG_TIMEOUT_NOW);
    t.set_to(m.from());
    send(std::move(t));
  }
}

void Node::handle_heartbeat_response(Progress& pr, NodeId from, const std::string& context) {
  if (!context.empty()) ack_read(from, context);
  if (pr.state != Progress::State::kReplicate) {
    // A probe or a chunk in flight is re-sent only after a retransmission timeout: heartbeats come far more often
    // than its round trip through a loaded ExaBGP queue or a frozen transit, and re-sending on each of them would
    // multiply the transfer until the queue, and then the heartbeats, drown (a follower behind a slow path never
    // caught up while writes continued: nemesis seed 21, issue 18).
    if (pr.probe_sent && pr.ticks_since_chunk < retransmit_ticks()) return;
    pr.probe_sent = false;
    if (pr.state == Progress::State::kSnapshot || pr.match < log_.last_index()) send_append(from);
    return;
  }
  // A replicating follower that lags was sent entries it has not acknowledged yet. Over BGP an answer that is
  // only late is far more common than a lost one: under load the acknowledgements queue in ExaBGP and the
  // transits, and every heartbeat answer re-sending to every such follower (an empty AppendEntries, or one
  // more window slot) multiplied the load until the leader lost its quorum (32-router burst, issue 17). So
  // the recovery waits, as a probe does, one retransmission timeout after the last new entries were sent:
  // then a lost final AppendEntries or acknowledgement is re-sent (an empty AppendEntries is answered, or
  // rejected into a probe), and a window full of lost answers frees one slot, so replication cannot stall
  // on a lossy transport. Entries not sent yet leave as soon as the window has room.
  // One recovery per timeout: the retransmission restarts the clock, like the new entries it stands in for.
  const bool overdue = pr.ticks_since_chunk >= retransmit_ticks();
  if (pr.inflights.full()) {
    if (!overdue) return;
    pr.inflights.free_first_one();
  }
  if (pr.match >= log_.last_index()) return;
  if (pr.next > log_.last_index() && !overdue) return;
  if (send_append(from) && overdue) pr.ticks_since_chunk = 0;
}

void Node::handle_check_quorum() {
  // Thesis §6.2: step down if a quorum has not been heard from during the last election timeout, so a
  // partitioned leader stops serving and clients find the new one.
  std::size_t active = 0;
  for (NodeId v : voters_) {
    if (v == id_ || progress_.at(v).recent_active) ++active;
  }
  for (auto& [id, pr] : progress_) {
    if (id != id_) pr.recent_active = false;
  }
  if (active < quorum()) become_follower(term_, kNoNode);
}

ProposeResult Node::propose(std::string data) {
  ProposeResult res;
  res.leader = lead_;
  if (role_ != Role::kLeader) {
    res.status = ProposeResult::Status::kNotLeader;
    return res;
  }
  if (lead_transferee_ != kNoNode) {
    res.status = ProposeResult::Status::kTransferring;
    return res;
  }
  std::vector<Entry> entries(1);
  Entry& e = entries.front();
  e.set_data(std::move(data));
  e.set_term(term_);
  e.set_index(log_.last_index() + 1);
  if (e.ByteSizeLong() + kMessageOverhead > max_msg_bytes_) {
    res.status = ProposeResult::Status::kTooLarge;
    return res;
  }
  append_entries(std::move(entries));
  bcast_pending_ = true;
  res.status = ProposeResult::Status::kAccepted;
  res.index = log_.last_index();
  res.term = term_;
  apply_committed_conf_changes();
  return res;
}

void Node::append_entries(std::vector<Entry> entries) {
  Index i = log_.last_index();
  for (Entry& e : entries) {
    e.set_term(term_);
    e.set_index(++i);
  }
  // The payloads move into the log; a configuration change (rare) is tracked from a copy, once it is in.
  const bool conf = std::any_of(entries.begin(), entries.end(),
                                [](const Entry& e) { return e.type() == raftbgp::v1::ENTRY_CONF_CHANGE; });
  std::vector<Entry> conf_entries;
  if (conf) conf_entries = entries;
  log_.append(std::move(entries));
  if (conf) track_conf_entries(conf_entries);
  // The leader's own entries count towards the quorum only once persisted: advance() raises its match
  // (parallel persistence, node.h), since the driver may send them to followers before its own fsync.
  maybe_commit();
}

bool Node::maybe_commit() {
  // A leader whose own removal is in its log still leads (thesis §4.2.2) but no longer counts itself.
  if (voters_.empty()) return false;
  std::vector<Index> match;
  match.reserve(voters_.size());
  for (NodeId v : voters_) match.push_back(progress_.at(v).match);
  std::sort(match.begin(), match.end(), std::greater<>());
  return log_.maybe_commit(match[quorum() - 1], term_);
}

void Node::bcast_append(bool commit_news) {
  const std::vector<NodeId> aligned = bcast_aligned();
  for (NodeId id : replication_targets()) {
    if (std::find(aligned.begin(), aligned.end(), id) != aligned.end()) continue;
    if (!send_append(id, commit_news, commit_news)) continue;
    // Flow control may allow several (size-limited) messages in flight to a follower that is far behind.
    while (send_append(id, false)) {
    }
  }
}

// Followers that acknowledged at different times, or a learner a little behind, would each get their own
// AppendEntries from their own next index, and each costs the driver a frame, i.e. a BGP announcement that every
// transit parses. When the entries missing at the lowest of those next indexes still fit one message, all of them
// get that one message instead: it is identical but for `to`, so the driver sends it as one frame naming all of them
// (docs/architecture.md §3). A follower skips the entries it already holds (§5.3: it truncates only at a real
// conflict) and answers with its new last index as usual. Followers that would stretch the message past
// max_msg_bytes are left out, lowest next first, and get their own messages from bcast_append().
std::vector<NodeId> Node::bcast_aligned() {
  const Index last = log_.last_index();
  std::vector<NodeId> group;
  for (NodeId id : replication_targets()) {
    const Progress& pr = progress_.at(id);
    if (pr.state == Progress::State::kReplicate && !pr.is_paused() && pr.next <= last && log_.term(pr.next - 1))
      group.push_back(id);
  }
  std::sort(group.begin(), group.end(),
            [&](NodeId a, NodeId b) { return progress_.at(a).next > progress_.at(b).next; });
  while (group.size() >= 2) {
    const Index from = progress_.at(group.back()).next;
    std::uint64_t bytes = 0;
    Message m = append_from(from, *log_.term(from - 1), bytes);
    if (m.entries(m.entries_size() - 1).index() != last) {
      group.pop_back();  // the lowest does not fit with the rest: it gets its own
      continue;
    }
    for (NodeId id : group) {
      progress_.at(id).sent_entries(last, bytes);
      Message copy = m;
      copy.set_to(id);
      send(std::move(copy));
    }
    return group;
  }
  return {};
}

void Node::bcast_heartbeat(const std::string& context) {
  const Index lagging = lagging_commit();
  for (NodeId id : replication_targets()) send_heartbeat(id, context, lagging);
}

// Heartbeats take at most two shapes, so the driver sends them as at most two frames however many followers there
// are (docs/architecture.md §3): the commit index to the followers that hold it, and to the others the lowest of
// their matches. §5.3 needs only that a heartbeat's commit is at or below what its follower holds; a lagging
// follower learns the exact commit from the AppendEntries that catch it up. (Capping each at its own match gave
// every lagging follower a message of its own: up to 31 frames per heartbeat round at 32 routers under load.)
Index Node::lagging_commit() const {
  Index low = log_.committed();
  for (NodeId id : replication_targets()) low = std::min(low, progress_.at(id).match);
  return low;
}

bool Node::send_append(NodeId to, bool send_if_empty, bool commit_news) {
  Progress& pr = progress_.at(to);
  if (pr.is_paused()) return false;
  const Index prev_index = pr.next - 1;
  const std::optional<Term> prev_term = log_.term(prev_index);
  if (pr.state == Progress::State::kSnapshot || !prev_term) {
    // The entries this follower needs were compacted away (§7).
    send_snapshot_chunk(to, pr);
    return true;
  }
  std::uint64_t bytes = 0;
  Message m = append_from(pr.next, *prev_term, bytes);
  m.set_to(to);
  if (m.entries().empty() && !send_if_empty) return false;
  // A replicating follower has been sent everything up to prev_index: this is only news of the commit
  // index. Its answer would repeat an acknowledgement it sends (or sent) for the entries; if that one is
  // lost, the next heartbeat answer makes the leader send an unmarked AppendEntries, which is answered.
  if (commit_news && m.entries().empty() && pr.state == Progress::State::kReplicate) m.set_commit_only(true);
  pr.sent_entries(m.entries().empty() ? 0 : m.entries().rbegin()->index(), bytes);
  send(std::move(m));
  return true;
}

Message Node::append_from(Index from, Term prev_term, std::uint64_t& bytes) const {
  Message m;
  m.set_type(raftbgp::v1::MSG_APP);
  m.set_index(from - 1);
  m.set_log_term(prev_term);
  m.set_commit(log_.committed());
  bytes = 0;
  if (from <= log_.last_index()) {
    std::vector<Entry> entries = log_.slice(from, log_.last_index() + 1, max_msg_bytes_ - kMessageOverhead, &bytes);
    m.mutable_entries()->Reserve(static_cast<int>(entries.size()));
    for (Entry& e : entries) m.mutable_entries()->Add(std::move(e));
    // max_msg_bytes bounds the whole serialized message (one transport message, docs/architecture.md §2).
    // Rarely more than one pass: slice() already left kMessageOverhead bytes of room.
    while (m.entries_size() > 1 && m.ByteSizeLong() > max_msg_bytes_) {
      bytes -= m.entries(m.entries_size() - 1).ByteSizeLong();
      m.mutable_entries()->RemoveLast();
    }
  }
  return m;
}

void Node::send_heartbeat(NodeId to, const std::string& context, Index lagging_commit) {
  // The commit index is capped at what the follower is known to hold, so the follower never commits an
  // entry it has not matched with ours (§5.3); lagging_commit() is at or below every follower's match.
  const Index match = progress_.at(to).match;
  Message m;
  m.set_type(raftbgp::v1::MSG_HEARTBEAT);
  m.set_to(to);
  m.set_commit(match >= log_.committed() ? log_.committed() : std::min(match, lagging_commit));
  m.set_context(context);
  send(std::move(m));
}

void Node::send(Message m) {
  RAFT_ASSERT(m.to() != id_ && m.to() != kNoNode);
  m.set_from(id_);
  if (m.term() == 0) m.set_term(term_);
  msgs_.push_back(std::move(m));
}

}  // namespace raftbgp::raft
