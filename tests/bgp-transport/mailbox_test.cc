#include <gtest/gtest.h>

#include <set>

#include "raftbgp/transport/mailbox.h"

namespace raftbgp::transport {
namespace {

MailboxPlan plan(const MailboxLayout& l) { return std::get<MailboxPlan>(MailboxPlan::create(l)); }

TEST(IpPrefix, Parses_and_prints_both_families) {
  auto v4 = IpPrefix::parse("10.200.3.0/24");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->family, Family::kIpv4);
  EXPECT_EQ(v4->to_string(), "10.200.3.0/24");
  auto v6 = IpPrefix::parse("fd72:6166:0001:0002::/64");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->to_string(), "fd72:6166:1:2::/64");
  for (const char* bad :
       {"10.0.0.1/33", "10.0.0.1/24", "10.0.0/24", "fd00::/129", "fd00::", "/8", "x/8", "10.0.0.0/", "10.0.0.0/2a"})
    EXPECT_FALSE(IpPrefix::parse(bad)) << bad;
}

TEST(NextHop, Family_must_match_and_ipv6_is_never_self) {
  EXPECT_FALSE(validate_next_hop(Family::kIpv4, "self"));
  EXPECT_FALSE(validate_next_hop(Family::kIpv4, "10.255.1.1"));
  EXPECT_TRUE(validate_next_hop(Family::kIpv4, "fd00::1"));
  EXPECT_FALSE(validate_next_hop(Family::kIpv6, "fd00:255:1::1"));
  EXPECT_TRUE(validate_next_hop(Family::kIpv6, "self"));
  EXPECT_TRUE(validate_next_hop(Family::kIpv6, "10.255.1.1"));
  EXPECT_TRUE(validate_next_hop(Family::kIpv6, ""));
}

TEST(Mailbox, Ipv6_default_is_a_slash_64_per_slot_and_round_trips) {
  MailboxPlan p = plan(MailboxLayout::default_ipv6());
  EXPECT_EQ(p.prefix_length(), 64);
  EXPECT_EQ(p.slots(), 256u);
  EXPECT_EQ(p.max_node_id(), 4095u);
  const IpPrefix px = p.prefix_for({1, 2, 3});
  EXPECT_EQ(px.to_string(), "fd72:6166:20:103::/64");  // dst 2 | src 1 | slot 3
  EXPECT_EQ(p.parse(px), (MailboxAddress{1, 2, 3}));
  EXPECT_EQ(p.parse(p.prefix_for({4095, 0, 255})), (MailboxAddress{4095, 0, 255}));
}

TEST(Mailbox, All_mail_for_one_router_is_one_prefix_and_the_group_home_another) {
  MailboxPlan p = plan(MailboxLayout::default_ipv6());
  EXPECT_EQ(p.mail_for(2).to_string(), "fd72:6166:20::/44");
  EXPECT_EQ(p.mail_for(0).to_string(), "fd72:6166::/44");
  // Every source and slot of mail for 2 falls inside mail_for(2), and nothing for 3 does.
  const IpPrefix mine = p.mail_for(2);
  auto inside = [](const IpPrefix& outer, const IpPrefix& inner) {
    for (unsigned bit = 0; bit < outer.length; ++bit)
      if (((outer.address[bit / 8] ^ inner.address[bit / 8]) >> (7 - bit % 8)) & 1) return false;
    return inner.length >= outer.length;
  };
  for (std::uint64_t src : {1u, 3u, 4095u})
    for (std::uint32_t slot : {0u, 7u, 255u}) {
      EXPECT_TRUE(inside(mine, p.prefix_for({src, 2, slot})));
      EXPECT_FALSE(inside(mine, p.prefix_for({src, 3, slot})));
      EXPECT_TRUE(inside(p.mail_for(0), p.prefix_for({src, 0, slot})));
    }
}

TEST(Mailbox, Layout_v1_prefixes_still_parse_for_a_rolling_upgrade) {
  MailboxPlan p = plan(MailboxLayout::default_ipv6());
  // raftbgp 0.1 announced src 1 -> dst 2, slot 3 as fd72:6166:10:203::/64 (source bits first).
  const IpPrefix v1 = *IpPrefix::parse("fd72:6166:10:203::/64");
  EXPECT_EQ(p.parse_v1(v1), (MailboxAddress{1, 2, 3}));
  EXPECT_EQ(p.parse(v1), (MailboxAddress{2, 1, 3}));  // the same bits read as v2: ambiguous, resolved by the frame
  EXPECT_FALSE(p.parse_v1(*IpPrefix::parse("fd72:6166:0:203::/64")));  // v1 source 0
}

TEST(Mailbox, Ipv4_default_is_a_slash_32_per_slot_and_round_trips) {
  MailboxPlan p = plan(MailboxLayout::default_ipv4());
  EXPECT_EQ(p.prefix_length(), 32);
  EXPECT_EQ(p.slots(), 64u);
  const IpPrefix px = p.prefix_for({1, 2, 3});
  EXPECT_EQ(px.to_string(), "10.200.16.67/32");  // dst 00010 | src 00001 | slot 000011
  EXPECT_EQ(p.parse(px), (MailboxAddress{1, 2, 3}));
  std::set<IpPrefix> all;
  for (std::uint64_t s = 1; s <= 3; ++s)
    for (std::uint64_t d = 0; d <= 3; ++d)
      for (std::uint32_t k = 0; k < p.slots(); ++k) all.insert(p.prefix_for({s, d, k}));
  EXPECT_EQ(all.size(), 3u * 4u * 64u);
}

TEST(Mailbox, Parse_rejects_prefixes_that_are_not_mailboxes) {
  MailboxPlan p = plan(MailboxLayout::default_ipv6());
  for (const char* other : {"fd72:6167:10:203::/64", "fd72:6166:10:202::/63", "fd72:6166:20:3::/64", "10.200.8.131/32"})
    EXPECT_FALSE(p.parse(*IpPrefix::parse(other))) << other;
  MailboxPlan q = plan(MailboxLayout{*IpPrefix::parse("fd72:6166::/32"), 12, 12, 8});
  IpPrefix host = *IpPrefix::parse("fd72:6166:10:203::1/128");
  EXPECT_FALSE(q.parse(host));
}

TEST(Mailbox, Layout_must_fit_the_family) {
  EXPECT_TRUE(std::holds_alternative<std::string>(MailboxPlan::create({*IpPrefix::parse("10.200.0.0/16"), 8, 8, 8})));
  EXPECT_TRUE(std::holds_alternative<std::string>(MailboxPlan::create({*IpPrefix::parse("fd00::/32"), 0, 8, 8})));
  EXPECT_TRUE(std::holds_alternative<std::string>(MailboxPlan::create({*IpPrefix::parse("fd00::/32"), 8, 8, 17})));
  EXPECT_TRUE(std::holds_alternative<MailboxPlan>(MailboxPlan::create({*IpPrefix::parse("fd00::/32"), 32, 32, 16})));
}

}  // namespace
}  // namespace raftbgp::transport
