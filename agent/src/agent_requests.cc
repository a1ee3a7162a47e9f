// AgentCore's client side: decoding a request into a Command, proposing or forwarding it, and answering
// the client when this node applies the entry (see agent_core.h "Clients").
#include <algorithm>

#include "raftbgp/agent/agent_core.h"
#include "raftbgp/agent/log.h"

namespace raftbgp::agent {
namespace {

using nlohmann::json;

// JSON integers that are >= 0 (nlohmann keeps parsed non-negatives unsigned, but built ones signed).
bool is_uint(const json& v) { return v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0); }

ClientResponse error(std::string code, std::string message) {
  ClientResponse r;
  r.code = std::move(code);
  r.message = std::move(message);
  return r;
}

// Reads args[name] as a string; `out` untouched when absent and not required.
std::optional<ClientResponse> arg_string(const json& args, const char* name, bool required, std::string& out) {
  auto it = args.find(name);
  if (it == args.end() || it->is_null()) {
    if (required) return error("bad_request", std::string("args.") + name + " is required");
    return std::nullopt;
  }
  if (!it->is_string()) return error("bad_request", std::string("args.") + name + " must be a string");
  out = it->get<std::string>();
  return std::nullopt;
}

std::optional<ClientResponse> arg_uint(const json& args, const char* name, std::uint64_t max,
                                       std::optional<std::uint64_t>& out) {
  auto it = args.find(name);
  if (it == args.end() || it->is_null()) return std::nullopt;
  if (!is_uint(*it) || it->get<std::uint64_t>() > max)
    return error("bad_request", std::string("args.") + name + " must be an integer in 0.." + std::to_string(max));
  out = it->get<std::uint64_t>();
  return std::nullopt;
}

std::optional<ClientResponse> arg_strings(const json& args, const char* name, std::vector<std::string>& out) {
  auto it = args.find(name);
  if (it == args.end() || it->is_null()) return std::nullopt;
  if (!it->is_array()) return error("bad_request", std::string("args.") + name + " must be a list of strings");
  for (const json& v : *it) {
    if (!v.is_string()) return error("bad_request", std::string("args.") + name + " must be a list of strings");
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
    if (!it->is_array()) return error("bad_request", "args.nodes must be a list of node ids");
    for (const json& v : *it) {
      if (!is_uint(v)) return error("bad_request", "args.nodes must be a list of node ids");
      route.add_nodes(v.get<std::uint64_t>());
    }
  }
  auto canon = canonicalize_policy(route, limits);
  if (auto* pe = std::get_if<PolicyError>(&canon)) return error("bad_request", pe->to_string());
  route = std::get<v1::PolicyRoute>(canon);
  return std::nullopt;
}

json route_json(const v1::PolicyRoute& r) {
  json j{{"prefix", r.prefix()}, {"next_hop", r.next_hop()}, {"prepend", r.prepend()}};
  j["communities"] = json::array();
  for (const auto& c : r.communities()) j["communities"].push_back(c);
  j["large_communities"] = json::array();
  for (const auto& c : r.large_communities()) j["large_communities"].push_back(c);
  j["med"] = r.has_med() ? json(r.med()) : json(nullptr);
  j["local_pref"] = r.has_local_pref() ? json(r.local_pref()) : json(nullptr);
  j["nodes"] = json::array();
  for (auto n : r.nodes()) j["nodes"].push_back(n);
  return j;
}

void reply_error(const ReplyFn& fn, std::string code, std::string message) {
  fn(error(std::move(code), std::move(message)));
}

}  // namespace

ClientResponse write_response(const v1::Result& r) {
  ClientResponse out;
  switch (r.code()) {
    case v1::Result::OK:
      out.ok = true;
      out.result = json{{"index", r.index()}};
      return out;
    case v1::Result::NOT_FOUND: out = error("not_found", r.message()); break;
    case v1::Result::STALE_SEQUENCE: out = error("stale_sequence", r.message()); break;
    case v1::Result::SESSION_EXPIRED: out = error("session_expired", r.message()); break;
    default: out = error("rejected", r.message()); break;
  }
  out.result = json{{"index", r.index()}};
  return out;
}

std::optional<ClientResponse> AgentCore::build_command(const ClientRequest& req, v1::Command& cmd) const {
  const json& a = req.args;
  if (!a.is_object()) return error("bad_request", "args must be an object");
  std::string s;
  if (req.op == "kv.get" || req.op == "kv.list" || req.op == "policy.show") {
    auto* read = cmd.mutable_read();
    read->set_kind(req.op == "kv.get"    ? v1::Read::KV_GET
                   : req.op == "kv.list" ? v1::Read::KV_LIST
                                         : v1::Read::POLICY_SHOW);
    if (req.op == "kv.get") {
      if (auto e = arg_string(a, "key", true, s)) return e;
      read->set_key(s);
    }
    return std::nullopt;
  }
  cmd.set_client_id(req.client_id);
  cmd.set_seq(req.seq);
  if (req.op == "kv.put") {
    if (auto e = arg_string(a, "key", true, s)) return e;
    cmd.mutable_kv_put()->set_key(s);
    if (auto e = arg_string(a, "value", true, s)) return e;
    cmd.mutable_kv_put()->set_value(s);
  } else if (req.op == "kv.delete") {
    if (auto e = arg_string(a, "key", true, s)) return e;
    cmd.mutable_kv_delete()->set_key(s);
  } else if (req.op == "policy.add") {
    if (auto e = build_policy(a, current_limits(), *cmd.mutable_policy_add()->mutable_route())) return e;
  } else if (req.op == "policy.remove") {
    if (auto e = arg_string(a, "prefix", true, s)) return e;
    auto p = transport::IpPrefix::parse(s);
    if (!p) return error("bad_request", "prefix: not a prefix without host bits: \"" + s + "\"");
    cmd.mutable_policy_remove()->set_prefix(p->to_string());
  } else {
    return error("bad_request", "unknown op \"" + req.op + "\"");
  }
  if (auto err = check_write(cmd)) return error("bad_request", *err);
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

void AgentCore::on_client_request(ClientRequest req, ReplyFn reply_fn) {
  if (req.op == "status" || req.op == "debug.dump") {
    ClientResponse r;
    r.ok = true;
    r.result = req.op == "status" ? status_json() : debug_json();
    return reply_fn(std::move(r));
  }
  if (handle_admin_request(req, reply_fn)) return;
  v1::Command cmd;
  if (auto e = build_command(req, cmd)) return reply_fn(std::move(*e));
  const std::uint64_t ticks = (req.timeout_ms + config_.tick_ms - 1) / config_.tick_ms;
  const std::uint64_t deadline = tick_ + std::max<std::uint64_t>(ticks, 1);
  if (cmd.has_read()) {
    PendingRead read;
    read.reply = std::move(reply_fn);
    read.read = cmd.read();
    read.deadline_tick = deadline;
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
  submit(id, Pending{std::move(reply_fn), std::move(cmd), deadline, 0});
}

void AgentCore::submit(std::uint64_t id, Pending p) {
  const raft::NodeId leader = node_->leader();
  if (leader == config_.node_id) {
    std::string code;
    const bool admin = p.command.has_conf_change() || p.command.has_transfer_leader();
    if (auto err = admin ? propose_admin(p.command, code) : propose_local(p.command, code))
      return reply_error(p.reply, code, *err);
  } else if (leader == raft::kNoNode) {
    return reply_error(p.reply, "no_leader", "no leader known (election in progress?); nothing was sent");
  } else {
    raft::Message m;
    m.set_type(raft::MessageType::MSG_FORWARD);
    m.set_from(config_.node_id);
    m.set_to(leader);
    m.set_term(node_->term());  // the leader drops it unless this is still its term (agent_core.h)
    m.set_context(p.command.SerializeAsString());
    const std::uint64_t refused = transport_->counters().send_refused;
    send_message(m);
    if (transport_->counters().send_refused != refused)
      return reply_error(p.reply, "rejected", "the command does not fit a transport message");
    ++forwarded_;
    p.forwarded_to = leader;
  }
  pending_.emplace(id, std::move(p));
  request_ready();
}

std::optional<std::string> AgentCore::propose_local(const v1::Command& cmd, std::string& code) {
  if (!cmd.has_read()) {
    if (auto err = check_write(cmd)) {
      code = "rejected";
      return *err;
    }
  }
  const raft::ProposeResult r = node_->propose(cmd.SerializeAsString());
  switch (r.status) {
    case raft::ProposeResult::Status::kAccepted: return std::nullopt;
    case raft::ProposeResult::Status::kTooLarge: code = "too_large"; return "the command does not fit one Raft message";
    case raft::ProposeResult::Status::kTransferring: code = "not_leader"; return "leadership transfer in progress";
    default:  // kNotLeader (the other statuses belong to propose_conf_change)
      break;
  }
  code = "not_leader";
  return "node " + std::to_string(config_.node_id) + " is not the leader (leader: " + std::to_string(r.leader) + ")";
}

void AgentCore::handle_forward_reject(const raft::Message& m) {
  v1::ForwardReject reject;
  if (!reject.ParseFromString(m.context())) {
    LOG_WARN("malformed MSG_FORWARD_RESP from " + std::to_string(m.from()));
    return;
  }
  auto it = pending_.find(reject.origin_request());
  if (it == pending_.end()) return;  // already answered (timeout)
  ReplyFn fn = std::move(it->second.reply);
  pending_.erase(it);
  const char* code = reject.reason() == v1::ForwardReject::NOT_LEADER            ? "not_leader"
                     : reject.reason() == v1::ForwardReject::TRANSFERRING        ? "not_leader"
                     : reject.reason() == v1::ForwardReject::CONF_CHANGE_PENDING ? "conf_change_pending"
                     : reject.reason() == v1::ForwardReject::NOT_READY           ? "not_ready"
                                                                                 : "rejected";
  fn(error(code, "node " + std::to_string(m.from()) + ": " + reject.message()));
}

ClientResponse AgentCore::read_response(const v1::Read& read, raft::Index index) const {
  ClientResponse out;
  out.ok = true;
  out.result = json{{"index", index}};
  if (read.kind() == v1::Read::KV_GET) {
    auto it = sm_.kv().find(read.key());
    if (it == sm_.kv().end()) {
      out = error("not_found", "no key " + read.key());
      out.result = json{{"index", index}};
      return out;
    }
    out.result["key"] = it->first;
    out.result["value"] = it->second;
  } else if (read.kind() == v1::Read::KV_LIST) {
    out.result["items"] = json::object();
    for (const auto& [k, v] : sm_.kv()) out.result["items"][k] = v;
  } else {
    out.result["routes"] = json::array();
    for (const auto& [prefix, route] : sm_.policies()) out.result["routes"].push_back(route_json(route));
  }
  return out;
}

void AgentCore::answer_applied(const v1::Command& cmd, const v1::Result& result) {
  auto it = pending_.find(cmd.origin_request());
  if (it == pending_.end()) return;  // timed out, or a previous incarnation's request
  // A transfer that applied is answered when the target leads (answer_admin), not when it starts.
  if (cmd.has_transfer_leader() && result.code() == v1::Result::OK) return;
  ReplyFn fn = std::move(it->second.reply);
  pending_.erase(it);
  fn(cmd.has_read() ? read_response(cmd.read(), result.index()) : write_response(result));
}

void AgentCore::expire_requests() {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.deadline_tick > tick_) {
      ++it;
      continue;
    }
    ReplyFn fn = std::move(it->second.reply);
    it = pending_.erase(it);
    fn(error("timeout",
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
    p.reply(
        error("shutting_down", "the agent is stopping; the outcome is unknown: retry with the same client_id and seq"));
  for (auto& [id, r] : reads) r.reply(error("shutting_down", "the agent is stopping; retry the read"));
}

}  // namespace raftbgp::agent
