// group_for_send (agent/include/raftbgp/agent/send_groups.h): the broadcast property on the send side.
#include <gtest/gtest.h>

#include <vector>

#include "raftbgp/agent/send_groups.h"

namespace raftbgp::agent {
namespace {

raft::Message msg(std::uint64_t to, raft::MessageType type, std::uint64_t commit, std::uint64_t index = 0) {
  raft::Message m;
  m.set_type(type);
  m.set_from(1);
  m.set_to(to);
  m.set_term(3);
  m.set_commit(commit);
  m.set_index(index);
  return m;
}

using Groups = std::vector<SendGroup>;
constexpr auto kHeartbeat = raft::MessageType::MSG_HEARTBEAT;
constexpr auto kApp = raft::MessageType::MSG_APP;

std::vector<std::vector<std::uint64_t>> dests(const Groups& g) {
  std::vector<std::vector<std::uint64_t>> out;
  for (const SendGroup& s : g) out.push_back(s.to);
  return out;
}

TEST(SendGroups, Identical_heartbeats_share_one_send) {
  const std::vector<raft::Message> m = {msg(2, kHeartbeat, 7), msg(3, kHeartbeat, 7)};
  const Groups g = group_for_send(m, 1, 32);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].first, 0u);
  EXPECT_EQ(g[0].to, (std::vector<std::uint64_t>{2, 3}));
}

TEST(SendGroups, Messages_stay_apart_when_they_differ_in_more_than_to) {
  // A lagging follower's heartbeat carries a lower commit; its append another prev index.
  const std::vector<raft::Message> m = {msg(2, kHeartbeat, 7), msg(3, kHeartbeat, 5), msg(2, kApp, 7, 9),
                                        msg(3, kApp, 7, 8)};
  const Groups g = group_for_send(m, 1, 32);
  ASSERT_EQ(g.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(g[i].first, i);
}

TEST(SendGroups, Mixed_ready_is_grouped_and_keeps_every_message_once) {
  const std::vector<raft::Message> m = {msg(2, kApp, 7, 9), msg(3, kApp, 7, 9), msg(4, kApp, 7, 8), msg(5, kApp, 7, 9),
                                        msg(4, kHeartbeat, 7)};
  const Groups g = group_for_send(m, 1, 32);
  EXPECT_EQ(dests(g), (std::vector<std::vector<std::uint64_t>>{{2, 3, 5}, {4}, {4}}));
  EXPECT_EQ(g[1].first, 2u);
  EXPECT_EQ(g[2].first, 4u);
}

TEST(SendGroups, Grouping_keeps_per_destination_order) {
  // A(2), B(3), A'(3)=A: joining A' into A's group would put it before B for node 3.
  const std::vector<raft::Message> m = {msg(2, kApp, 7, 9), msg(3, kApp, 7, 4), msg(3, kApp, 7, 9)};
  EXPECT_EQ(dests(group_for_send(m, 1, 32)), (std::vector<std::vector<std::uint64_t>>{{2}, {3}, {3}}));
  // The same message twice to one node is sent twice (never one destination twice in a frame).
  const std::vector<raft::Message> twice = {msg(2, kApp, 7, 9), msg(2, kApp, 7, 9), msg(3, kApp, 7, 9)};
  EXPECT_EQ(dests(group_for_send(twice, 1, 32)), (std::vector<std::vector<std::uint64_t>>{{2}, {2, 3}}));
}

TEST(SendGroups, Grouping_respects_the_destination_cap_and_never_groups_self_or_zero) {
  std::vector<raft::Message> m;
  for (std::uint64_t to = 2; to <= 6; ++to) m.push_back(msg(to, kHeartbeat, 7));
  EXPECT_EQ(dests(group_for_send(m, 1, 2)), (std::vector<std::vector<std::uint64_t>>{{2, 3}, {4, 5}, {6}}));
  const std::vector<raft::Message> odd = {msg(1, kHeartbeat, 7), msg(0, kHeartbeat, 7), msg(2, kHeartbeat, 7),
                                          msg(0, kHeartbeat, 7)};
  EXPECT_EQ(dests(group_for_send(odd, 1, 32)), (std::vector<std::vector<std::uint64_t>>{{1}, {0}, {2}, {0}}));
  EXPECT_TRUE(group_for_send({}, 1, 32).empty());
}

}  // namespace
}  // namespace raftbgp::agent
