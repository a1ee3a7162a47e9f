// AgentCore's client side: decoding a request into a Command, proposing or forwarding it, and answering
// the client when this node applies the entry (see agent_core.h "Clients").
#include <algorithm>

#include "raftbgp/agent/agent_core.h"
#include "raftbgp/agent/control.h"
#include "raftbgp/agent/log.h"
#include "raftbgp/agent/policy_file.h"

namespace raftbgp::agent {
namespace {

using nlohmann::json;

// Reads args[name] as a string; `out` untouched when absent and not required.
std::optional<ClientResponse> arg_string(const json& args, const char* name, bool required, std::string& out) {
  auto it = args.find(name);
  if (it == args.end() || it->is_null()) {
    if (required) return error_response(ErrorCode::kBadRequest, std::string("args.") + name + " is required");
    return std::nullopt;
  }
  if (!it->is_string())
    return error_response(ErrorCode::kBadRequest, std::string("args.") + name + " must be a string");
  out = it->get<std::string>();
  return std::nullopt;
}

std::optional<ClientResponse> arg_uint(const json& args, const char* name, std::uint64_t max,
                                       std::optional<std::uint64_t>& out) {
  auto it = args.find(name);
  if (it == args.end() || it->is_null()) return std::nullopt;
  if (!is_uint(*it) || it->get<std::uint64_t>() > max)
    return error_response(ErrorCode::kBadRequest,
                          std::string("args.") + name + " must be an integer in 0.." + std::to_string(max));
  out = it->get<std::uint64_t>();
  return std::nullopt;
}

std::optional<ClientResponse> arg_strings(const json& args, const char* name, std::vector<std::string>& out) {
  auto it = args.find(name);
  if (it == args.end() || it->is_null()) return std::nullopt;
  if (!it->is_array())
    return error_response(ErrorCode::kBadRequest, std::string("args.") + name + " must be a list of strings");
  for (const json& v : *it) {
    if (!v.is_string())
      return error_response(ErrorCode::kBadRequest, std::string("args.") + name + " must be a list of strings");
    out.push_back(v.get<std::string>());
  }
  return std::nullopt;
}

std::optional<ClientResponse> build_policy(const json& args, const PolicyLimits& limits, v1::PolicyRoute& route) {
  std::string s;
  std::vector<std::string> list;
  std::optional<std::uint64_t> n;
  if (auto e = arg_string(args, "prefix", true, s)) return e;
  route.set_prefix(s);
  s.clear();
  if (auto e = arg_string(args, "next_hop", false, s)) return e;
  route.set_next_hop(s);
  if (auto e = arg_strings(args, "communities", list)) return e;
  for (auto& c : list) route.add_communities(c);
  list.clear();
  if (auto e = arg_strings(args, "large_communities", list)) return e;
  for (auto& c : list) route.add_large_communities(c);
  if (auto e = arg_uint(args, "med", 0xffffffffu, n)) return e;
  if (n) route.set_med(static_cast<std::uint32_t>(*n));
  n.reset();
  if (auto e = arg_uint(args, "local_pref", 0xffffffffu, n)) return e;
  if (n) route.set_local_pref(static_cast<std::uint32_t>(*n));
  n.reset();
  if (auto e = arg_uint(args, "prepend", 1000, n)) return e;
  if (n) route.set_prepend(static_cast<std::uint32_t>(*n));
  if (auto it = args.find("nodes"); it != args.end() && !it->is_null()) {
    if (!it->is_array()) return error_response(ErrorCode::kBadRequest, "args.nodes must be a list of node ids");
    for (const json& v : *it) {
      if (!is_uint(v)) return error_response(ErrorCode::kBadRequest, "args.nodes must be a list of node ids");
      route.add_nodes(v.get<std::uint64_t>());
    }
  }
  auto canon = canonicalize_policy(route, limits);
  if (auto* pe = std::get_if<PolicyError>(&canon)) return error_response(ErrorCode::kBadRequest, pe->to_string());
  route = std::get<v1::PolicyRoute>(canon);
  return std::nullopt;
}

// policy.apply's args: every route is checked and every error listed, so a refused file is fixed in one go.
std::optional<ClientResponse> build_replace(const json& args, const PolicyLimits& limits, v1::PolicyReplace& out) {
  auto it = args.find("routes");
  if (it == args.end() || !it->is_array())
    return error_response(ErrorCode::kBadRequest, "args.routes must be a list of routes");
  std::map<std::string, v1::PolicyRoute> routes;
  std::string errors;
  for (std::size_t i = 0; i < it->size(); ++i) {
    v1::PolicyRoute route;
    const json& item = (*it)[i];
    std::optional<ClientResponse> e = item.is_object() ? build_policy(item, limits, route)
                                                       : error_response(ErrorCode::kBadRequest, "must be an object");
    if (!e && !routes.emplace(route.prefix(), route).second)
      e = error_response(ErrorCode::kBadRequest, "duplicate prefix " + route.prefix());
    if (e) errors += (errors.empty() ? "" : "\n") + ("routes[" + std::to_string(i) + "]: ") + e->message;
  }
  if (!errors.empty()) return error_response(ErrorCode::kBadRequest, errors);
  for (auto& [prefix, route] : routes) *out.add_routes() = std::move(route);
  return std::nullopt;
}

}  // namespace

ClientResponse ok_response(json result) {
  ClientResponse r;
  r.ok = true;
  r.result = std::move(result);
  return r;
}

ClientResponse error_response(ErrorCode code, std::string message) {
  ClientResponse r;
  r.code = code;
  r.message = std::move(message);
  return r;
}

ClientResponse write_response(const v1::Result& r) {
  if (r.code() == v1::Result::OK) return ok_response(json{{"index", r.index()}});
  const ErrorCode code = r.code() == v1::Result::NOT_FOUND         ? ErrorCode::kNotFound
                         : r.code() == v1::Result::STALE_SEQUENCE  ? ErrorCode::kStaleSequence
                         : r.code() == v1::Result::SESSION_EXPIRED ? ErrorCode::kSessionExpired
                                                                   : ErrorCode::kRejected;
  ClientResponse out = error_response(code, r.message());
  out.result = json{{"index", r.index()}};
  return out;
}

std::optional<ClientResponse> AgentCore::build_command(const ClientRequest& req, Op op, v1::Command& cmd) const {
  const json& a = req.args;
  std::string s;
  switch (op) {
    case Op::kKvGet:
      if (auto e = arg_string(a, "key", true, s)) return e;
      cmd.mutable_read()->set_kind(v1::Read::KV_GET);
      cmd.mutable_read()->set_key(s);
      return std::nullopt;
    case Op::kKvList: cmd.mutable_read()->set_kind(v1::Read::KV_LIST); return std::nullopt;
    case Op::kPolicyShow: cmd.mutable_read()->set_kind(v1::Read::POLICY_SHOW); return std::nullopt;
    case Op::kPolicyHistory: cmd.mutable_read()->set_kind(v1::Read::POLICY_HISTORY); return std::nullopt;
    case Op::kPolicyApply:
      if (auto e = build_replace(a, current_limits(), *cmd.mutable_policy_replace())) return e;
      break;
    case Op::kKvPut:
      if (auto e = arg_string(a, "key", true, s)) return e;
      cmd.mutable_kv_put()->set_key(s);
      if (auto e = arg_string(a, "value", true, s)) return e;
      cmd.mutable_kv_put()->set_value(s);
      break;
    case Op::kKvDelete:
      if (auto e = arg_string(a, "key", true, s)) return e;
      cmd.mutable_kv_delete()->set_key(s);
      break;
    case Op::kPolicyAdd:
      if (auto e = build_policy(a, current_limits(), *cmd.mutable_policy_add()->mutable_route())) return e;
      break;
    case Op::kPolicyRemove: {
      if (auto e = arg_string(a, "prefix", true, s)) return e;
      auto p = transport::IpPrefix::parse(s);
      if (!p) return error_response(ErrorCode::kBadRequest, "prefix: not a prefix without host bits: \"" + s + "\"");
      cmd.mutable_policy_remove()->set_prefix(p->to_string());
      break;
    }
    default: return error_response(ErrorCode::kInternal, "op " + req.op + " is not a read or write");
  }
  cmd.set_client_id(req.client_id);
  cmd.set_seq(req.seq);
  // Only the policy history records who changed what (StateMachine::record_policy_change); a key-value write
  // carries no author, which keeps ~15 bytes plus the hostname out of every replicated kv entry.
  if (cmd.has_policy_add() || cmd.has_policy_remove() || cmd.has_policy_replace()) {
    cmd.mutable_author()->set_uid(req.peer_uid);
    cmd.mutable_author()->set_hostname(req.hostname.substr(0, kMaxHostnameBytes));
    cmd.mutable_author()->set_unix_ms(req.received_unix_ms);
  }
  if (auto err = check_write(cmd)) return error_response(ErrorCode::kBadRequest, *err);
  return std::nullopt;
}

PolicyLimits AgentCore::current_limits() const {
  // `nodes` may name any bootstrap member and any member added since.
  PolicyLimits l = limits_;
  for (const std::vector<raft::NodeId>* ids : {&applied_voters_, &applied_learners_})
    l.members.insert(l.members.end(), ids->begin(), ids->end());
  std::sort(l.members.begin(), l.members.end());
  l.members.erase(std::unique(l.members.begin(), l.members.end()), l.members.end());
  return l;
}

std::uint64_t AgentCore::deadline_tick(const ClientRequest& req) const {
  const std::uint64_t ticks = (req.timeout_ms + config_.tick_ms - 1) / config_.tick_ms;
  return tick_ + std::max<std::uint64_t>(ticks, 1);
}

// Dispatch by the op table (ops.h): unknown ops are refused here, the rest go by OpSpec::path.
void AgentCore::on_client_request(ClientRequest req, ReplyFn reply_fn) {
  const OpSpec* spec = find_op(req.op);
  if (spec == nullptr) return reply_fn(error_response(ErrorCode::kBadRequest, "unknown op \"" + req.op + "\""));
  if (!req.args.is_object()) return reply_fn(error_response(ErrorCode::kBadRequest, "args must be an object"));
  if (spec->op == Op::kDebugRecord) return reply_fn(record(req.args.value("action", std::string())));
  if (spec->path == OpPath::kLocal) return reply_fn(local_response(spec->op));
  if (spec->path == OpPath::kAdmin) return submit_admin(req, spec->op, std::move(reply_fn));
  if (spec->path == OpPath::kLeader) return submit_cluster_status(req, std::move(reply_fn));
  if (spec->path == OpPath::kWatch) return reply_fn(start_watch(req, spec->op));
  v1::Command cmd;
  if (auto e = build_command(req, spec->op, cmd)) return reply_fn(std::move(*e));
  const auto dry = req.args.find("dry_run");
  if (spec->op == Op::kPolicyApply && dry != req.args.end() && !dry->is_boolean())
    return reply_fn(error_response(ErrorCode::kBadRequest, "args.dry_run must be true or false"));
  if (spec->op == Op::kPolicyApply && dry != req.args.end() && dry->get<bool>())
    return reply_fn(ok_response(json{{"dry_run", true}, {"routes", cmd.policy_replace().routes_size()}}));
  if (spec->path == OpPath::kReadIndex) {
    PendingRead read;
    read.reply = std::move(reply_fn);
    read.read = cmd.read();
    read.deadline_tick = deadline_tick(req);
    return start_read(next_request_++, std::move(read));
  }
  // A retry of what this node has already applied is answered from the session table: that state is
  // committed, so the answer is the one the first attempt got (thesis §6.3).
  if (const StateMachine::Session* s = sm_.session(cmd.client_id()); s && cmd.seq() <= s->seq) {
    v1::Result cached = s->result;
    if (cmd.seq() < s->seq) {
      cached.set_code(v1::Result::STALE_SEQUENCE);
      cached.set_message("stale sequence: client " + cmd.client_id() + " is at seq " + std::to_string(s->seq));
    }
    return reply_fn(write_response(cached));
  }
  const std::uint64_t id = next_request_++;
  cmd.set_origin_node(config_.node_id);
  cmd.set_origin_request(id);
  submit(id, Pending{std::move(reply_fn), std::move(cmd), deadline_tick(req), 0});
}

ClientResponse AgentCore::local_response(Op op) {
  switch (op) {
    case Op::kStatus: return ok_response(status_json());
    case Op::kDebugDump: return ok_response(debug_json());
    case Op::kDebugModel: return ok_response(model_json());
    case Op::kMembers: return ok_response(members_json());
    case Op::kSnapshot: return snapshot_response();
    default: return error_response(ErrorCode::kInternal, std::string(op_spec(op).name) + " is not a local op");
  }
}

void AgentCore::submit_cluster_status(const ClientRequest& req, ReplyFn reply) {
  if (node_->role() == raft::Role::kLeader)
    return reply(ok_response(cluster_view_json(cluster_view(), config_.node_id)));
  // Waits in pending_ like a forwarded write (too_large, refusals, timeout and shutdown answer it the same way);
  // only the leader's MSG_FORWARD_RESP with the view, or a refusal, ends it (handle_forward_reject).
  const std::uint64_t id = next_request_++;
  v1::Command cmd;
  cmd.mutable_cluster_status();
  cmd.set_origin_node(config_.node_id);
  cmd.set_origin_request(id);
  submit(id, Pending{std::move(reply), std::move(cmd), deadline_tick(req), 0});
}

void AgentCore::answer_cluster_status(const raft::Message& m, const v1::Command& cmd) {
  v1::ForwardReject answer;
  answer.set_origin_request(cmd.origin_request());
  answer.set_leader(node_->leader());
  if (node_->role() == raft::Role::kLeader) {
    *answer.mutable_cluster_view() = cluster_view();
  } else {
    answer.set_reason(v1::ForwardReject::NOT_LEADER);
    answer.set_message("not the leader (it knows leader " + std::to_string(node_->leader()) + ")");
    ++forward_rejects_[v1::ForwardReject::NOT_LEADER];
  }
  raft::Message resp;
  resp.set_type(raft::MessageType::MSG_FORWARD_RESP);
  resp.set_from(config_.node_id);
  resp.set_to(m.from());
  resp.set_context(answer.SerializeAsString());
  send_message(resp);
}

ClientResponse AgentCore::start_watch(const ClientRequest& req, Op op) {
  WatchFilter filter{op == Op::kKvWatch ? StateChange::Table::kKv : StateChange::Table::kPolicy, {}};
  if (auto e = arg_string(req.args, "prefix", false, filter.prefix)) return std::move(*e);
  std::optional<std::uint64_t> from;
  if (auto e = arg_uint(req.args, "from_index", ~std::uint64_t{0}, from)) return std::move(*e);
  if (from && *from == 0) return error_response(ErrorCode::kBadRequest, "args.from_index must be >= 1");
  auto sub = watches_.subscribe(filter, from);
  if (auto* refused = std::get_if<Refusal>(&sub)) return error_response(std::move(*refused));
  ClientResponse r = ok_response(json{{"watching", op == Op::kKvWatch ? "kv" : "policy"},
                                      {"prefix", filter.prefix},
                                      {"node_id", config_.node_id},
                                      {"applied", sm_.applied_index()},
                                      {"history_from", watches_.history_from()}});
  if (from) r.result["from_index"] = *from;
  r.stream = std::move(std::get<std::shared_ptr<WatchStream>>(sub));
  return r;
}

void AgentCore::submit(std::uint64_t id, Pending p) {
  const raft::NodeId leader = node_->leader();
  if (leader == config_.node_id) {
    const bool admin = p.command.has_conf_change() || p.command.has_transfer_leader();
    if (auto refused = admin ? propose_admin(p.command) : propose_local(p.command))
      return p.reply(error_response(refused->refusal()));
  } else if (leader == raft::kNoNode) {
    return p.reply(error_response(ErrorCode::kNoLeader, "no leader known (election in progress?); nothing was sent"));
  } else {
    // Sent with the rest of this burst's forwards to the same leader (flush_forwards), bound to the term seen now:
    // the leader drops it unless this is still its term (agent_core.h).
    forwards_[{leader, node_->term()}].push_back({id, p.command.SerializeAsString()});
    p.forwarded_to = leader;
  }
  pending_.emplace(id, std::move(p));
  request_ready();
}

// One MSG_FORWARD per (leader, term) for the burst, up to the Raft message cap each: a follower's clients cost the
// leader's path one announcement per burst instead of one per write. A lone command goes in the context as before;
// several go as entries (handle_forward on the leader). A command that does not fit a message alone is answered
// too_large here, as before.
void AgentCore::flush_forwards() {
  auto forwards = std::move(forwards_);
  forwards_.clear();
  for (auto& [key, queued] : forwards) {
    std::size_t i = 0;
    while (i < queued.size()) {
      raft::Message m;
      m.set_type(raft::MessageType::MSG_FORWARD);
      m.set_from(config_.node_id);
      m.set_to(key.first);
      m.set_term(key.second);
      std::size_t n = 0;
      std::uint64_t bytes = 0;
      while (i + n < queued.size() && (n == 0 || bytes + queued[i + n].command.size() + 16 <= max_msg_bytes_)) {
        bytes += queued[i + n].command.size() + 16;  // an Entry's tag and length around its data, with margin
        ++n;
      }
      if (n == 1) {
        m.set_context(queued[i].command);
      } else {
        for (std::size_t k = 0; k < n; ++k) m.add_entries()->set_data(queued[i + k].command);
      }
      const std::uint64_t refused = transport_->counters().send_refused;
      send_message(m);
      const bool sent = transport_->counters().send_refused == refused;
      for (std::size_t k = 0; k < n; ++k) {
        if (sent) {
          ++forwarded_;
          continue;
        }
        if (ReplyFn fn = take_reply(queued[i + k].request))
          fn(error_response(ErrorCode::kTooLarge, "the command does not fit a transport message"));
      }
      if (sent) ++forward_sends_;
      i += n;
    }
  }
}

ReplyFn AgentCore::take_reply(std::uint64_t request) {
  auto it = pending_.find(request);
  if (it == pending_.end()) return {};
  ReplyFn fn = std::move(it->second.reply);
  pending_.erase(it);
  return fn;
}

// Reads never come here (they go through ReadIndex, agent_reads.cc): every command is a write.
std::optional<ProposeRefusal> AgentCore::propose_local(const v1::Command& cmd) {
  if (auto err = check_write(cmd)) return ProposeRefusal{v1::ForwardReject::INVALID, *err};
  if (recorder_.enabled()) recorder_.propose(cmd.SerializeAsString());
  const raft::ProposeResult r = node_->propose(cmd.SerializeAsString());
  if (r.status == raft::ProposeResult::Status::kAccepted) model_.on_propose(r.index, std::chrono::steady_clock::now());
  return propose_refusal(r);
}

void AgentCore::handle_forward_reject(const raft::Message& m) {
  v1::ForwardReject reject;
  if (!reject.ParseFromString(m.context())) {
    LOG_WARN("malformed MSG_FORWARD_RESP from " + std::to_string(m.from()));
    return;
  }
  auto it = pending_.find(reject.origin_request());
  if (it == pending_.end()) return;  // already answered (timeout)
  const bool status = it->second.command.has_cluster_status();
  if (reject.has_cluster_view() && !status) return;  // an answer to no question of ours: ignored
  ReplyFn fn = take_reply(reject.origin_request());
  if (reject.has_cluster_view()) return fn(ok_response(cluster_view_json(reject.cluster_view(), config_.node_id)));
  // An older leader does not know cluster_status and refuses it as "not a write".
  const std::string older = status && reject.reason() == v1::ForwardReject::INVALID
                                ? " (the leader's agent predates status --cluster: upgrade it, or ask it directly)"
                                : "";
  fn(error_response(error_code_for(reject.reason()),
                    "node " + std::to_string(m.from()) + ": " + reject.message() + older));
}

ClientResponse AgentCore::read_response(const v1::Read& read, raft::Index index) const {
  ClientResponse out;
  out.ok = true;
  out.result = json{{"index", index}};
  if (read.kind() == v1::Read::KV_GET) {
    auto it = sm_.kv().find(read.key());
    if (it == sm_.kv().end()) {
      out = error_response(ErrorCode::kNotFound, "no key " + read.key());
      out.result = json{{"index", index}};
      return out;
    }
    out.result["key"] = it->first;
    out.result["value"] = it->second;
  } else if (read.kind() == v1::Read::KV_LIST) {
    out.result["items"] = json::object();
    for (const auto& [k, v] : sm_.kv()) out.result["items"][k] = v;
  } else if (read.kind() == v1::Read::POLICY_HISTORY) {
    out.result["changes"] = json::array();
    for (const v1::PolicyChange& c : sm_.policy_history()) out.result["changes"].push_back(policy_change_json(c));
  } else {
    out.result["routes"] = json::array();
    for (const auto& [prefix, route] : sm_.policies()) out.result["routes"].push_back(policy_route_json(route));
  }
  return out;
}

void AgentCore::answer_applied(const v1::Command& cmd, const v1::Result& result) {
  auto it = pending_.find(cmd.origin_request());
  if (it == pending_.end()) return;  // timed out, or a previous incarnation's request
  // A transfer that applied is answered when the target leads (answer_admin), not when it starts.
  if (cmd.has_transfer_leader() && result.code() == v1::Result::OK) return;
  if (result.code() == v1::Result::OK)
    commit_latency_.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second.submitted).count());
  ReplyFn fn = std::move(it->second.reply);
  pending_.erase(it);
  fn(write_response(result));  // reads never enter the log
}

void AgentCore::expire_requests() {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.deadline_tick > tick_) {
      ++it;
      continue;
    }
    ReplyFn fn = std::move(it->second.reply);
    const raft::NodeId leader = it->second.forwarded_to;
    const bool status = it->second.command.has_cluster_status();
    it = pending_.erase(it);
    if (status) {
      fn(error_response(ErrorCode::kTimeout, "leader " + std::to_string(leader) +
                                                 " did not answer the cluster status within the timeout (lost, or "
                                                 "it is gone); nothing changed: retry, or ask another node"));
      continue;
    }
    fn(error_response(ErrorCode::kTimeout,
                      "not applied within the timeout; the outcome is unknown: retry with the same client_id and seq"));
  }
}

void AgentCore::shutdown() {
  std::map<std::uint64_t, Pending> pending;
  pending.swap(pending_);
  std::map<std::uint64_t, PendingRead> reads;
  reads.swap(reads_);
  read_contexts_.clear();
  for (auto& [id, p] : pending)
    p.reply(error_response(ErrorCode::kShuttingDown,
                           "the agent is stopping; the outcome is unknown: retry with the same client_id and seq"));
  for (auto& [id, r] : reads)
    r.reply(error_response(ErrorCode::kShuttingDown, "the agent is stopping; retry the read"));
  watches_.end_all(Refusal{ErrorCode::kShuttingDown, "the agent is stopping; the watch ended"});
}

}  // namespace raftbgp::agent
