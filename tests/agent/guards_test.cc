// Per-router local guards (YAML `guards:`, policy.h RouteGuards): a router refuses to announce what its
// own guards forbid, whatever the replicated policy asks, and says so in route_problems (tracker item 4).
#include <gtest/gtest.h>

#include "raftbgp/agent/announcer.h"
#include "test_util.h"

namespace raftbgp::agent::test {
namespace {

using transport::IpPrefix;
using transport::MailboxLayout;

v1::PolicyRoute route(const std::string& prefix, std::vector<std::string> communities = {},
                      const std::string& next_hop = "") {
  v1::PolicyRoute r;
  r.set_prefix(prefix);
  r.set_next_hop(next_hop);
  for (auto& c : communities) r.add_communities(c);
  return r;
}

std::map<std::string, v1::PolicyRoute> table(std::initializer_list<v1::PolicyRoute> routes) {
  std::map<std::string, v1::PolicyRoute> t;
  for (const auto& r : routes) t[r.prefix()] = r;
  return t;
}

RouteAnnouncer guarded(RouteGuards g) {
  return RouteAnnouncer(NodeRouteContext{1, "self", "fd00:255::1", 65001}, Neighbors{},
                        {MailboxLayout::default_ipv6().base, MailboxLayout::default_ipv4().base}, "", std::move(g));
}

TEST(Guards, Default_guards_refuse_blackhole_only) {
  RouteAnnouncer a = guarded(RouteGuards{});
  auto d = a.reconcile(table({route("192.0.2.0/24"), route("192.0.2.1/32", {"65535:666"}),
                              route("198.51.100.0/24", {"blackhole"}), route("203.0.113.0/24", {"no-export"})}));
  EXPECT_EQ(d.lines, (std::vector<std::string>{"announce route 192.0.2.0/24 next-hop self",
                                               "announce route 203.0.113.0/24 next-hop self community [ no-export ]"}));
  EXPECT_EQ(a.guard_refused(), 2u);
  ASSERT_EQ(a.problems().count("198.51.100.0/24"), 1u);
  EXPECT_NE(a.problems().at("198.51.100.0/24").find("guards.refused_communities"), std::string::npos);
  EXPECT_EQ(a.problems().count("192.0.2.1/32"), 1u);
}

TEST(Guards, Announcer_refuses_what_the_guards_forbid_and_lists_it_in_route_problems) {
  RouteGuards g;
  g.allowed_prefixes = {*IpPrefix::parse("192.0.2.0/24"), *IpPrefix::parse("2001:db8::/32")};
  g.max_prefix_length_v4 = 28;
  g.max_prefix_length_v6 = 48;
  g.refused_next_hops = {"192.0.2.66"};
  g.max_policy_routes = 2;
  RouteAnnouncer a = guarded(g);
  auto d =
      a.reconcile(table({route("192.0.2.0/25"), route("192.0.2.16/28"), route("192.0.2.32/29"), route("100.64.0.0/10"),
                         route("192.0.2.128/26", {}, "192.0.2.66"), route("2001:db8:1::/48", {}, "2001:db8::1"),
                         route("2001:db8:2:1::/64"), route("192.0.0.0/16")}));
  // 192.0.2.0/25 and 192.0.2.16/28 are announced; 2001:db8:1::/48 would be the third (max_policy_routes 2).
  EXPECT_EQ(d.lines, (std::vector<std::string>{"announce route 192.0.2.0/25 next-hop self",
                                               "announce route 192.0.2.16/28 next-hop self"}));
  const auto& p = a.problems();
  EXPECT_NE(p.at("192.0.2.32/29").find("max_prefix_length_v4"), std::string::npos);
  EXPECT_NE(p.at("100.64.0.0/10").find("allowed_prefixes"), std::string::npos);
  EXPECT_NE(p.at("192.0.0.0/16").find("allowed_prefixes"), std::string::npos);  // covers the range, not inside it
  EXPECT_NE(p.at("192.0.2.128/26").find("refused_next_hops"), std::string::npos);
  EXPECT_NE(p.at("2001:db8:2:1::/64").find("max_prefix_length_v6"), std::string::npos);
  EXPECT_NE(p.at("2001:db8:1::/48").find("max_policy_routes"), std::string::npos);
  EXPECT_EQ(a.guard_refused(), 6u);
}

}  // namespace
}  // namespace raftbgp::agent::test
