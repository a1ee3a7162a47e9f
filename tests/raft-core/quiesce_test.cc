// Quiescence (node.h "Quiescence"): when an idle leader may stop heartbeating, what its last heartbeat carries,
// and which peers keep it awake.
#include <gtest/gtest.h>

#include "test_util.h"

namespace raftbgp::raft {
namespace {

using namespace raftbgp::raft::test;
using raftbgp::v1::MSG_APP;
using raftbgp::v1::MSG_HEARTBEAT;
using raftbgp::v1::MSG_HEARTBEAT_RESP;

// Three voters, node 1 leading, one entry committed everywhere.
Network settled_cluster() {
  Network net(3);
  elect(net, 1);
  EXPECT_EQ(net.propose(1, "x").status, ProposeResult::Status::kAccepted);
  return net;
}

TEST(Quiesce, Quiescable_is_true_on_an_idle_leader_only) {
  Network net = settled_cluster();
  EXPECT_TRUE(net.node(1).quiescable());
  EXPECT_FALSE(net.node(2).quiescable());
  EXPECT_FALSE(net.node(3).quiescable());
}

TEST(Quiesce, Quiesce_sends_one_marked_heartbeat_per_peer_carrying_the_commit_index) {
  Network net = settled_cluster();
  ASSERT_TRUE(net.node(1).quiesce());
  const std::vector<Message> out = net.take_pending();
  ASSERT_EQ(out.size(), 2u);
  for (const Message& m : out) {
    EXPECT_EQ(m.type(), MSG_HEARTBEAT);
    EXPECT_TRUE(m.quiesce());
    EXPECT_EQ(m.commit(), net.node(1).commit_index());
  }
}

TEST(Quiesce, A_follower_that_missed_the_commit_news_learns_it_from_the_quiesce_heartbeat) {
  Network net(3);
  elect(net, 1);
  // Commit-only AppendEntries (the news of the commit index) are lost.
  net.intercept = [](Message& m) { return m.type() == MSG_APP && m.commit_only(); };
  ASSERT_EQ(net.propose(1, "x").status, ProposeResult::Status::kAccepted);
  const Index commit = net.node(1).commit_index();
  ASSERT_LT(net.node(2).commit_index(), commit);
  ASSERT_TRUE(net.node(1).quiesce());
  net.stabilize();
  EXPECT_EQ(net.node(2).commit_index(), commit);
  EXPECT_EQ(net.node(3).commit_index(), commit);
  EXPECT_TRUE(net.node(1).quiescable()) << "the heartbeat answers of caught-up peers keep it quiescable";
}

TEST(Quiesce, A_lagging_peer_keeps_the_leader_awake_until_it_is_silent_for_an_election_timeout) {
  Network net = settled_cluster();
  net.cut(1, 3);
  ASSERT_EQ(net.propose(1, "y").status, ProposeResult::Status::kAccepted);
  EXPECT_FALSE(net.node(1).quiescable());
  EXPECT_FALSE(net.node(1).quiesce());
  EXPECT_TRUE(net.take_pending().empty()) << "a refused quiesce sends nothing";
  net.tick(1, 9);
  EXPECT_FALSE(net.node(1).quiescable());
  net.tick(1, 1);
  EXPECT_TRUE(net.node(1).quiescable()) << "node 3 unheard for election_ticks: treated as down";
}

TEST(Quiesce, A_silent_peer_that_answers_again_makes_the_leader_unquiescable_and_is_caught_up) {
  Network net = settled_cluster();
  net.cut(1, 3);
  ASSERT_EQ(net.propose(1, "y").status, ProposeResult::Status::kAccepted);
  net.tick(1, 10);
  ASSERT_TRUE(net.node(1).quiesce());
  net.stabilize();  // node 3 is still cut off
  net.heal();
  ASSERT_TRUE(net.node(1).quiesce());
  // Deliver only the heartbeats and node 3's answer: the answer must turn the leader unquiescable.
  std::vector<Message> beats = net.take_pending();
  for (const Message& m : beats) net.node(m.to()).step(m);
  for (NodeId id : {NodeId{2}, NodeId{3}}) {
    for (const Message& m : drain(net.peer(id))) {
      ASSERT_EQ(m.type(), MSG_HEARTBEAT_RESP);
      net.node(1).step(m);
    }
  }
  EXPECT_FALSE(net.node(1).quiescable());
  net.stabilize();  // the leader's AppendEntries to node 3
  EXPECT_EQ(net.node(3).log().last_index(), net.node(1).log().last_index());
  EXPECT_TRUE(net.node(1).quiescable());
}

TEST(Quiesce, A_read_index_round_or_a_transfer_keeps_the_leader_awake) {
  Network net = settled_cluster();
  ASSERT_EQ(net.node(1).read_index("r1"), ReadIndexResult::kPending);
  EXPECT_FALSE(net.node(1).quiescable());
  net.stabilize();
  EXPECT_TRUE(net.node(1).quiescable());
  net.cut(1, 2);
  ASSERT_EQ(net.node(1).transfer_leader(2), TransferResult::kStarted);
  EXPECT_FALSE(net.node(1).quiescable());
}

TEST(Quiesce, A_new_leader_is_not_quiescable_before_its_no_op_commits) {
  Network net(3);
  net.cut(1, 2);
  net.cut(1, 3);
  Peer& p = net.peer(1);
  make_leader(p, ids(3));
  EXPECT_FALSE(net.node(1).quiescable());
}

}  // namespace
}  // namespace raftbgp::raft
