#include "raftbgp/agent/state_machine.h"

#include "raftbgp/transport/mailbox.h"

namespace raftbgp::agent {
namespace {

v1::Result make_result(v1::Result::Code code, raft::Index index, std::string message = {}) {
  v1::Result r;
  r.set_code(code);
  r.set_index(index);
  r.set_message(std::move(message));
  return r;
}

}  // namespace

std::optional<std::string> check_write(const v1::Command& cmd) {
  if (cmd.client_id().empty() || cmd.seq() == 0) return "a write needs client_id and seq >= 1";
  if (cmd.client_id().size() > kMaxKeyBytes) return "client_id longer than 256 bytes";
  switch (cmd.op_case()) {
    case v1::Command::kKvPut:
      if (cmd.kv_put().key().empty() || cmd.kv_put().key().size() > kMaxKeyBytes) return "key must be 1..256 bytes";
      if (cmd.kv_put().value().size() > kMaxValueBytes) return "value longer than 8192 bytes";
      return std::nullopt;
    case v1::Command::kKvDelete:
      if (cmd.kv_delete().key().empty() || cmd.kv_delete().key().size() > kMaxKeyBytes)
        return "key must be 1..256 bytes";
      return std::nullopt;
    case v1::Command::kPolicyAdd:
      // The proposer canonicalized the route; apply re-checks only what it needs to stay well-defined.
      if (!transport::IpPrefix::parse(cmd.policy_add().route().prefix())) return "bad prefix";
      return std::nullopt;
    case v1::Command::kPolicyRemove:
      if (!transport::IpPrefix::parse(cmd.policy_remove().prefix())) return "bad prefix";
      return std::nullopt;
    default:
      return "not a write";
  }
}

const StateMachine::Session* StateMachine::session(const std::string& client_id) const {
  auto it = sessions_.find(client_id);
  return it == sessions_.end() ? nullptr : &it->second;
}

v1::Result StateMachine::apply(raft::Index index, const v1::Command& cmd) {
  RAFT_ASSERT(index > applied_);
  applied_ = index;
  if (cmd.op_case() == v1::Command::kRead) return make_result(v1::Result::OK, index);
  if (auto err = check_write(cmd)) return make_result(v1::Result::INVALID, index, *err);
  auto it = sessions_.find(cmd.client_id());
  if (it != sessions_.end()) {
    Session& s = it->second;
    if (cmd.seq() < s.seq)
      return make_result(v1::Result::STALE_SEQUENCE, index,
                         "stale sequence: client " + cmd.client_id() + " is at seq " + std::to_string(s.seq));
    if (cmd.seq() == s.seq) {
      // A retry: answer as the first time, and count it as activity for eviction.
      session_by_index_.erase(s.last_index);
      s.last_index = index;
      session_by_index_[index] = cmd.client_id();
      return s.result;
    }
  }
  v1::Result r = apply_write(index, cmd);
  record_session(index, cmd, r);
  return r;
}

v1::Result StateMachine::apply_write(raft::Index index, const v1::Command& cmd) {
  switch (cmd.op_case()) {
    case v1::Command::kKvPut:
      kv_[cmd.kv_put().key()] = cmd.kv_put().value();
      return make_result(v1::Result::OK, index);
    case v1::Command::kKvDelete:
      if (kv_.erase(cmd.kv_delete().key()) == 0)
        return make_result(v1::Result::NOT_FOUND, index, "no key " + cmd.kv_delete().key());
      return make_result(v1::Result::OK, index);
    case v1::Command::kPolicyAdd: {
      const v1::PolicyRoute& route = cmd.policy_add().route();
      policies_[route.prefix()] = route;
      ++policy_version_;
      return make_result(v1::Result::OK, index);
    }
    case v1::Command::kPolicyRemove:
      if (policies_.erase(cmd.policy_remove().prefix()) == 0)
        return make_result(v1::Result::NOT_FOUND, index, "no policy for " + cmd.policy_remove().prefix());
      ++policy_version_;
      return make_result(v1::Result::OK, index);
    default:
      return make_result(v1::Result::INVALID, index, "not a write");
  }
}

void StateMachine::skip(raft::Index index) {
  RAFT_ASSERT(index > applied_);
  applied_ = index;
}

std::string StateMachine::serialize() const {
  v1::StateSnapshot snap;
  snap.set_version(1);
  snap.set_applied(applied_);
  for (const auto& [prefix, route] : policies_) *snap.add_policies() = route;
  for (const auto& [key, value] : kv_) {
    auto* kv = snap.add_kv();
    kv->set_key(key);
    kv->set_value(value);
  }
  for (const auto& [id, s] : sessions_) {
    auto* rec = snap.add_sessions();
    rec->set_client_id(id);
    rec->set_seq(s.seq);
    *rec->mutable_result() = s.result;
    rec->set_last_index(s.last_index);
  }
  // No protobuf maps are involved, so field order alone makes the bytes deterministic.
  return snap.SerializeAsString();
}

std::optional<std::string> StateMachine::restore(const std::string& data, raft::Index index) {
  v1::StateSnapshot snap;
  if (!snap.ParseFromString(data)) return "snapshot data is not a StateSnapshot";
  if (snap.version() != 1) return "snapshot version " + std::to_string(snap.version()) + " is not 1";
  if (snap.applied() != index)
    return "snapshot data reflects index " + std::to_string(snap.applied()) + ", metadata says " +
           std::to_string(index);
  StateMachine next;
  for (const auto& r : snap.policies()) next.policies_[r.prefix()] = r;
  for (const auto& kv : snap.kv()) next.kv_[kv.key()] = kv.value();
  for (const auto& rec : snap.sessions()) {
    Session& s = next.sessions_[rec.client_id()];
    s.seq = rec.seq();
    s.result = rec.result();
    s.last_index = rec.last_index();
    next.session_by_index_[rec.last_index()] = rec.client_id();
  }
  next.applied_ = index;
  next.policy_version_ = policy_version_ + 1;
  *this = std::move(next);
  return std::nullopt;
}

void StateMachine::record_session(raft::Index index, const v1::Command& cmd, const v1::Result& result) {
  auto [it, inserted] = sessions_.try_emplace(cmd.client_id());
  if (!inserted) session_by_index_.erase(it->second.last_index);
  it->second.seq = cmd.seq();
  it->second.result = result;
  it->second.last_index = index;
  session_by_index_[index] = cmd.client_id();
  while (sessions_.size() > kMaxSessions) {
    auto oldest = session_by_index_.begin();
    sessions_.erase(oldest->second);
    session_by_index_.erase(oldest);
  }
}

}  // namespace raftbgp::agent
