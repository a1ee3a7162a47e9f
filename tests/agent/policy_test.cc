// Policy validation, the ExaBGP announce forms (golden lines, each accepted by ExaBGP 4.2.21's parser:
// `exabgp --validate` on a static route of the same text, see README "Agent"), and the announcer's diff.
#include <gtest/gtest.h>

#include "raftbgp/agent/announcer.h"
#include "raftbgp/agent/files.h"
#include "raftbgp/agent/policy.h"
#include "test_util.h"

namespace raftbgp::agent::test {
namespace {

using transport::IpPrefix;
using transport::MailboxLayout;

PolicyLimits limits() {
  return PolicyLimits{{MailboxLayout::default_ipv6().base, MailboxLayout::default_ipv4().base}, {1, 2, 3}};
}

v1::PolicyRoute route(const std::string& prefix) {
  v1::PolicyRoute r;
  r.set_prefix(prefix);
  return r;
}

std::string field_of(const v1::PolicyRoute& r) {
  auto out = canonicalize_policy(r, limits());
  if (auto* e = std::get_if<PolicyError>(&out)) return e->field;
  return "(ok)";
}

TEST(Policy, Canonicalize_sorts_and_dedups_and_refuses_bad_input) {
  v1::PolicyRoute r = route("2001:0db8:0::/48");
  r.set_next_hop("2001:DB8::0001");
  r.add_communities("65000:2");
  r.add_communities("65000:02");
  r.add_communities("NO-EXPORT");
  r.add_nodes(3);
  r.add_nodes(1);
  r.add_nodes(3);
  auto out = canonicalize_policy(r, limits());
  ASSERT_TRUE(std::holds_alternative<v1::PolicyRoute>(out)) << std::get<PolicyError>(out).to_string();
  const v1::PolicyRoute& c = std::get<v1::PolicyRoute>(out);
  EXPECT_EQ(c.prefix(), "2001:db8::/48");
  EXPECT_EQ(c.next_hop(), "2001:db8::1");
  ASSERT_EQ(c.communities_size(), 2);
  EXPECT_EQ(c.communities(0), "65000:2");
  EXPECT_EQ(c.communities(1), "no-export");
  EXPECT_EQ(c.nodes_size(), 2);

  EXPECT_EQ(field_of(route("192.0.2.1/24")), "prefix");  // host bits
  EXPECT_EQ(field_of(route("192.0.2.0/33")), "prefix");
  EXPECT_EQ(field_of(route("banana")), "prefix");
  EXPECT_EQ(field_of(route("fd72:6166:5::/48")), "prefix");  // inside the IPv6 mailbox range
  EXPECT_EQ(field_of(route("fd72::/16")), "prefix");         // covering it
  EXPECT_EQ(field_of(route("10.200.3.0/24")), "prefix");     // inside the IPv4 mailbox range
  v1::PolicyRoute v6self = route("2001:db8::/32");
  v6self.set_next_hop("self");
  EXPECT_EQ(field_of(v6self), "next_hop");
  v1::PolicyRoute mixed = route("192.0.2.0/24");
  mixed.set_next_hop("2001:db8::1");
  EXPECT_EQ(field_of(mixed), "next_hop");
  v1::PolicyRoute bad_c = route("192.0.2.0/24");
  bad_c.add_communities("65536:1");
  EXPECT_EQ(field_of(bad_c), "communities[0]");
  v1::PolicyRoute bad_lc = route("192.0.2.0/24");
  bad_lc.add_large_communities("1:2");
  EXPECT_EQ(field_of(bad_lc), "large_communities[0]");
  v1::PolicyRoute prep = route("192.0.2.0/24");
  prep.set_prepend(17);
  EXPECT_EQ(field_of(prep), "prepend");
  v1::PolicyRoute stranger = route("192.0.2.0/24");
  stranger.add_nodes(4);
  EXPECT_EQ(field_of(stranger), "nodes");
}

std::string announce(const v1::PolicyRoute& r, const std::string& neighbor = "") {
  auto out = format_policy_announce(r, NodeRouteContext{1, "self", "fd00:255::1", 65001}, neighbor);
  if (const auto* e = std::get_if<PolicyError>(&out)) return "ERROR: " + e->message;
  return std::get<std::string>(out);
}

// One golden line per attribute form.
TEST(AnnounceGolden, Every_attribute_form_matches_exabgp_syntax) {
  v1::PolicyRoute r = route("192.0.2.0/24");
  EXPECT_EQ(announce(r), "announce route 192.0.2.0/24 next-hop self");
  r.set_next_hop("198.51.100.1");
  EXPECT_EQ(announce(r), "announce route 192.0.2.0/24 next-hop 198.51.100.1");
  r.set_med(10);
  EXPECT_EQ(announce(r), "announce route 192.0.2.0/24 next-hop 198.51.100.1 med 10");
  r.clear_med();
  r.set_local_pref(200);
  EXPECT_EQ(announce(r), "announce route 192.0.2.0/24 next-hop 198.51.100.1 local-preference 200");
  r.clear_local_pref();
  r.set_prepend(2);
  EXPECT_EQ(announce(r), "announce route 192.0.2.0/24 next-hop 198.51.100.1 as-path [ 65001 65001 65001 ]");
  r.set_prepend(0);
  r.add_communities("65000:1");
  r.add_communities("no-export");
  EXPECT_EQ(announce(r), "announce route 192.0.2.0/24 next-hop 198.51.100.1 community [ 65000:1 no-export ]");
  r.clear_communities();
  r.add_large_communities("65000:1:2");
  EXPECT_EQ(announce(r), "announce route 192.0.2.0/24 next-hop 198.51.100.1 large-community [ 65000:1:2 ]");
  EXPECT_EQ(announce(r, "10.255.1.2"),
            "neighbor 10.255.1.2 announce route 192.0.2.0/24 next-hop 198.51.100.1 large-community [ 65000:1:2 ]");
  EXPECT_EQ(announce(route("2001:db8::/32")), "announce route 2001:db8::/32 next-hop fd00:255::1");
  auto no_v6 = format_policy_announce(route("2001:db8::/32"), NodeRouteContext{1, "self", "", 65001}, "");
  ASSERT_TRUE(std::holds_alternative<PolicyError>(no_v6));
  EXPECT_EQ(std::get<PolicyError>(no_v6).field, "next_hop");
  v1::PolicyRoute p = route("192.0.2.0/24");
  p.set_prepend(1);
  auto no_asn = format_policy_announce(p, NodeRouteContext{1, "self", "", 0}, "");
  ASSERT_TRUE(std::holds_alternative<PolicyError>(no_asn));
  EXPECT_EQ(std::get<PolicyError>(no_asn).field, "prepend");
}

std::map<std::string, v1::PolicyRoute> table(std::initializer_list<v1::PolicyRoute> routes) {
  std::map<std::string, v1::PolicyRoute> t;
  for (const auto& r : routes) t[r.prefix()] = r;
  return t;
}

RouteAnnouncer make_announcer(const std::string& record, std::uint64_t node = 1) {
  return RouteAnnouncer(NodeRouteContext{node, "self", "fd00:255::1", 65001}, Neighbors{},
                        {MailboxLayout::default_ipv6().base, MailboxLayout::default_ipv4().base}, record);
}

TEST(RouteAnnouncer, Announcer_sends_only_the_difference_on_add_change_and_remove) {
  RouteAnnouncer a = make_announcer("");
  v1::PolicyRoute x = route("192.0.2.0/24"), y = route("198.51.100.0/24"), other = route("203.0.113.0/24");
  other.add_nodes(2);  // not for node 1
  auto d1 = a.reconcile(table({x, y, other}));
  EXPECT_EQ(d1.lines, (std::vector<std::string>{"announce route 192.0.2.0/24 next-hop self",
                                                "announce route 198.51.100.0/24 next-hop self"}));
  EXPECT_TRUE(a.reconcile(table({x, y, other})).lines.empty());  // nothing changed: nothing sent
  x.set_med(5);
  EXPECT_EQ(a.reconcile(table({x, y})).lines,
            (std::vector<std::string>{"announce route 192.0.2.0/24 next-hop self med 5"}));
  EXPECT_EQ(a.reconcile(table({x})).lines, (std::vector<std::string>{"withdraw route 198.51.100.0/24"}));
  EXPECT_EQ(a.withdrawing().count("198.51.100.0/24"), 1u);
  a.on_ack("withdraw route 198.51.100.0/24", true);
  EXPECT_TRUE(a.withdrawing().empty());
  EXPECT_EQ(a.announced().size(), 1u);
}

TEST(RouteAnnouncer, Restart_reannounces_applied_routes_and_withdraws_stale_ones) {
  TempDir dir;
  const std::string record = dir.path() + "/announced";
  v1::PolicyRoute x = route("192.0.2.0/24"), y = route("198.51.100.0/24");
  {
    RouteAnnouncer first = make_announcer(record);
    ASSERT_FALSE(first.load());
    first.reconcile(table({x, y}));
    // Dies before the withdraw of y is acked: y stays recorded.
    first.reconcile(table({x}));
  }
  RouteAnnouncer second = make_announcer(record);
  ASSERT_FALSE(second.load());
  auto d = second.reconcile(table({x}));
  EXPECT_EQ(d.lines,
            (std::vector<std::string>{"withdraw route 198.51.100.0/24", "announce route 192.0.2.0/24 next-hop self"}));
  second.on_ack("withdraw route 198.51.100.0/24", true);
  auto content = std::get<std::optional<std::string>>(read_file(record));
  ASSERT_TRUE(content);
  EXPECT_EQ(*content, "192.0.2.0/24\n");
}

// The record is written without fsync (files.h Durability::kProcessCrash): after a power loss it may be empty
// or cut mid-line. ExaBGP's RIB died with the machine, so such a record is read for what it still names and
// the first reconcile announces every desired route; it is never an error that stops the agent.
TEST(RouteAnnouncer, A_record_cut_by_a_power_loss_loads_what_it_names_and_reannounces_the_desired_routes) {
  TempDir dir;
  const std::string record = dir.path() + "/announced";
  v1::PolicyRoute x = route("192.0.2.0/24");
  for (const std::string& damaged :
       {std::string(), std::string("198.51.100.0/24\n203.0.1"), std::string("\0\0\0\0", 4)}) {
    ASSERT_FALSE(atomic_write_file(record, damaged, Durability::kProcessCrash));
    RouteAnnouncer a = make_announcer(record);
    ASSERT_FALSE(a.load()) << "record " << damaged.size() << " bytes";
    auto d = a.reconcile(table({x}));
    std::vector<std::string> want;
    if (damaged.rfind("198.51.100.0/24", 0) == 0) want.push_back("withdraw route 198.51.100.0/24");
    want.push_back("announce route 192.0.2.0/24 next-hop self");
    EXPECT_EQ(d.lines, want) << "record " << damaged.size() << " bytes";
    auto content = std::get<std::optional<std::string>>(read_file(record));
    ASSERT_TRUE(content);
    EXPECT_NE(content->find("192.0.2.0/24\n"), std::string::npos);
    EXPECT_FALSE(std::get<std::optional<std::string>>(read_file(record + ".tmp")));  // renamed, not left behind
  }
}

TEST(RouteAnnouncer, With_a_session_per_family_each_command_names_the_neighbour_of_its_prefix_family) {
  RouteAnnouncer a(NodeRouteContext{1, "self", "fd00:255::1", 65001}, Neighbors{"10.0.0.2", "fd00:1::2"},
                   {MailboxLayout::default_ipv6().base, MailboxLayout::default_ipv4().base}, "");
  v1::PolicyRoute v4 = route("192.0.2.0/24"), v6 = route("2001:db8::/32");
  EXPECT_EQ(a.reconcile(table({v4, v6})).lines,
            (std::vector<std::string>{"neighbor 10.0.0.2 announce route 192.0.2.0/24 next-hop self",
                                      "neighbor fd00:1::2 announce route 2001:db8::/32 next-hop fd00:255::1"}));
  EXPECT_EQ(a.reconcile(table({})).lines,
            (std::vector<std::string>{"neighbor 10.0.0.2 withdraw route 192.0.2.0/24",
                                      "neighbor fd00:1::2 withdraw route 2001:db8::/32"}));
}

TEST(RouteAnnouncer, Announcer_never_announces_inside_the_mailbox_range) {
  RouteAnnouncer a = make_announcer("");
  // A log written by a node with another mailbox config could hold it; this node still refuses.
  EXPECT_TRUE(a.reconcile(table({route("fd72:6166:1::/48")})).lines.empty());
  EXPECT_EQ(a.problems().count("fd72:6166:1::/48"), 1u);
}

}  // namespace
}  // namespace raftbgp::agent::test
