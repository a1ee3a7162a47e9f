#include <algorithm>

#include "ctl.h"

namespace raftbgp::agent::ctl {

using nlohmann::json;

namespace {

// An unsigned field of the status answer; a missing or wrong-typed one throws json::type_error, which
// raftbgpctl reports as a malformed answer.
std::uint64_t field(json& s, const char* name) { return s[name].get<std::uint64_t>(); }

bool listed(json& ids, std::uint64_t id) {
  if (!ids.is_array()) return false;
  return std::any_of(ids.begin(), ids.end(), [&](const json& v) { return v.get<std::uint64_t>() == id; });
}

}  // namespace

Health judge_health(json& s, std::uint64_t max_lag) {
  Health h;
  const std::uint64_t self = field(s, "node_id");
  if (field(s, "leader") == 0) h.reasons.push_back("no leader known (term " + s["term"].dump() + ")");
  if (!listed(s["voters"], self) && !listed(s["learners"], self))
    h.reasons.push_back("node " + std::to_string(self) + " is not a member of the configuration");
  const std::uint64_t commit = field(s, "commit"), applied = field(s, "applied");
  if (commit > applied && commit - applied > max_lag)
    h.reasons.push_back("applied index " + std::to_string(applied) + " lags commit index " + std::to_string(commit) +
                        " by more than " + std::to_string(max_lag) + " entries");
  h.healthy = h.reasons.empty();
  return h;
}

json Health::to_json(json& s) const {
  return json{{"healthy", healthy}, {"reasons", reasons},    {"node_id", s["node_id"]}, {"role", s["role"]},
              {"term", s["term"]},  {"leader", s["leader"]}, {"commit", s["commit"]},   {"applied", s["applied"]}};
}

}  // namespace raftbgp::agent::ctl
