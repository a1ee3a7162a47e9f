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
// assumes eBGP sessions, which the design uses (a distinct ASN per node, facts §5.8). ExaBGP drops
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
  std::string field;    // "prefix", "next_hop", "communities[1]", ...
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

// True when one prefix contains the other (same family).
bool prefixes_overlap(const transport::IpPrefix& a, const transport::IpPrefix& b);

// "A:B" or a well-known name -> canonical text; nullopt if invalid.
std::optional<std::string> canonical_community(std::string_view text);
// "A:B:C" -> canonical text; nullopt if invalid.
std::optional<std::string> canonical_large_community(std::string_view text);

// What one node announces for a policy: the policy with its node-local parts resolved.
struct NodeRouteContext {
  std::uint64_t node_id = 0;
  std::string next_hop_ipv4 = "self";
  std::string next_hop_ipv6;      // "" = this node cannot announce IPv6 policy routes with a default next hop
  std::uint32_t local_asn = 0;    // 0 = unknown: a prepend cannot be honoured
};

// True when `route` applies to ctx.node_id (nodes empty, or listing it).
bool announced_by(const v1::PolicyRoute& route, std::uint64_t node_id);

// The full announce command for `route` on this node (no trailing newline), or why this node cannot
// announce it (no IPv6 next hop configured; prepend without local_asn).
std::variant<std::string, std::string> format_policy_announce(const v1::PolicyRoute& route, const NodeRouteContext& ctx,
                                                              std::string_view neighbor);

}  // namespace raftbgp::agent
