// AgentCore's administration: snapshots and log compaction (Raft §7), membership changes (thesis §4.1,
// one server at a time) and leadership transfer (thesis §3.10). See agent_core.h "Administration".
#include <algorithm>
#include <cstdlib>

#include "raftbgp/agent/agent_core.h"
#include "raftbgp/agent/log.h"

namespace raftbgp::agent {
namespace {

using nlohmann::json;

bool contains(const std::vector<raft::NodeId>& ids, raft::NodeId id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

void add_sorted(std::vector<raft::NodeId>& ids, raft::NodeId id) {
  if (!contains(ids, id)) ids.insert(std::upper_bound(ids.begin(), ids.end(), id), id);
}

void remove_id(std::vector<raft::NodeId>& ids, raft::NodeId id) { std::erase(ids, id); }

std::vector<raft::NodeId> sorted(const google::protobuf::RepeatedField<std::uint64_t>& ids) {
  std::vector<raft::NodeId> out(ids.begin(), ids.end());
  std::sort(out.begin(), out.end());
  return out;
}

std::string ids_text(const std::vector<raft::NodeId>& ids) {
  std::string s;
  for (raft::NodeId id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return "[" + s + "]";
}

}  // namespace

void AgentCore::set_applied_members(std::vector<raft::NodeId> voters, std::vector<raft::NodeId> learners) {
  applied_voters_ = std::move(voters);
  applied_learners_ = std::move(learners);
  model_.set_voters(applied_voters_);  // heartbeats are timed to voters only (latency_model.h)
}

std::optional<std::string> AgentCore::restore_from_storage(raft::Index& applied) {
  set_applied_members(config_.members, config_.learners);
  std::optional<raft::Snapshot> snap;
  try {
    snap = storage_->snapshot();
  } catch (const raft::StorageIoError& e) {
    return std::string("wal snapshot: ") + e.what();
  }
  if (!snap) return std::nullopt;
  if (auto err = sm_.restore(snap->data, snap->meta.index()))
    return "snapshot at index " + std::to_string(snap->meta.index()) + " in " + storage_->snapshot_path() + ": " + *err;
  set_applied_members(sorted(snap->meta.conf_state().voters()), sorted(snap->meta.conf_state().learners()));
  applied = snap->meta.index();
  LOG_INFO("restored the state machine from the snapshot at index " + std::to_string(applied));
  return std::nullopt;
}

void AgentCore::install_snapshot(const raft::Snapshot& snap) {
  if (auto err = sm_.restore(snap.data, snap.meta.index())) {
    // The leader serialized it and the transport authenticated it: a broken invariant, not an input error.
    LOG_ERROR("installed snapshot at index " + std::to_string(snap.meta.index()) + " does not load: " + *err);
    std::abort();
  }
  set_applied_members(sorted(snap.meta.conf_state().voters()), sorted(snap.meta.conf_state().learners()));
  bytes_since_snapshot_ = 0;
  ++snapshots_installed_;
  LOG_INFO("installed the leader's snapshot at index " + std::to_string(snap.meta.index()) + " (" +
           std::to_string(snap.data.size()) + " bytes)");
}

std::variant<raft::Index, Refusal> AgentCore::take_snapshot() {
  const raft::Index last = storage_->snapshot_metadata().index();
  if (sm_.applied_index() <= last)
    return Refusal{ErrorCode::kNotReady, "nothing applied since the snapshot at index " + std::to_string(last)};
  std::optional<raft::SnapshotMetadata> meta = node_->snapshot_metadata_at_applied();
  if (!meta) return Refusal{ErrorCode::kNotReady, "a committed configuration change is not applied yet; retry"};
  RAFT_ASSERT(meta->index() == sm_.applied_index());
  raft::Snapshot snap{*meta, sm_.serialize()};
  recorder_.save_snapshot(snap);
  storage_->save_snapshot(snap);
  bytes_since_snapshot_ = 0;
  ++snapshots_taken_;
  LOG_INFO("snapshot at index " + std::to_string(meta->index()) + " (" + std::to_string(snap.data.size()) +
           " bytes); log now starts at " + std::to_string(storage_->first_index()));
  return meta->index();
}

void AgentCore::maybe_compact() {
  const raft::Index last = storage_->snapshot_metadata().index();
  const raft::Index applied = sm_.applied_index();
  if (applied <= last) return;
  if (applied - last < config_.snapshot_log_entries && bytes_since_snapshot_ < config_.snapshot_log_bytes) return;
  auto r = take_snapshot();
  if (auto* why = std::get_if<Refusal>(&r)) LOG_DEBUG("compaction postponed: " + why->message);
}

void AgentCore::apply_conf_change(const raft::Entry& e) {
  // The core applies the change to its own configuration; the agent tracks the applied one for the
  // members requests it answers. The transport needs no member list (it accepts any id its mailbox
  // layout fits), so nothing else changes.
  raftbgp::v1::ConfChange cc;
  if (!cc.ParseFromString(e.data())) return sm_.skip(e.index());
  {
    const raft::NodeId id = cc.node_id();
    std::vector<raft::NodeId> voters = applied_voters_, learners = applied_learners_;
    switch (cc.type()) {
      case raftbgp::v1::CONF_ADD_LEARNER:
        if (!contains(voters, id)) add_sorted(learners, id);
        break;
      case raftbgp::v1::CONF_PROMOTE:
      case raftbgp::v1::CONF_ADD_VOTER:
        remove_id(learners, id);
        add_sorted(voters, id);
        break;
      case raftbgp::v1::CONF_REMOVE:
        remove_id(learners, id);
        remove_id(voters, id);
        break;
      default: break;
    }
    set_applied_members(std::move(voters), std::move(learners));
    LOG_INFO("membership at index " + std::to_string(e.index()) + ": " + raftbgp::v1::ConfChangeType_Name(cc.type()) +
             " " + std::to_string(id) + " -> voters " + ids_text(applied_voters_) + " learners " +
             ids_text(applied_learners_));
  }
  v1::Command session;
  if (cc.context().empty() || !session.ParseFromString(cc.context())) return sm_.skip(e.index());  // older agent
  cc.clear_context();
  *session.mutable_conf_change() = cc;
  const v1::Result r = sm_.apply_conf(e.index(), session);
  if (r.index() != e.index())  // the leader's guard (admin_in_log) keeps duplicates out of the log
    LOG_ERROR("configuration change at index " + std::to_string(e.index()) + " repeats client " + session.client_id() +
              " seq " + std::to_string(session.seq()) + ": " + r.message());
}

void AgentCore::start_transfers() {
  std::vector<raft::NodeId> targets;
  targets.swap(transfers_to_start_);
  for (raft::NodeId target : targets) {
    recorder_.transfer_leader(target);
    const raft::TransferResult r = node_->transfer_leader(target);
    if (r != raft::TransferResult::kStarted && r != raft::TransferResult::kAlreadyLeader)
      LOG_WARN("transfer_leader to " + std::to_string(target) + " did not start (no longer leader?)");
  }
}

ClientResponse AgentCore::snapshot_response() {
  const raft::Index last = storage_->snapshot_metadata().index();
  if (sm_.applied_index() <= last)
    return ok_response(json{{"index", last}, {"unchanged", true}, {"first_index", storage_->first_index()}});
  auto r = take_snapshot();
  if (auto* why = std::get_if<Refusal>(&r)) return error_response(*why);
  return ok_response(
      json{{"index", std::get<raft::Index>(r)}, {"unchanged", false}, {"first_index", storage_->first_index()}});
}

void AgentCore::submit_admin(const ClientRequest& req, Op op, ReplyFn reply) {
  v1::Command cmd;
  if (auto e = build_admin_command(req, op, cmd)) return reply(std::move(*e));
  if (auto answer = admin_session_answer(cmd)) return reply(std::move(*answer));  // applied before: the first outcome
  if (admin_done(cmd))
    return reply(ok_response(json{{"index", sm_.applied_index()}, {"unchanged", true}, {"leader", node_->leader()}}));
  const std::uint64_t id = next_request_++;
  cmd.set_origin_node(config_.node_id);
  cmd.set_origin_request(id);
  submit(id, Pending{std::move(reply), std::move(cmd), deadline_tick(req), 0});
}

std::optional<ClientResponse> AgentCore::build_admin_command(const ClientRequest& req, Op op, v1::Command& cmd) const {
  if (req.client_id.empty() || req.seq == 0)
    return error_response(ErrorCode::kBadRequest,
                          req.op + " needs client_id and seq >= 1: admin commands apply exactly once, like writes");
  cmd.set_client_id(req.client_id);
  cmd.set_seq(req.seq);
  auto it = req.args.find("id");
  // nlohmann keeps parsed non-negative integers unsigned, but built ones signed.
  if (it == req.args.end() || !it->is_number_integer() || it->get<std::int64_t>() <= 0)
    return error_response(ErrorCode::kBadRequest, "args.id must be a node id >= 1");
  const std::uint64_t id = it->get<std::uint64_t>();
  if (op == Op::kTransferLeader) {
    cmd.mutable_transfer_leader()->set_target(id);
    return std::nullopt;
  }
  auto l = req.args.find("learner");
  if (l != req.args.end() && !l->is_boolean())
    return error_response(ErrorCode::kBadRequest, "args.learner must be true or false");
  const bool learner = l != req.args.end() && l->get<bool>();
  if (op == Op::kMembersAdd) {
    cmd.mutable_conf_change()->set_type(learner ? raftbgp::v1::CONF_ADD_LEARNER : raftbgp::v1::CONF_ADD_VOTER);
  } else if (learner) {
    return error_response(ErrorCode::kBadRequest, "args.learner applies to members.add only");
  } else {
    cmd.mutable_conf_change()->set_type(op == Op::kMembersPromote ? raftbgp::v1::CONF_PROMOTE
                                                                  : raftbgp::v1::CONF_REMOVE);
  }
  cmd.mutable_conf_change()->set_node_id(id);
  return std::nullopt;
}

bool AgentCore::admin_done(const v1::Command& cmd) const {
  if (cmd.has_transfer_leader()) return node_->leader() == cmd.transfer_leader().target();
  const raft::NodeId id = cmd.conf_change().node_id();
  switch (cmd.conf_change().type()) {
    case raftbgp::v1::CONF_ADD_LEARNER: return contains(applied_learners_, id);
    case raftbgp::v1::CONF_PROMOTE:
    case raftbgp::v1::CONF_ADD_VOTER: return contains(applied_voters_, id);
    case raftbgp::v1::CONF_REMOVE: return !contains(applied_voters_, id) && !contains(applied_learners_, id);
    default: return false;
  }
}

std::optional<ProposeRefusal> AgentCore::propose_admin(const v1::Command& cmd) {
  if (cmd.has_transfer_leader()) return propose_local(cmd);  // a normal entry with its session
  if (auto err = check_write(cmd)) return ProposeRefusal{v1::ForwardReject::INVALID, *err};  // client_id, seq, id
  if (node_->role() == raft::Role::kLeader && admin_in_log(cmd)) {
    // Applied or in the log already: proposing again would change the configuration twice. No answer:
    // the origin answers from its session table once it applies the first one.
    LOG_INFO("not proposing client " + cmd.client_id() + " seq " + std::to_string(cmd.seq()) + " again");
    return std::nullopt;
  }
  raftbgp::v1::ConfChange cc = cmd.conf_change();
  v1::Command session = cmd;
  session.clear_op();
  cc.set_context(session.SerializeAsString());
  recorder_.propose_conf_change(cc);
  return propose_refusal(node_->propose_conf_change(cc));
}

std::optional<ProposeRefusal> AgentCore::propose_refusal(const raft::ProposeResult& r) const {
  using S = raft::ProposeResult::Status;
  switch (r.status) {
    case S::kAccepted: return std::nullopt;
    case S::kTooLarge: return ProposeRefusal{v1::ForwardReject::TOO_LARGE, "the command does not fit one Raft message"};
    case S::kTransferring:
      return ProposeRefusal{v1::ForwardReject::TRANSFERRING,
                            "leadership transfer in progress; retry shortly (another node will lead)"};
    case S::kConfChangePending:
      return ProposeRefusal{v1::ForwardReject::CONF_CHANGE_PENDING,
                            "another configuration change is not committed yet; retry shortly"};
    case S::kNotReady:
      return ProposeRefusal{v1::ForwardReject::NOT_READY,
                            "the new leader has not committed an entry of its term yet; retry shortly"};
    case S::kInvalid:
      return ProposeRefusal{v1::ForwardReject::INVALID, "the change does not apply to the configuration " +
                                                            ids_text(node_->status().voters) + " voters, " +
                                                            ids_text(node_->status().learners) + " learners"};
    default: break;  // kNotLeader
  }
  return ProposeRefusal{
      v1::ForwardReject::NOT_LEADER,
      "node " + std::to_string(config_.node_id) + " is not the leader (leader: " + std::to_string(r.leader) + ")"};
}

bool AgentCore::admin_in_log(const v1::Command& cmd) const {
  if (const StateMachine::Session* s = sm_.session(cmd.client_id()); s && cmd.seq() <= s->seq) return true;
  const raft::Index last = storage_->last_index();
  if (sm_.applied_index() >= last) return false;
  // Committed or not, not applied yet: rare and short (admin commands are rare), so a scan is fine.
  for (const raft::Entry& e : storage_->entries(sm_.applied_index() + 1, last + 1, ~std::uint64_t{0})) {
    raftbgp::v1::ConfChange cc;
    v1::Command session;
    if (e.type() != raftbgp::v1::ENTRY_CONF_CHANGE || !cc.ParseFromString(e.data()) ||
        !session.ParseFromString(cc.context()))
      continue;
    if (session.client_id() == cmd.client_id() && cmd.seq() <= session.seq()) return true;
  }
  return false;
}

std::optional<ClientResponse> AgentCore::admin_session_answer(const v1::Command& cmd) const {
  const StateMachine::Session* s = sm_.session(cmd.client_id());
  if (!s || cmd.seq() > s->seq) return std::nullopt;
  v1::Result r = s->result;
  if (cmd.seq() < s->seq) {
    r.set_code(v1::Result::STALE_SEQUENCE);
    r.set_message("stale sequence: client " + cmd.client_id() + " is at seq " + std::to_string(s->seq));
  } else if (cmd.has_transfer_leader() && r.code() == v1::Result::OK && !admin_done(cmd)) {
    return std::nullopt;  // applied, and the target does not lead yet: wait for it (or the deadline)
  }
  ClientResponse out = write_response(r);
  if (out.ok) out.result = json{{"index", r.index()}, {"unchanged", true}, {"leader", node_->leader()}};
  return out;
}

void AgentCore::answer_admin() {
  std::vector<std::pair<ReplyFn, ClientResponse>> answers;
  for (auto it = pending_.begin(); it != pending_.end();) {
    const v1::Command& cmd = it->second.command;
    if (!cmd.has_conf_change() && !cmd.has_transfer_leader()) {
      ++it;
      continue;
    }
    std::optional<ClientResponse> answer;
    if (admin_done(cmd)) {
      answer = ok_response(json{{"index", sm_.applied_index()}, {"unchanged", false}, {"leader", node_->leader()}});
    } else {
      answer = admin_session_answer(cmd);  // refused at apply, or a duplicate the leader did not propose
    }
    if (!answer) {
      ++it;
      continue;
    }
    answers.emplace_back(std::move(it->second.reply), std::move(*answer));
    it = pending_.erase(it);
  }
  for (auto& [fn, response] : answers) fn(std::move(response));
}

json AgentCore::members_json() const {
  const raft::Status st = node_->status();
  json rows = json::array();
  std::vector<raft::NodeId> ids = st.voters;
  ids.insert(ids.end(), st.learners.begin(), st.learners.end());
  std::sort(ids.begin(), ids.end());
  for (raft::NodeId id : ids) {
    json m{{"id", id},
           {"voter", contains(st.voters, id)},
           {"match", nullptr},
           {"state", nullptr},
           {"last_contact_ms", nullptr}};
    for (const raft::PeerStatus& p : st.peers) {
      if (p.id != id || (st.role != raft::Role::kLeader && id != config_.node_id)) continue;
      m["match"] = id == config_.node_id ? st.last_index : p.match;
      m["state"] = id == config_.node_id ? "self" : p.state;
      m["last_contact_ms"] = p.ticks_since_contact * config_.tick_ms;
    }
    rows.push_back(std::move(m));
  }
  return json{{"node_id", config_.node_id},
              {"voters", st.voters},
              {"learners", st.learners},
              {"applied_voters", applied_voters_},
              {"applied_learners", applied_learners_},
              {"bootstrap", config_.members},
              {"bootstrap_learners", config_.learners},
              {"leader", st.leader},
              {"members", rows}};
}

}  // namespace raftbgp::agent
