// ExaBGP command injection through policy fields: a route is validated as a whole wherever it enters
// (client, forwarded command at the leader, apply, snapshot restore), and the writer refuses any line
// with a line break or NUL (tracker item 2).
#include <gtest/gtest.h>

#include "raftbgp/agent/policy.h"
#include "raftbgp/agent/state_machine.h"
#include "raftbgp/transport/ack_router.h"

namespace raftbgp::agent::test {
namespace {

const char* const kInjectedNextHop = "192.0.2.1\nneighbor 10.0.0.1 teardown 2\nannounce route 0.0.0.0/0 next-hop self";

v1::Command policy_add(const v1::PolicyRoute& route, std::uint64_t seq = 1) {
  v1::Command c;
  c.set_client_id("attacker");
  c.set_seq(seq);
  *c.mutable_policy_add()->mutable_route() = route;
  return c;
}

v1::PolicyRoute route(const std::string& prefix, const std::string& next_hop = "") {
  v1::PolicyRoute r;
  r.set_prefix(prefix);
  r.set_next_hop(next_hop);
  return r;
}

TEST(RouteSafety, Validate_refuses_a_line_break_in_any_field) {
  EXPECT_FALSE(validate_policy_route(route("192.0.2.0/24", "192.0.2.1")));
  EXPECT_EQ(validate_policy_route(route("192.0.2.0/24", kInjectedNextHop))->field, "next_hop");
  EXPECT_EQ(validate_policy_route(route("192.0.2.0/24\nannounce route 10.0.0.0/8 next-hop self"))->field, "prefix");
  v1::PolicyRoute c = route("192.0.2.0/24");
  c.add_communities("65000:1\nneighbor 10.0.0.1 teardown 2");
  EXPECT_EQ(validate_policy_route(c)->field, "communities[0]");
  v1::PolicyRoute lc = route("192.0.2.0/24");
  lc.add_large_communities(std::string("1:2:3\0x", 7));
  EXPECT_EQ(validate_policy_route(lc)->field, "large_communities[0]");
  // Well-formed but not canonical (the proposer canonicalizes; nobody else may skip that step).
  v1::PolicyRoute unsorted = route("192.0.2.0/24");
  unsorted.add_communities("65000:2");
  unsorted.add_communities("65000:1");
  EXPECT_EQ(validate_policy_route(unsorted)->field, "route");
  v1::PolicyRoute upper = route("192.0.2.0/24");
  upper.add_communities("NO-EXPORT");
  EXPECT_TRUE(validate_policy_route(upper));
  EXPECT_TRUE(validate_policy_route(route("192.0.2.0/24", "self ")));
  EXPECT_TRUE(validate_policy_route(route("2001:db8::/32", "self")));  // `self` is IPv4 only
}

TEST(RouteSafety, Invalid_route_applies_as_invalid_and_changes_nothing) {
  StateMachine sm;
  const std::uint64_t version = sm.policy_version();
  const v1::Result r = sm.apply(1, policy_add(route("192.0.2.0/24", kInjectedNextHop)));
  EXPECT_EQ(r.code(), v1::Result::INVALID);
  EXPECT_NE(r.message().find("next_hop"), std::string::npos) << r.message();
  EXPECT_TRUE(sm.policies().empty());
  EXPECT_EQ(sm.policy_version(), version);
  EXPECT_EQ(sm.applied_index(), 1u);
  // Refused before the session table: the client's seq 1 is still free for a valid route.
  EXPECT_EQ(sm.apply(2, policy_add(route("192.0.2.0/24", "192.0.2.1"), 1)).code(), v1::Result::OK);
}

TEST(RouteSafety, Snapshot_restore_refuses_an_invalid_route_and_keeps_the_state) {
  StateMachine sm;
  ASSERT_EQ(sm.apply(1, policy_add(route("198.51.100.0/24"))).code(), v1::Result::OK);
  v1::StateSnapshot snap;
  snap.set_version(1);
  snap.set_applied(5);
  *snap.add_policies() = route("192.0.2.0/24", kInjectedNextHop);
  auto err = sm.restore(snap.SerializeAsString(), 5);
  ASSERT_TRUE(err);
  EXPECT_NE(err->find("192.0.2.0/24"), std::string::npos) << *err;
  EXPECT_NE(err->find("next_hop"), std::string::npos) << *err;
  EXPECT_EQ(sm.applied_index(), 1u);
  EXPECT_EQ(sm.policies().count("198.51.100.0/24"), 1u);
}

TEST(RouteSafety, Writer_refuses_lines_with_a_line_break_or_nul_and_counts_them) {
  transport::AckRouter router;
  EXPECT_FALSE(router.queue_agent("announce route 192.0.2.0/24 next-hop 192.0.2.1\nneighbor 10.0.0.1 teardown 2"));
  EXPECT_FALSE(router.transport_written(std::string("announce route x\0", 17)));
  EXPECT_FALSE(router.queue_agent("withdraw route 192.0.2.0/24\r"));
  EXPECT_EQ(router.refused_unsafe(), 3u);
  EXPECT_TRUE(router.take_agent_ready().empty());
  EXPECT_EQ(router.outstanding(), 0u);  // nothing refused waits for an ack
  EXPECT_TRUE(router.queue_agent("announce route 192.0.2.0/24 next-hop 192.0.2.1"));
  EXPECT_EQ(router.take_agent_ready().size(), 1u);
  EXPECT_EQ(router.outstanding(), 1u);
}

}  // namespace
}  // namespace raftbgp::agent::test
