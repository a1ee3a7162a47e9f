// Policy as code: the YAML file of `raftbgpctl policy apply -f` / `policy export`, its diff against the
// cluster's table, and the JSON form of a route on the control socket (policy.show, policy.apply).
//
// File format (what export writes; apply reads the same):
//   # raftbgp policy
//   routes:
//     - prefix: 192.0.2.0/24
//       next_hop: self              # optional; "" or absent = each node's own next hop
//       communities: [65000:1]      # optional lists
//       large_communities: [65000:1:2]
//       med: 10                     # optional
//       local_pref: 100             # optional
//       prepend: 2                  # optional, default 0
//       nodes: [1, 2]               # optional; absent or empty = every node
// The file is the WHOLE desired table: a route the cluster has and the file does not is withdrawn.
// parse_policy_file reports every error (unknown or duplicate keys, wrong types, invalid routes,
// duplicate prefixes) with its line; the node-local checks (mailbox ranges, membership) are the
// receiving agent's, which lists every error of the file's routes in one answer as well.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "raftbgp/agent/config.h"
#include "raftbgp/v1/agent.pb.h"

namespace raftbgp::agent {

// The routes of a policy file, canonical (policy.h canonicalize_policy) and sorted by prefix, or every
// error found (field "routes[2].med", its line). Never throws.
std::variant<std::vector<v1::PolicyRoute>, std::vector<ConfigError>> parse_policy_file(std::string_view yaml_text);

// The policy file for `routes` (any order; written sorted by prefix). parse_policy_file(export) gives
// the same routes back.
std::string export_policy_file(const std::vector<v1::PolicyRoute>& routes);

// A route as the control protocol carries it (policy.show's "routes" items, policy.apply's args).
nlohmann::json policy_route_json(const v1::PolicyRoute& route);
// The inverse, without canonicalizing; nullopt-free: a field of the wrong type throws json::exception.
v1::PolicyRoute policy_route_from_json(const nlohmann::json& j);

// A history entry as policy.history carries it: {"index","client_id","uid","hostname","unix_ms","op",
// "added","removed","changed"} (uid -1 and unix_ms 0 when the entry carried no author).
nlohmann::json policy_change_json(const v1::PolicyChange& change);

// What applying `desired` to `current` changes (both any order), by prefix.
struct PolicyDiff {
  std::vector<v1::PolicyRoute> added;
  std::vector<v1::PolicyRoute> removed;
  std::vector<std::pair<v1::PolicyRoute, v1::PolicyRoute>> changed;  // (current, desired)
  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
};
PolicyDiff diff_policy(const std::vector<v1::PolicyRoute>& current, const std::vector<v1::PolicyRoute>& desired);
// One line per difference: "+ 192.0.2.0/24 med 10", "- 198.51.100.0/24", "~ 203.0.113.0/24 med 10 -> med 20".
std::string format_policy_diff(const PolicyDiff& diff);
// A route's attributes in one line ("next_hop self med 10 communities [65000:1]"; "" when it has none).
std::string policy_route_summary(const v1::PolicyRoute& route);

}  // namespace raftbgp::agent
