// AgentCore's administration: snapshots and log compaction (Raft §7), membership changes (thesis §4.1,
// one server at a time) and leadership transfer (thesis §3.10). See agent_core.h "Administration".
#include <algorithm>
#include <cstdlib>

#include "raftbgp/agent/agent_core.h"
#include "raftbgp/agent/log.h"

namespace raftbgp::agent {
namespace {

using nlohmann::json;

ClientResponse error(std::string code, std::string message) {
  ClientResponse r;
  r.code = std::move(code);
  r.message = std::move(message);
  return r;
}

ClientResponse ok(json result) {
  ClientResponse r;
  r.ok = true;
  r.result = std::move(result);
  return r;
}

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

std::optional<std::string> AgentCore::restore_from_storage(raft::Index& applied) {
  applied_voters_ = config_.members;
  applied_learners_.clear();
  std::optional<raft::Snapshot> snap;
  try {
    snap = storage_->snapshot();
  } catch (const raft::StorageIoError& e) {
    return std::string("wal snapshot: ") + e.what();
  }
  if (!snap) return std::nullopt;
  if (auto err = sm_.restore(snap->data, snap->meta.index()))
    return "snapshot at index " + std::to_string(snap->meta.index()) + " in " + storage_->snapshot_path() + ": " +
           *err;
  applied_voters_ = sorted(snap->meta.conf_state().voters());
  applied_learners_ = sorted(snap->meta.conf_state().learners());
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
  applied_voters_ = sorted(snap.meta.conf_state().voters());
  applied_learners_ = sorted(snap.meta.conf_state().learners());
  bytes_since_snapshot_ = 0;
  ++snapshots_installed_;
  LOG_INFO("installed the leader's snapshot at index " + std::to_string(snap.meta.index()) + " (" +
           std::to_string(snap.data.size()) + " bytes)");
}

std::variant<raft::Index, std::string> AgentCore::take_snapshot() {
  const raft::Index last = storage_->snapshot_metadata().index();
  if (sm_.applied_index() <= last) return "nothing applied since the snapshot at index " + std::to_string(last);
  std::optional<raft::SnapshotMetadata> meta = node_->snapshot_metadata_at_applied();
  if (!meta) return "a committed configuration change is not applied yet; retry";
  RAFT_ASSERT(meta->index() == sm_.applied_index());
  raft::Snapshot snap{*meta, sm_.serialize()};
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
  if (auto* why = std::get_if<std::string>(&r)) LOG_DEBUG("compaction postponed: " + *why);
}

void AgentCore::apply_conf_change(const raft::Entry& e) {
  // The core applies the change to its own configuration; the agent tracks the applied one for the
  // members requests it answers. The transport needs no member list (it accepts any id its mailbox
  // layout fits), so nothing else changes.
  raftbgp::v1::ConfChange cc;
  if (cc.ParseFromString(e.data())) {
    const raft::NodeId id = cc.node_id();
    switch (cc.type()) {
      case raftbgp::v1::CONF_ADD_LEARNER:
        if (!contains(applied_voters_, id)) add_sorted(applied_learners_, id);
        break;
      case raftbgp::v1::CONF_PROMOTE:
      case raftbgp::v1::CONF_ADD_VOTER:
        remove_id(applied_learners_, id);
        add_sorted(applied_voters_, id);
        break;
      case raftbgp::v1::CONF_REMOVE:
        remove_id(applied_learners_, id);
        remove_id(applied_voters_, id);
        break;
      default:
        break;
    }
    LOG_INFO("membership at index " + std::to_string(e.index()) + ": " + raftbgp::v1::ConfChangeType_Name(cc.type()) +
             " " + std::to_string(id) + " -> voters " + ids_text(applied_voters_) + " learners " +
             ids_text(applied_learners_));
  }
  sm_.skip(e.index());
}

bool AgentCore::handle_admin_request(ClientRequest& req, ReplyFn& reply) {
  if (req.op == "members") {
    reply(ok(members_json()));
    return true;
  }
  if (req.op == "snapshot") {
    const raft::Index last = storage_->snapshot_metadata().index();
    if (sm_.applied_index() <= last) {
      reply(ok(json{{"index", last}, {"unchanged", true}, {"first_index", storage_->first_index()}}));
      return true;
    }
    auto r = take_snapshot();
    if (auto* why = std::get_if<std::string>(&r)) {
      reply(error("not_ready", *why));
    } else {
      reply(ok(json{{"index", std::get<raft::Index>(r)}, {"unchanged", false},
                    {"first_index", storage_->first_index()}}));
    }
    return true;
  }
  if (req.op != "members.add" && req.op != "members.promote" && req.op != "members.remove" &&
      req.op != "transfer_leader")
    return false;
  v1::Command cmd;
  if (auto e = build_admin_command(req, cmd)) {
    reply(std::move(*e));
    return true;
  }
  if (admin_done(cmd)) {
    reply(ok(json{{"index", sm_.applied_index()}, {"unchanged", true}, {"leader", node_->leader()}}));
    return true;
  }
  const std::uint64_t id = next_request_++;
  cmd.set_origin_node(config_.node_id);
  cmd.set_origin_request(id);
  const std::uint64_t ticks = (req.timeout_ms + config_.tick_ms - 1) / config_.tick_ms;
  submit(id, Pending{std::move(reply), std::move(cmd), tick_ + std::max<std::uint64_t>(ticks, 1), 0});
  return true;
}

std::optional<ClientResponse> AgentCore::build_admin_command(const ClientRequest& req, v1::Command& cmd) const {
  auto it = req.args.find("id");
  // nlohmann keeps parsed non-negative integers unsigned, but built ones signed.
  if (it == req.args.end() || !it->is_number_integer() || it->get<std::int64_t>() <= 0)
    return error("bad_request", "args.id must be a node id >= 1");
  const std::uint64_t id = it->get<std::uint64_t>();
  if (req.op == "transfer_leader") {
    cmd.mutable_transfer_leader()->set_target(id);
    return std::nullopt;
  }
  auto l = req.args.find("learner");
  if (l != req.args.end() && !l->is_boolean()) return error("bad_request", "args.learner must be true or false");
  const bool learner = l != req.args.end() && l->get<bool>();
  if (req.op == "members.add") {
    cmd.mutable_conf_change()->set_type(learner ? raftbgp::v1::CONF_ADD_LEARNER : raftbgp::v1::CONF_ADD_VOTER);
  } else if (learner) {
    return error("bad_request", "args.learner applies to members.add only");
  } else {
    cmd.mutable_conf_change()->set_type(req.op == "members.promote" ? raftbgp::v1::CONF_PROMOTE
                                                                     : raftbgp::v1::CONF_REMOVE);
  }
  cmd.mutable_conf_change()->set_node_id(id);
  return std::nullopt;
}

bool AgentCore::admin_done(const v1::Command& cmd) const {
  if (cmd.has_transfer_leader()) return node_->leader() == cmd.transfer_leader().target();
  if (!cmd.has_conf_change()) return false;
  const raft::NodeId id = cmd.conf_change().node_id();
  switch (cmd.conf_change().type()) {
    case raftbgp::v1::CONF_ADD_LEARNER:
      return contains(applied_learners_, id);
    case raftbgp::v1::CONF_PROMOTE:
    case raftbgp::v1::CONF_ADD_VOTER:
      return contains(applied_voters_, id);
    case raftbgp::v1::CONF_REMOVE:
      return !contains(applied_voters_, id) && !contains(applied_learners_, id);
    default:
      return false;
  }
}

std::optional<std::string> AgentCore::propose_admin(const v1::Command& cmd, std::string& code) {
  using S = raft::ProposeResult::Status;
  if (cmd.has_transfer_leader()) {
    const raft::NodeId target = cmd.transfer_leader().target();
    switch (node_->transfer_leader(target)) {
      case raft::TransferResult::kStarted:
      case raft::TransferResult::kAlreadyLeader:
        return std::nullopt;
      case raft::TransferResult::kNotVoter:
        code = "rejected";
        return "node " + std::to_string(target) + " is not a voter";
      case raft::TransferResult::kNotLeader:
        break;
    }
    code = "not_leader";
    return "node " + std::to_string(config_.node_id) + " is not the leader";
  }
  const raft::ProposeResult r = node_->propose_conf_change(cmd.conf_change());
  switch (r.status) {
    case S::kAccepted:
      return std::nullopt;
    case S::kConfChangePending:
      code = "conf_change_pending";
      return "another configuration change is not committed yet; retry shortly";
    case S::kNotReady:
      code = "not_ready";
      return "the new leader has not committed an entry of its term yet; retry shortly";
    case S::kInvalid:
      code = "rejected";
      return "the change does not apply to the configuration " + ids_text(node_->status().voters) + " voters, " +
             ids_text(node_->status().learners) + " learners";
    case S::kTransferring:
      code = "not_leader";
      return "leadership transfer in progress";
    default:
      break;
  }
  code = "not_leader";
  return "node " + std::to_string(config_.node_id) + " is not the leader (leader: " + std::to_string(r.leader) + ")";
}

void AgentCore::answer_admin() {
  std::vector<std::pair<ReplyFn, ClientResponse>> answers;
  for (auto it = pending_.begin(); it != pending_.end();) {
    const v1::Command& cmd = it->second.command;
    if ((!cmd.has_conf_change() && !cmd.has_transfer_leader()) || !admin_done(cmd)) {
      ++it;
      continue;
    }
    answers.emplace_back(std::move(it->second.reply),
                         ok(json{{"index", sm_.applied_index()}, {"unchanged", false}, {"leader", node_->leader()}}));
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
    json m{{"id", id}, {"voter", contains(st.voters, id)}, {"match", nullptr}, {"state", nullptr},
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
              {"leader", st.leader},
              {"members", rows}};
}

}  // namespace raftbgp::agent
