// Route policy entries: validation of what a client asks for, and the ExaBGP command for one route.
//
// A PolicyRoute (agent.proto) enters the log only after canonicalize_policy() accepted it on the node
// the client talks to, so the log holds canonical text (sorted, deduplicated communities; canonical
// prefix and next hop; sorted node ids). Apply never re-validates against node-local config.
//
// Announce syntax (ExaBGP 4.2.21 text API, configuration/static/parser.py; each form is checked by
// tests/agent/announce_golden_test.cc against lines ExaBGP accepted):
//   [neighbor <ip> ]announce route <prefix> next-hop <nh>[ med <n>][ local-preference <n>]
//       [ as-path [ <asn> ... ]][ community [ <a:b> ... ]][ large-community [ <a:b:c> ... ]]
// ExaBGP sends an explicit as-path as given (it only adds its local ASN to a default, empty path on eBGP:
// bgp/message/update/attribute/attributes.py), so "prepend N" becomes N+1 copies of local_asn; this
// assumes eBGP sessions, which the design uses (a distinct ASN per node, docs/exabgp.md §5.8). ExaBGP drops
// local-preference on eBGP sessions; it only matters over iBGP.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "raftbgp/transport/mailbox.h"
#include "raftbgp/v1/agent.pb.h"

namespace raftbgp::agent {

inline constexpr std::uint32_t kMaxPrepend = 16;
inline constexpr std::size_t kMaxCommunities = 64;

struct PolicyError {
  std::string field;  // "prefix", "next_hop", "communities[1]", ...
  std::string message;
  std::string to_string() const { return field + ": " + message; }
};

// What a node checks a policy against before proposing it.
struct PolicyLimits {
  std::vector<transport::IpPrefix> reserved;  // mailbox base prefixes: policy routes never overlap them
  std::vector<std::uint64_t> members;         // `nodes` must name members (sorted)
};

// Validates `in` and returns it in canonical form, or the first error.
std::variant<v1::PolicyRoute, PolicyError> canonicalize_policy(const v1::PolicyRoute& in, const PolicyLimits& limits);

// The node-independent check of a route that arrives from elsewhere (a forwarded command at the leader,
// a log entry at apply, a snapshot at restore): `route` must be exactly its own canonical form
// (canonicalize_policy without the node-local limits) and every text field must stay inside the closed
// character set of command_text_ok(). A canonical route is therefore safe to splice into an ExaBGP
// command line: a next hop of "192.0.2.1\nneighbor X teardown 2" is not canonical and is refused here,
// before it can reach any router's ExaBGP. Deterministic (no config, no clock): apply may call it.
std::optional<PolicyError> validate_policy_route(const v1::PolicyRoute& route);

// True when `text` uses only the characters a canonical prefix, address, community name or number can
// contain: [0-9a-z.:/-]. Everything the agent splices into an ExaBGP command passes this.
bool command_text_ok(std::string_view text);

// True when one prefix contains the other (same family).
bool prefixes_overlap(const transport::IpPrefix& a, const transport::IpPrefix& b);

// "A:B" or a well-known name -> canonical text; nullopt if invalid.
std::optional<std::string> canonical_community(std::string_view text);
// "A:B:C" -> canonical text; nullopt if invalid.
std::optional<std::string> canonical_large_community(std::string_view text);

// What one node announces for a policy: the policy with its node-local parts resolved.
// The ExaBGP neighbour each command names (YAML `neighbor`, docs/operator-guide.md "Dual sessions"): "" = every
// neighbour. One address for both families, or one per family where IPv4 and IPv6 routes ride separate sessions:
// ExaBGP refuses a route on a neighbour that does not carry its family (and logs "the route family is not configured
// on neighbor" for every such command), so each announce and withdraw goes to the neighbour of its prefix's family.
struct Neighbors {
  std::string ipv4;
  std::string ipv6;
  static Neighbors both(const std::string& address) { return {address, address}; }
  const std::string& of(transport::Family f) const { return f == transport::Family::kIpv4 ? ipv4 : ipv6; }
  bool operator==(const Neighbors&) const = default;
};

struct NodeRouteContext {
  std::uint64_t node_id = 0;
  std::string next_hop_ipv4 = "self";
  std::string next_hop_ipv6;    // "" = this node cannot announce IPv6 policy routes with a default next hop
  std::uint32_t local_asn = 0;  // 0 = unknown: a prepend cannot be honoured
};

// Per-router local guards (config `guards:`, node-local): routes THIS router refuses to announce, whatever
// the replicated policy asks. Any member of a control socket's group on any router can add a policy
// route that every router announces; the guards bound what that can make this router say. They are
// checked by this router's RouteAnnouncer only (never at apply: apply must not depend on node-local
// config), so a refused route stays in the replicated policy and shows up in route_problems here.
struct RouteGuards {
  std::vector<transport::IpPrefix> allowed_prefixes;  // empty: any prefix (outside the mailbox ranges)
  std::uint8_t max_prefix_length_v4 = 32;
  std::uint8_t max_prefix_length_v6 = 128;
  // Canonical communities (canonical_community); a well-known name and its value match each other.
  std::vector<std::string> refused_communities{"blackhole"};
  std::vector<std::string> refused_next_hops;  // canonical addresses, or "self"
  std::size_t max_policy_routes = 10000;       // this router announces at most this many (prefix order)
};

// Why `guards` refuse `route` (nullopt: allowed). max_policy_routes is counted by the announcer.
std::optional<std::string> guard_refusal(const v1::PolicyRoute& route, const RouteGuards& guards);

// True when `route` applies to ctx.node_id (nodes empty, or listing it).
bool announced_by(const v1::PolicyRoute& route, std::uint64_t node_id);

// The full announce command for `route` on this node (no trailing newline), or why this node cannot
// announce it (field "next_hop": no IPv6 next hop configured; "prepend": prepend without local_asn).
std::variant<std::string, PolicyError> format_policy_announce(const v1::PolicyRoute& route, const NodeRouteContext& ctx,
                                                              std::string_view neighbor);

}  // namespace raftbgp::agent
