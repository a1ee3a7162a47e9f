#include <algorithm>
#include <cstdio>
#include <optional>

#include "ctl.h"

namespace raftbgp::agent::ctl {

using nlohmann::json;

namespace {

// An unsigned field of the status answer; a missing or wrong-typed one throws json::type_error, which
// raftbgpctl reports as a malformed answer.
std::uint64_t field(json& s, const char* name) { return s[name].get<std::uint64_t>(); }

// An optional unsigned field of an optional object: absent (older agent) or null -> nullopt.
std::optional<std::uint64_t> maybe(const json& s, const char* object, const char* name) {
  if (!s.is_object() || !s.contains(object) || !s[object].is_object()) return std::nullopt;
  const json& o = s[object];
  if (!o.contains(name) || !o[name].is_number_integer()) return std::nullopt;
  if (!o[name].is_number_unsigned() && o[name].get<std::int64_t>() < 0) return std::nullopt;
  return o[name].get<std::uint64_t>();
}

bool listed(json& ids, std::uint64_t id) {
  if (!ids.is_array()) return false;
  return std::any_of(ids.begin(), ids.end(), [&](const json& v) { return v.get<std::uint64_t>() == id; });
}

std::string seconds(std::uint64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  return buf;
}

// The checks on the leader: membership and lag (ctl.h).
void judge_raft(json& s, const HealthLimits& l, std::vector<std::string>& why) {
  const std::uint64_t self = field(s, "node_id"), leader = field(s, "leader");
  if (leader == 0) why.push_back("no leader known (term " + s["term"].dump() + ")");
  if (!listed(s["voters"], self) && !listed(s["learners"], self))
    why.push_back("node " + std::to_string(self) + " is not a member of the configuration");
  const std::uint64_t commit = field(s, "commit"), applied = field(s, "applied");
  if (commit > applied && commit - applied > l.max_lag_entries)
    why.push_back("applied index " + std::to_string(applied) + " lags commit index " + std::to_string(commit) +
                  " by more than " + std::to_string(l.max_lag_entries) + " entries");
  if (leader == 0 || leader == self) return;
  const auto lag = maybe(s, "health", "lag_entries"), lc = maybe(s, "health", "leader_commit");
  if (lag && lc && *lag > l.max_lag_entries && *lc > commit)  // else the line above said it
    why.push_back("applied index " + std::to_string(applied) + " lags the leader's commit index " +
                  std::to_string(*lc) + " by more than " + std::to_string(l.max_lag_entries) + " entries");
  if (const auto behind = maybe(s, "health", "behind_ms"); behind && *behind > l.max_lag_ms)
    why.push_back("applied index has trailed the leader's commit index for " + seconds(*behind) + " (more than " +
                  seconds(l.max_lag_ms) + ")");
  const bool frozen = s.contains("quiesce") && s["quiesce"].is_object() && s["quiesce"].value("frozen", false);
  if (const auto contact = maybe(s, "health", "leader_contact_ms"); contact && !frozen && *contact > l.max_lag_ms)
    why.push_back("nothing heard from leader " + std::to_string(leader) + " for " + seconds(*contact) + " (more than " +
                  seconds(l.max_lag_ms) + ")");
}

// The checks on BGP and ExaBGP (ctl.h).
void judge_bgp(json& s, const HealthLimits& l, std::vector<std::string>& why) {
  if (const auto up = maybe(s, "health", "bgp_sessions_up"); up && *up == 0)
    why.push_back("no BGP session up (ExaBGP reported none established since the agent started)");
  const auto outstanding = maybe(s, "exabgp", "outstanding"), waited = maybe(s, "exabgp", "ms_without_ack");
  if (outstanding && waited && *outstanding > 0 && *waited > l.max_ack_wait_ms)
    why.push_back("ExaBGP acknowledged none of " + std::to_string(*outstanding) + " outstanding commands for " +
                  seconds(*waited) + " (more than " + seconds(l.max_ack_wait_ms) + ")");
  if (const auto stall = maybe(s, "health", "last_ack_stall_ms_ago"); stall && *stall < kRecentAckStallMs)
    why.push_back("ExaBGP stopped acknowledging commands: the agent reset its command window " + seconds(*stall) +
                  " ago");
}

}  // namespace

Health judge_health(json& s, const HealthLimits& limits) {
  Health h;
  judge_raft(s, limits, h.reasons);
  judge_bgp(s, limits, h.reasons);
  h.healthy = h.reasons.empty();
  return h;
}

json Health::to_json(json& s) const {
  return json{{"healthy", healthy}, {"reasons", reasons},    {"node_id", s["node_id"]}, {"role", s["role"]},
              {"term", s["term"]},  {"leader", s["leader"]}, {"commit", s["commit"]},   {"applied", s["applied"]}};
}

}  // namespace raftbgp::agent::ctl
