#include "raftbgp/agent/state_machine.h"

#include <algorithm>

#include "raftbgp/agent/policy.h"
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

std::optional<std::string> check_replace(const v1::PolicyReplace& replace) {
  if (static_cast<std::size_t>(replace.routes_size()) > kMaxPolicyRoutes)
    return "a policy holds at most " + std::to_string(kMaxPolicyRoutes) + " routes";
  for (int i = 0; i < replace.routes_size(); ++i) {
    const v1::PolicyRoute& route = replace.routes(i);
    if (auto e = validate_policy_route(route)) return "invalid route " + std::to_string(i) + ": " + e->to_string();
    // Sorted and unique: the table is keyed by prefix, and a duplicate would silently drop a route.
    if (i > 0 && !(replace.routes(i - 1).prefix() < route.prefix()))
      return "routes must be sorted by prefix without duplicates (" + route.prefix() + ")";
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> check_write(const v1::Command& cmd) {
  if (cmd.client_id().empty() || cmd.seq() == 0) return "a write needs client_id and seq >= 1";
  if (cmd.client_id().size() > kMaxKeyBytes) return "client_id longer than 256 bytes";
  if (cmd.author().hostname().size() > kMaxHostnameBytes) return "author hostname longer than 255 bytes";
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
      // The proposer canonicalized the route, but a forwarded command or a log entry is only as honest as
      // its origin: the whole route is checked again, everywhere (policy.h validate_policy_route).
      if (auto e = validate_policy_route(cmd.policy_add().route())) return "invalid route: " + e->to_string();
      return std::nullopt;
    case v1::Command::kPolicyRemove:
      if (!command_text_ok(cmd.policy_remove().prefix()) || !transport::IpPrefix::parse(cmd.policy_remove().prefix()))
        return "bad prefix";
      return std::nullopt;
    case v1::Command::kPolicyReplace: return check_replace(cmd.policy_replace());
    case v1::Command::kTransferLeader:
      if (cmd.transfer_leader().target() == 0) return "transfer_leader needs a target node id >= 1";
      return std::nullopt;
    case v1::Command::kConfChange:
      if (cmd.conf_change().node_id() == 0) return "a configuration change needs a node id >= 1";
      return std::nullopt;
    default: return "not a write";
  }
}

const StateMachine::Session* StateMachine::session(const std::string& client_id) const {
  auto it = sessions_.find(client_id);
  return it == sessions_.end() ? nullptr : &it->second;
}

v1::Result StateMachine::apply(raft::Index index, const v1::Command& cmd, const std::vector<std::uint64_t>& voters) {
  RAFT_ASSERT(index > applied_);
  applied_ = index;
  if (cmd.op_case() == v1::Command::kRead) return make_result(v1::Result::OK, index);
  // A configuration change only ever applies from its ENTRY_CONF_CHANGE (apply_conf).
  if (cmd.op_case() == v1::Command::kConfChange)
    return make_result(v1::Result::INVALID, index, "a configuration change is not a normal entry");
  return apply_session(index, cmd, voters);
}

v1::Result StateMachine::apply_conf(raft::Index index, const v1::Command& cmd) {
  RAFT_ASSERT(index > applied_);
  applied_ = index;
  if (cmd.op_case() != v1::Command::kConfChange)
    return make_result(v1::Result::INVALID, index, "not a configuration change");
  return apply_session(index, cmd, {});
}

v1::Result StateMachine::apply_session(raft::Index index, const v1::Command& cmd,
                                       const std::vector<std::uint64_t>& voters) {
  if (auto err = check_write(cmd)) return make_result(v1::Result::INVALID, index, *err);
  auto it = sessions_.find(cmd.client_id());
  if (it == sessions_.end() && (cmd.seq() > 1 || evicted(cmd.client_id())))
    return make_result(v1::Result::SESSION_EXPIRED, index,
                       "client " + cmd.client_id() + " has no session (expired, or never opened): seq " +
                           std::to_string(cmd.seq()) +
                           " was not applied now and its earlier outcome is unknown; "
                           "do not retry it: start a new client_id at seq 1");
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
  v1::Result r = apply_write(index, cmd, voters);
  record_session(index, cmd, r);
  return r;
}

v1::Result StateMachine::apply_write(raft::Index index, const v1::Command& cmd,
                                     const std::vector<std::uint64_t>& voters) {
  switch (cmd.op_case()) {
    case v1::Command::kKvPut: {
      const std::string& key = cmd.kv_put().key();
      auto it = kv_.find(key);
      const std::size_t old_bytes = it == kv_.end() ? 0 : key.size() + it->second.size();
      const std::size_t new_bytes = key.size() + cmd.kv_put().value().size();
      if (kv_bytes_ - old_bytes + new_bytes > kMaxKvBytes)
        return make_result(v1::Result::INVALID, index,
                           "the key-value store would exceed " + std::to_string(kMaxKvBytes) + " bytes");
      kv_bytes_ = kv_bytes_ - old_bytes + new_bytes;
      if (observer_)
        changed_kv(index, key, it == kv_.end() ? std::nullopt : std::optional(it->second), cmd.kv_put().value());
      kv_[key] = cmd.kv_put().value();
      return make_result(v1::Result::OK, index);
    }
    case v1::Command::kKvDelete: {
      auto it = kv_.find(cmd.kv_delete().key());
      if (it == kv_.end()) return make_result(v1::Result::NOT_FOUND, index, "no key " + cmd.kv_delete().key());
      kv_bytes_ -= it->first.size() + it->second.size();
      if (observer_) changed_kv(index, it->first, it->second, std::nullopt);
      kv_.erase(it);
      return make_result(v1::Result::OK, index);
    }
    case v1::Command::kTransferLeader:
      if (std::find(voters.begin(), voters.end(), cmd.transfer_leader().target()) == voters.end())
        return make_result(v1::Result::INVALID, index,
                           "node " + std::to_string(cmd.transfer_leader().target()) + " is not a voter");
      return make_result(v1::Result::OK, index);  // the leader that applies it starts the transfer
    case v1::Command::kConfChange: return make_result(v1::Result::OK, index);  // the core applied the change itself
    case v1::Command::kPolicyAdd: {
      const v1::PolicyRoute& route = cmd.policy_add().route();
      if (policies_.size() >= kMaxPolicyRoutes && policies_.count(route.prefix()) == 0)
        return make_result(v1::Result::INVALID, index,
                           "the policy table is full (" + std::to_string(kMaxPolicyRoutes) + " routes)");
      v1::PolicyChange change;
      change.set_op("add");
      auto it = policies_.find(route.prefix());
      *(it == policies_.end() ? change.add_added() : change.add_changed()) = route.prefix();
      if (observer_)
        changed_policy(index, route.prefix(), it == policies_.end() ? std::nullopt : std::optional(it->second), route);
      policies_[route.prefix()] = route;
      ++policy_version_;
      record_policy_change(std::move(change), index, cmd);
      return make_result(v1::Result::OK, index);
    }
    case v1::Command::kPolicyRemove: {
      auto it = policies_.find(cmd.policy_remove().prefix());
      if (it == policies_.end())
        return make_result(v1::Result::NOT_FOUND, index, "no policy for " + cmd.policy_remove().prefix());
      if (observer_) changed_policy(index, it->first, it->second, std::nullopt);
      policies_.erase(it);
      ++policy_version_;
      v1::PolicyChange change;
      change.set_op("remove");
      change.add_removed(cmd.policy_remove().prefix());
      record_policy_change(std::move(change), index, cmd);
      return make_result(v1::Result::OK, index);
    }
    case v1::Command::kPolicyReplace: return apply_replace(index, cmd);
    default: return make_result(v1::Result::INVALID, index, "not a write");
  }
}

v1::Result StateMachine::apply_replace(raft::Index index, const v1::Command& cmd) {
  // check_write has validated every route and their order: nothing below can fail half-way.
  std::map<std::string, v1::PolicyRoute> next;
  for (const v1::PolicyRoute& route : cmd.policy_replace().routes()) next.emplace(route.prefix(), route);
  v1::PolicyChange change;
  change.set_op("apply");
  for (const auto& [prefix, route] : next) {
    auto it = policies_.find(prefix);
    if (it == policies_.end())
      change.add_added(prefix);
    else if (it->second.SerializeAsString() != route.SerializeAsString())
      change.add_changed(prefix);
  }
  for (const auto& [prefix, route] : policies_)
    if (next.count(prefix) == 0) change.add_removed(prefix);
  if (observer_) {
    for (const std::string& p : change.added()) changed_policy(index, p, std::nullopt, next.at(p));
    for (const std::string& p : change.changed()) changed_policy(index, p, policies_.at(p), next.at(p));
    for (const std::string& p : change.removed()) changed_policy(index, p, policies_.at(p), std::nullopt);
  }
  policies_ = std::move(next);
  ++policy_version_;
  record_policy_change(std::move(change), index, cmd);
  return make_result(v1::Result::OK, index);
}

void StateMachine::record_policy_change(v1::PolicyChange change, raft::Index index, const v1::Command& cmd) {
  change.set_index(index);
  change.set_client_id(cmd.client_id());
  if (cmd.has_author()) *change.mutable_author() = cmd.author();
  policy_history_.push_back(std::move(change));
  while (policy_history_.size() > kMaxPolicyHistory) policy_history_.pop_front();
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
  for (const std::string& id : evicted_) snap.add_evicted(id);
  for (const v1::PolicyChange& change : policy_history_) *snap.add_policy_history() = change;
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
  for (const auto& r : snap.policies()) {
    if (auto e = validate_policy_route(r)) return "snapshot policy route \"" + r.prefix() + "\": " + e->to_string();
    next.policies_[r.prefix()] = r;
  }
  for (const auto& kv : snap.kv()) {
    next.kv_[kv.key()] = kv.value();
    next.kv_bytes_ += kv.key().size() + kv.value().size();
  }
  if (static_cast<std::size_t>(snap.evicted_size()) > kMaxTombstones) return "snapshot holds too many evicted sessions";
  for (const std::string& id : snap.evicted()) next.add_tombstone(id);
  if (static_cast<std::size_t>(snap.policy_history_size()) > kMaxPolicyHistory)
    return "snapshot holds too many policy changes";
  next.policy_history_.assign(snap.policy_history().begin(), snap.policy_history().end());
  for (const auto& rec : snap.sessions()) {
    Session& s = next.sessions_[rec.client_id()];
    s.seq = rec.seq();
    s.result = rec.result();
    s.last_index = rec.last_index();
    next.session_by_index_[rec.last_index()] = rec.client_id();
  }
  next.applied_ = index;
  next.policy_version_ = policy_version_ + 1;
  if (observer_) report_restore(next, index);
  next.observer_ = std::move(observer_);
  *this = std::move(next);
  return std::nullopt;
}

void StateMachine::changed_kv(raft::Index index, const std::string& key, std::optional<std::string> was,
                              std::optional<std::string> now, bool snapshot) const {
  observer_(StateChange{.index = index,
                        .table = StateChange::Table::kKv,
                        .key = key,
                        .old_value = std::move(was),
                        .new_value = std::move(now),
                        .old_route = std::nullopt,
                        .new_route = std::nullopt,
                        .snapshot = snapshot});
}

void StateMachine::changed_policy(raft::Index index, const std::string& prefix, std::optional<v1::PolicyRoute> was,
                                  std::optional<v1::PolicyRoute> now, bool snapshot) const {
  observer_(StateChange{.index = index,
                        .table = StateChange::Table::kPolicy,
                        .key = prefix,
                        .old_value = std::nullopt,
                        .new_value = std::nullopt,
                        .old_route = std::move(was),
                        .new_route = std::move(now),
                        .snapshot = snapshot});
}

namespace {

// Calls diff(key, old or nullptr, new or nullptr) for every key whose value differs between two sorted maps.
template <typename V, typename Same, typename Diff>
void diff_maps(const std::map<std::string, V>& was, const std::map<std::string, V>& now, Same same, Diff diff) {
  auto a = was.begin(), b = now.begin();
  while (a != was.end() || b != now.end()) {
    if (b == now.end() || (a != was.end() && a->first < b->first)) {
      diff(a->first, &a->second, nullptr);
      ++a;
    } else if (a == was.end() || b->first < a->first) {
      diff(b->first, nullptr, &b->second);
      ++b;
    } else {
      if (!same(a->second, b->second)) diff(a->first, &a->second, &b->second);
      ++a;
      ++b;
    }
  }
}

template <typename V>
std::optional<V> maybe(const V* v) {
  return v == nullptr ? std::nullopt : std::optional<V>(*v);
}

}  // namespace

// A snapshot replaced the state: its difference, key by key, at the snapshot's index.
void StateMachine::report_restore(const StateMachine& next, raft::Index index) const {
  diff_maps(
      kv_, next.kv_, [](const std::string& x, const std::string& y) { return x == y; },
      [&](const std::string& key, const std::string* was, const std::string* now) {
        changed_kv(index, key, maybe(was), maybe(now), true);
      });
  diff_maps(
      policies_, next.policies_,
      [](const v1::PolicyRoute& x, const v1::PolicyRoute& y) { return x.SerializeAsString() == y.SerializeAsString(); },
      [&](const std::string& prefix, const v1::PolicyRoute* was, const v1::PolicyRoute* now) {
        changed_policy(index, prefix, maybe(was), maybe(now), true);
      });
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
    add_tombstone(oldest->second);
    sessions_.erase(oldest->second);
    session_by_index_.erase(oldest);
  }
}

void StateMachine::add_tombstone(const std::string& client_id) {
  if (!evicted_set_.insert(client_id).second) return;
  evicted_.push_back(client_id);
  if (evicted_.size() > kMaxTombstones) {
    evicted_set_.erase(evicted_.front());
    evicted_.pop_front();
  }
}

}  // namespace raftbgp::agent
