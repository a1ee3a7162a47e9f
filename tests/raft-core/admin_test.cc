// Membership changes (thesis §4.1–4.2), leadership transfer (thesis §3.10) and ReadIndex (thesis §6.4).
#include <gtest/gtest.h>

#include "test_util.h"

namespace raftbgp::raft {
namespace {

using namespace raftbgp::raft::test;
using raftbgp::v1::ConfChange;
using S = ProposeResult::Status;

ConfChange change(raftbgp::v1::ConfChangeType type, NodeId id) {
  ConfChange cc;
  cc.set_type(type);
  cc.set_node_id(id);
  return cc;
}

// Three voters plus a fourth router that knows the bootstrap list but is not in it.
Network cluster_with_newcomer() {
  Network net(3);
  net.add(config(4, ids(3)));
  return net;
}

ProposeResult propose_change(Network& net, NodeId leader, raftbgp::v1::ConfChangeType type, NodeId id) {
  ProposeResult r = net.node(leader).propose_conf_change(change(type, id));
  net.stabilize();
  return r;
}

// ---------------------------------------------------------------------------------------------
// Membership

TEST(Membership, A_newcomer_outside_the_bootstrap_list_never_campaigns) {
  Network net = cluster_with_newcomer();
  net.tick(4, 100);
  EXPECT_EQ(net.node(4).role(), Role::kFollower);
  EXPECT_EQ(net.node(4).term(), 0u);
}

TEST(Membership, A_learner_receives_the_log_but_neither_votes_nor_counts_for_commit) {
  Network net = cluster_with_newcomer();
  elect(net, 1);
  ASSERT_EQ(propose_change(net, 1, raftbgp::v1::CONF_ADD_LEARNER, 4).status, S::kAccepted);
  net.propose(1, "x");
  EXPECT_EQ(net.node(4).commit_index(), net.node(1).commit_index());
  EXPECT_EQ(net.node(1).conf_state().learners_size(), 1);
  // With both other voters cut off, the learner's acknowledgement must not make a quorum.
  net.cut(1, 2);
  net.cut(1, 3);
  const Index before = net.node(1).commit_index();
  net.propose(1, "y");
  EXPECT_EQ(net.node(1).commit_index(), before);
  net.heal();
  // A learner never starts an election, however long it waits.
  net.isolate(4);
  net.tick(4, 100);
  EXPECT_EQ(net.node(4).role(), Role::kFollower);
}

TEST(Membership, A_promoted_learner_votes_and_the_quorum_grows) {
  Network net = cluster_with_newcomer();
  elect(net, 1);
  ASSERT_EQ(propose_change(net, 1, raftbgp::v1::CONF_ADD_LEARNER, 4).status, S::kAccepted);
  ASSERT_EQ(propose_change(net, 1, raftbgp::v1::CONF_PROMOTE, 4).status, S::kAccepted);
  EXPECT_EQ(net.node(4).status().voters, (std::vector<NodeId>{1, 2, 3, 4}));
  // Four voters need three acknowledgements: the leader and node 4 alone are not enough.
  net.cut(1, 2);
  net.cut(1, 3);
  const Index before = net.node(1).commit_index();
  net.propose(1, "z");
  EXPECT_EQ(net.node(1).commit_index(), before);
  net.heal();
  // Node 4 can now win an election once the others' leases on node 1 have run out (thesis §6.2).
  net.isolate(1);
  for (NodeId id : {NodeId{2}, NodeId{3}}) net.tick(id, 20);
  net.campaign(4);
  EXPECT_EQ(net.node(4).role(), Role::kLeader);
}

TEST(Membership, Removing_a_voter_shrinks_the_quorum) {
  Network net(3);
  elect(net, 1);
  ASSERT_EQ(propose_change(net, 1, raftbgp::v1::CONF_REMOVE, 3).status, S::kAccepted);
  EXPECT_EQ(net.node(1).status().voters, (std::vector<NodeId>{1, 2}));
  net.isolate(3);
  EXPECT_EQ(net.propose(1, "a").status, S::kAccepted);
  EXPECT_EQ(net.node(2).commit_index(), net.node(1).commit_index());
  // The removed node is no longer promotable.
  net.tick(3, 100);
  EXPECT_NE(net.node(3).role(), Role::kLeader);
}

TEST(Membership, A_removed_leader_steps_down_once_the_removal_commits) {
  Network net(3);
  elect(net, 1);
  ASSERT_EQ(propose_change(net, 1, raftbgp::v1::CONF_REMOVE, 1).status, S::kAccepted);
  EXPECT_EQ(net.node(1).role(), Role::kFollower);
  EXPECT_EQ(net.node(2).status().voters, (std::vector<NodeId>{2, 3}));
  net.isolate(1);
  net.tick(3, 20);  // node 3's lease on the old leader runs out (thesis §6.2)
  net.campaign(2);
  EXPECT_EQ(net.node(2).role(), Role::kLeader);
  EXPECT_EQ(net.propose(2, "after").status, S::kAccepted);
  EXPECT_EQ(net.node(3).commit_index(), net.node(2).commit_index());
}

TEST(Membership, A_two_voter_cluster_can_remove_one_and_go_on_alone) {
  Network net(2);
  elect(net, 1);
  ASSERT_EQ(propose_change(net, 1, raftbgp::v1::CONF_REMOVE, 2).status, S::kAccepted);
  EXPECT_EQ(net.node(1).status().voters, (std::vector<NodeId>{1}));
  net.isolate(2);
  const Index before = net.node(1).commit_index();
  EXPECT_EQ(net.propose(1, "solo").status, S::kAccepted);
  EXPECT_EQ(net.node(1).commit_index(), before + 1);
}

TEST(Membership, No_change_before_the_leader_commits_an_entry_of_its_term) {
  // Ongaro, raft-dev 2015: a new leader must commit an entry of its own term before it appends a
  // configuration change, or two one-at-a-time changes in consecutive terms can overlap.
  Network net(3);
  net.isolate(2);
  net.isolate(3);
  // Node 1 wins with votes fed by hand, so its no-op cannot commit (no one acknowledges it).
  Peer& p = net.peer(1);
  make_leader(p, ids(3));
  ASSERT_EQ(net.node(1).role(), Role::kLeader);
  EXPECT_EQ(net.node(1).propose_conf_change(change(raftbgp::v1::CONF_REMOVE, 3)).status, S::kNotReady);
  net.heal();
  net.tick(1, 5);  // the probes lost while 2 and 3 were cut off go again after 5 ticks: the no-op commits
  EXPECT_EQ(propose_change(net, 1, raftbgp::v1::CONF_REMOVE, 3).status, S::kAccepted);
}

TEST(Membership, A_second_change_is_refused_while_one_is_uncommitted) {
  Network net = cluster_with_newcomer();
  elect(net, 1);
  net.isolate(2);
  net.isolate(3);
  ASSERT_EQ(net.node(1).propose_conf_change(change(raftbgp::v1::CONF_ADD_LEARNER, 4)).status, S::kAccepted);
  EXPECT_EQ(net.node(1).propose_conf_change(change(raftbgp::v1::CONF_REMOVE, 3)).status, S::kConfChangePending);
}

TEST(Membership, Invalid_changes_are_refused) {
  Network net(3);
  elect(net, 1);
  EXPECT_EQ(net.node(1).propose_conf_change(change(raftbgp::v1::CONF_PROMOTE, 9)).status, S::kInvalid);
  EXPECT_EQ(net.node(1).propose_conf_change(change(raftbgp::v1::CONF_ADD_VOTER, 2)).status, S::kInvalid);
  EXPECT_EQ(net.node(1).propose_conf_change(change(raftbgp::v1::CONF_REMOVE, 0)).status, S::kInvalid);
  EXPECT_EQ(net.node(2).propose_conf_change(change(raftbgp::v1::CONF_REMOVE, 3)).status, S::kNotLeader);
}

TEST(Membership, The_configuration_is_rebuilt_from_the_log_after_a_restart) {
  Network net(3);
  elect(net, 1);
  ASSERT_EQ(propose_change(net, 1, raftbgp::v1::CONF_REMOVE, 3).status, S::kAccepted);
  net.restart(2, config(2, ids(3)));
  EXPECT_EQ(net.node(2).status().voters, (std::vector<NodeId>{1, 2}));
}

TEST(Membership, An_uncommitted_change_overwritten_by_a_new_leader_never_applies) {
  Network net(3);
  elect(net, 1);
  net.isolate(1);
  // Node 1 appends a removal that nobody receives.
  ASSERT_EQ(net.node(1).propose_conf_change(change(raftbgp::v1::CONF_REMOVE, 3)).status, S::kAccepted);
  net.stabilize();
  net.heal();
  net.isolate(1);
  net.tick(3, 20);
  net.campaign(2);
  ASSERT_EQ(net.node(2).role(), Role::kLeader);
  net.propose(2, "new");
  net.heal();
  net.tick(2);     // the heartbeat makes node 1 step down
  net.tick(2, 5);  // the probe lost while node 1 was cut off goes again: it takes node 2's log
  EXPECT_EQ(net.node(1).role(), Role::kFollower);
  EXPECT_EQ(net.node(1).commit_index(), net.node(2).commit_index());
  EXPECT_EQ(net.node(1).status().voters, (std::vector<NodeId>{1, 2, 3}));
}

// ---------------------------------------------------------------------------------------------
// Leadership transfer

TEST(Transfer, An_up_to_date_target_takes_over_in_the_next_term) {
  Network net(3);
  elect(net, 1);
  const Term t = net.node(1).term();
  EXPECT_EQ(net.node(1).transfer_leader(2), TransferResult::kStarted);
  net.stabilize();
  EXPECT_EQ(net.node(2).role(), Role::kLeader);
  EXPECT_EQ(net.node(2).term(), t + 1);
  EXPECT_EQ(net.node(1).role(), Role::kFollower);
}

TEST(Transfer, A_lagging_target_is_caught_up_first) {
  Network net(3);
  elect(net, 1);
  net.isolate(3);
  for (int i = 0; i < 5; ++i) net.propose(1, "e" + std::to_string(i));
  net.heal();
  ASSERT_LT(net.node(3).log().last_index(), net.node(1).log().last_index());
  EXPECT_EQ(net.node(1).transfer_leader(3), TransferResult::kStarted);
  net.stabilize();
  EXPECT_EQ(net.node(3).role(), Role::kLeader);
  net.expect_state_machine_safety();
}

TEST(Transfer, Proposals_are_refused_while_transferring_and_resume_after_abort) {
  Network net(3);
  elect(net, 1);
  net.isolate(3);
  ASSERT_EQ(net.node(1).transfer_leader(3), TransferResult::kStarted);
  EXPECT_EQ(net.node(1).propose("x").status, S::kTransferring);
  // The target never answers: after an election timeout the leader gives up and takes proposals again.
  net.tick(1, 10);
  EXPECT_EQ(net.node(1).role(), Role::kLeader);
  EXPECT_EQ(net.propose(1, "y").status, S::kAccepted);
}

TEST(Transfer, Refused_for_non_voters_and_non_leaders) {
  Network net = cluster_with_newcomer();
  elect(net, 1);
  EXPECT_EQ(net.node(1).transfer_leader(4), TransferResult::kNotVoter);
  EXPECT_EQ(net.node(1).transfer_leader(1), TransferResult::kAlreadyLeader);
  EXPECT_EQ(net.node(2).transfer_leader(3), TransferResult::kNotLeader);
}

// ---------------------------------------------------------------------------------------------
// ReadIndex

TEST(ReadIndex, Refused_before_the_leaders_noop_commits) {
  Network net(3);
  net.isolate(2);
  net.isolate(3);
  make_leader(net.peer(1), ids(3));
  EXPECT_EQ(net.node(1).read_index("r1"), ReadIndexResult::kNotReady);
}

TEST(ReadIndex, The_leader_serves_after_a_quorum_of_heartbeats_without_appending) {
  Network net(3);
  elect(net, 1);
  net.propose(1, "v");
  const Index commit = net.node(1).commit_index();
  const Index last = net.node(1).log().last_index();
  EXPECT_EQ(net.node(1).read_index("r1"), ReadIndexResult::kPending);
  net.stabilize();
  ASSERT_EQ(net.peer(1).reads.size(), 1u);
  EXPECT_EQ(net.peer(1).reads[0].index, commit);
  EXPECT_EQ(net.peer(1).reads[0].context, "r1");
  EXPECT_EQ(net.node(1).log().last_index(), last);  // no log write
}

TEST(ReadIndex, A_partitioned_old_leader_serves_no_read) {
  Network net(3);
  elect(net, 1);
  net.isolate(1);
  EXPECT_EQ(net.node(1).read_index("stale"), ReadIndexResult::kPending);
  net.stabilize();
  EXPECT_TRUE(net.peer(1).reads.empty());
  // Meanwhile the majority elects a new leader and commits a write the old one cannot see.
  net.campaign(2);
  net.propose(2, "new");
  net.tick(1, 5);
  EXPECT_TRUE(net.peer(1).reads.empty());
}

TEST(ReadIndex, One_acknowledgement_short_of_a_quorum_serves_nothing) {
  // Five voters: the old leader keeps one follower on its side of a partition. That follower's answer
  // plus its own make two, one short of the three a read needs (thesis §6.4 step 3).
  Network net(5);
  elect(net, 1);
  for (NodeId a : {NodeId{1}, NodeId{2}}) {
    for (NodeId b : {NodeId{3}, NodeId{4}, NodeId{5}}) net.cut(a, b);
  }
  for (NodeId id : {NodeId{4}, NodeId{5}}) net.tick(id, 20);
  net.campaign(3);
  ASSERT_EQ(net.node(3).role(), Role::kLeader);
  net.propose(3, "w");
  EXPECT_EQ(net.node(1).read_index("old"), ReadIndexResult::kPending);
  net.stabilize();
  EXPECT_TRUE(net.peer(1).reads.empty());
}

TEST(ReadIndex, A_follower_gets_the_leaders_read_index_through_the_transport) {
  Network net(3);
  elect(net, 1);
  net.propose(1, "v");
  EXPECT_EQ(net.node(2).read_index("f1"), ReadIndexResult::kPending);
  net.stabilize();
  ASSERT_EQ(net.peer(2).reads.size(), 1u);
  EXPECT_EQ(net.peer(2).reads[0].index, net.node(1).commit_index());
  EXPECT_FALSE(net.peer(2).reads[0].refused);
}

TEST(ReadIndex, A_follower_without_a_leader_is_told_at_once) {
  Network net(3);
  EXPECT_EQ(net.node(2).read_index("f1"), ReadIndexResult::kNotLeader);
}

TEST(ReadIndex, One_heartbeat_round_confirms_every_earlier_request) {
  Network net(3);
  elect(net, 1);
  // Hold the first round's answers back; the second round proves leadership for both requests.
  std::vector<Message> held;
  net.intercept = [&](Message& m) {
    if (m.type() == raftbgp::v1::MSG_HEARTBEAT_RESP && m.context() == "a") {
      held.push_back(m);
      return true;
    }
    return false;
  };
  net.node(1).read_index("a");
  net.stabilize();
  EXPECT_TRUE(net.peer(1).reads.empty());
  net.node(1).read_index("b");
  net.stabilize();
  ASSERT_EQ(net.peer(1).reads.size(), 2u);
  EXPECT_EQ(net.peer(1).reads[0].context, "a");
  EXPECT_EQ(net.peer(1).reads[1].context, "b");
}

}  // namespace
}  // namespace raftbgp::raft
