#include "raftbgp/agent/policy.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "raftbgp/transport/exabgp.h"

namespace raftbgp::agent {
namespace {

using transport::Family;
using transport::IpPrefix;

std::optional<std::uint64_t> parse_u64(std::string_view s, std::uint64_t max) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

std::optional<PolicyError> check_next_hop(v1::PolicyRoute& r, const IpPrefix& prefix) {
  const std::string nh = r.next_hop();
  if (nh.empty()) return std::nullopt;  // each node's own configured next hop
  if (nh == "self") {
    if (prefix.family == Family::kIpv6)
      return PolicyError{"next_hop",
                         "`self` is refused for IPv6 prefixes (ExaBGP would send a 4-byte next hop on an "
                         "IPv4 session, docs/architecture.md §3): give an IPv6 address, or omit it to use each "
                         "node's configured next_hop.ipv6"};
    return std::nullopt;
  }
  auto a = transport::parse_address(nh);
  if (!a) return PolicyError{"next_hop", "must be `self` or an address, got \"" + nh + "\""};
  if (a->family != prefix.family)
    return PolicyError{"next_hop", "address family differs from the prefix's (" + nh + ")"};
  std::string canon = a->to_string();
  r.set_next_hop(canon.substr(0, canon.find('/')));
  return std::nullopt;
}

std::optional<PolicyError> check_communities(v1::PolicyRoute& r) {
  if (static_cast<std::size_t>(r.communities_size() + r.large_communities_size()) > kMaxCommunities)
    return PolicyError{"communities", "more than " + std::to_string(kMaxCommunities) + " communities"};
  std::set<std::string> c, lc;
  for (int i = 0; i < r.communities_size(); ++i) {
    auto v = canonical_community(r.communities(i));
    if (!v)
      return PolicyError{"communities[" + std::to_string(i) + "]",
                         "must be A:B with A, B in 0..65535 or no-export|no-advertise|no-export-subconfed|nopeer|"
                         "blackhole, got \"" +
                             r.communities(i) + "\""};
    c.insert(*v);
  }
  for (int i = 0; i < r.large_communities_size(); ++i) {
    auto v = canonical_large_community(r.large_communities(i));
    if (!v)
      return PolicyError{"large_communities[" + std::to_string(i) + "]",
                         "must be A:B:C with each part in 0..4294967295, got \"" + r.large_communities(i) + "\""};
    lc.insert(*v);
  }
  r.clear_communities();
  for (const auto& s : c) r.add_communities(s);
  r.clear_large_communities();
  for (const auto& s : lc) r.add_large_communities(s);
  return std::nullopt;
}

std::optional<PolicyError> check_nodes(v1::PolicyRoute& r, const PolicyLimits& limits) {
  std::set<std::uint64_t> nodes(r.nodes().begin(), r.nodes().end());
  for (std::uint64_t n : nodes)
    if (!std::binary_search(limits.members.begin(), limits.members.end(), n))
      return PolicyError{"nodes", "node " + std::to_string(n) + " is not a member"};
  r.clear_nodes();
  for (std::uint64_t n : nodes) r.add_nodes(n);
  return std::nullopt;
}

}  // namespace

bool prefixes_overlap(const IpPrefix& a, const IpPrefix& b) {
  if (a.family != b.family) return false;
  const std::uint8_t len = std::min(a.length, b.length);
  for (std::uint8_t bit = 0; bit < len; ++bit) {
    const int byte = bit / 8, shift = 7 - bit % 8;
    if (((a.address[static_cast<std::size_t>(byte)] >> shift) & 1) !=
        ((b.address[static_cast<std::size_t>(byte)] >> shift) & 1))
      return false;
  }
  return true;
}

std::optional<std::string> canonical_community(std::string_view text) {
  std::string low(text);
  std::transform(low.begin(), low.end(), low.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (low == "no-peer") low = "nopeer";
  for (const char* name : {"no-export", "no-advertise", "no-export-subconfed", "nopeer", "blackhole"})
    if (low == name) return low;
  auto parts = split(text, ':');
  if (parts.size() != 2) return std::nullopt;
  auto a = parse_u64(parts[0], 65535), b = parse_u64(parts[1], 65535);
  if (!a || !b) return std::nullopt;
  return std::to_string(*a) + ":" + std::to_string(*b);
}

std::optional<std::string> canonical_large_community(std::string_view text) {
  auto parts = split(text, ':');
  if (parts.size() != 3) return std::nullopt;
  std::string out;
  for (std::string_view p : parts) {
    auto v = parse_u64(p, 0xffffffffu);
    if (!v) return std::nullopt;
    out += (out.empty() ? "" : ":") + std::to_string(*v);
  }
  return out;
}

std::variant<v1::PolicyRoute, PolicyError> canonicalize_policy(const v1::PolicyRoute& in, const PolicyLimits& limits) {
  v1::PolicyRoute r = in;
  auto prefix = IpPrefix::parse(r.prefix());
  if (!prefix)
    return PolicyError{"prefix", "must be an IPv4 or IPv6 prefix with no host bits set (like 192.0.2.0/24), got \"" +
                                     r.prefix() + "\""};
  for (const IpPrefix& reserved : limits.reserved)
    if (prefixes_overlap(*prefix, reserved))
      return PolicyError{"prefix", prefix->to_string() + " overlaps the mailbox range " + reserved.to_string() +
                                       " (mailbox and policy routes never mix)"};
  r.set_prefix(prefix->to_string());
  if (auto e = check_next_hop(r, *prefix)) return *e;
  if (auto e = check_communities(r)) return *e;
  if (r.prepend() > kMaxPrepend)
    return PolicyError{"prepend", "at most " + std::to_string(kMaxPrepend) + ", got " + std::to_string(r.prepend())};
  if (auto e = check_nodes(r, limits)) return *e;
  return r;
}

bool command_text_ok(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char ch) {
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || ch == '.' || ch == ':' || ch == '/' || ch == '-';
  });
}

std::optional<PolicyError> validate_policy_route(const v1::PolicyRoute& route) {
  // Character set first: no canonicalizer below ever sees control bytes, whatever it would make of them.
  if (!command_text_ok(route.prefix())) return PolicyError{"prefix", "contains characters outside [0-9a-z.:/-]"};
  if (!command_text_ok(route.next_hop())) return PolicyError{"next_hop", "contains characters outside [0-9a-z.:/-]"};
  for (int i = 0; i < route.communities_size(); ++i)
    if (!command_text_ok(route.communities(i)))
      return PolicyError{"communities[" + std::to_string(i) + "]", "contains characters outside [0-9a-z.:/-]"};
  for (int i = 0; i < route.large_communities_size(); ++i)
    if (!command_text_ok(route.large_communities(i)))
      return PolicyError{"large_communities[" + std::to_string(i) + "]", "contains characters outside [0-9a-z.:/-]"};
  // Node-local limits (mailbox ranges, membership) are the proposer's; here any listed node is accepted.
  PolicyLimits limits;
  limits.members.assign(route.nodes().begin(), route.nodes().end());
  std::sort(limits.members.begin(), limits.members.end());
  auto canon = canonicalize_policy(route, limits);
  if (auto* e = std::get_if<PolicyError>(&canon)) return *e;
  // No protobuf maps in PolicyRoute: equal messages serialize to equal bytes.
  if (std::get<v1::PolicyRoute>(canon).SerializeAsString() != route.SerializeAsString())
    return PolicyError{"route", "not in canonical form (only a canonicalized route may enter the log)"};
  return std::nullopt;
}

namespace {

// A canonical community as "A:B" (well-known names to their RFC 1997 / RFC 7999 values).
std::string community_value(const std::string& canonical) {
  static const std::pair<const char*, const char*> kNames[] = {{"no-export", "65535:65281"},
                                                               {"no-advertise", "65535:65282"},
                                                               {"no-export-subconfed", "65535:65283"},
                                                               {"nopeer", "65535:65284"},
                                                               {"blackhole", "65535:666"}};
  for (const auto& [name, value] : kNames)
    if (canonical == name) return value;
  return canonical;
}

}  // namespace

std::optional<std::string> guard_refusal(const v1::PolicyRoute& route, const RouteGuards& guards) {
  const auto p = IpPrefix::parse(route.prefix());
  if (!p) return "not a prefix";
  const std::uint8_t max_len = p->family == Family::kIpv4 ? guards.max_prefix_length_v4 : guards.max_prefix_length_v6;
  if (p->length > max_len)
    return "prefix length " + std::to_string(p->length) + " is above guards.max_prefix_length_v" +
           (p->family == Family::kIpv4 ? "4" : "6") + " (" + std::to_string(max_len) + ")";
  if (!guards.allowed_prefixes.empty() &&
      std::none_of(guards.allowed_prefixes.begin(), guards.allowed_prefixes.end(), [&](const IpPrefix& a) {
        return a.family == p->family && a.length <= p->length && prefixes_overlap(a, *p);
      }))
    return "outside guards.allowed_prefixes";
  for (const std::string& c : route.communities())
    for (const std::string& refused : guards.refused_communities)
      if (community_value(c) == community_value(refused)) return "community " + c + " is in guards.refused_communities";
  for (const std::string& nh : guards.refused_next_hops)
    if (route.next_hop() == nh) return "next hop " + nh + " is in guards.refused_next_hops";
  return std::nullopt;
}

bool announced_by(const v1::PolicyRoute& route, std::uint64_t node_id) {
  return route.nodes().empty() || std::find(route.nodes().begin(), route.nodes().end(), node_id) != route.nodes().end();
}

std::variant<std::string, PolicyError> format_policy_announce(const v1::PolicyRoute& route, const NodeRouteContext& ctx,
                                                              std::string_view neighbor) {
  const bool v6 = route.prefix().find(':') != std::string::npos;
  std::string nh = route.next_hop();
  if (nh.empty()) nh = v6 ? ctx.next_hop_ipv6 : ctx.next_hop_ipv4;
  if (nh.empty()) return PolicyError{"next_hop", "no next_hop.ipv6 configured for IPv6 policy route " + route.prefix()};
  if (route.prepend() > 0 && ctx.local_asn == 0)
    return PolicyError{"prepend", "prepend on " + route.prefix() + " needs local_asn in the config"};
  std::string line;
  if (!neighbor.empty()) line += "neighbor " + std::string(neighbor) + " ";
  line += "announce route " + route.prefix() + " next-hop " + nh;
  if (route.has_med()) line += " med " + std::to_string(route.med());
  if (route.has_local_pref()) line += " local-preference " + std::to_string(route.local_pref());
  if (route.prepend() > 0) {
    line += " as-path [";
    for (std::uint32_t i = 0; i <= route.prepend(); ++i) line += " " + std::to_string(ctx.local_asn);
    line += " ]";
  }
  if (route.communities_size() > 0) {
    line += " community [";
    for (const auto& c : route.communities()) line += " " + c;
    line += " ]";
  }
  if (route.large_communities_size() > 0) {
    line += " large-community [";
    for (const auto& c : route.large_communities()) line += " " + c;
    line += " ]";
  }
  return line;
}

}  // namespace raftbgp::agent
