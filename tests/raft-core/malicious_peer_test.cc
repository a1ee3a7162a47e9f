// A peer that holds the cluster key but lies (a compromised or broken router). Its messages pass
// authentication, so the core itself must refuse what no honest leader can send: each such message is
// dropped and counted under a DropReason, never asserted on, and the follower keeps its committed log
// and stays up (a crash loop would make ExaBGP give up on the process).
#include <gtest/gtest.h>

#include "test_util.h"

namespace raftbgp::raft {
namespace {

using namespace raftbgp::raft::test;
using raftbgp::v1::MSG_APP;
using raftbgp::v1::MSG_HEARTBEAT;
using raftbgp::v1::MSG_SNAP;
using raftbgp::v1::MSG_TIMEOUT_NOW;

Message app(NodeId from, NodeId to, Term term, Index index, Term log_term, std::vector<Entry> entries,
            Index commit = 0) {
  Message m = msg(MSG_APP, from, to, term);
  m.set_index(index);
  m.set_log_term(log_term);
  m.set_commit(commit);
  for (const Entry& e : entries) *m.add_entries() = e;
  return m;
}

// Follower 2 in term 2 with log [1/1 1/2 2/3 2/4], entries 1..3 committed and applied.
std::unique_ptr<Peer> committed_follower() {
  auto p = make_peer(config(2, ids(3)), log_with_terms({1, 1, 2, 2}), 2, kNoNode, 3);
  drain(*p);
  return p;
}

void expect_log_kept(Peer& p) {
  EXPECT_EQ(terms_of(p.node->log()), (std::vector<Term>{1, 1, 2, 2}));
  EXPECT_EQ(p.node->commit_index(), 3u);
  EXPECT_EQ(p.node->role(), Role::kFollower);
  EXPECT_TRUE(drain(p).empty()) << "a dropped message is not answered";
}

TEST(MaliciousPeer, Append_entries_rewriting_committed_entries_is_dropped_and_counted) {
  auto p = committed_follower();
  // Entries 2 and 3 in term 3 contradict committed entries 2 (term 1) and 3 (term 2).
  EXPECT_EQ(p->node->step(app(1, 2, 3, 1, 1, {entry(2, 3), entry(3, 3)}, 3)), DropReason::kContradictsLog);
  // A prevLogTerm that disagrees with a committed entry is the same lie.
  EXPECT_EQ(p->node->step(app(1, 2, 3, 3, 3, {entry(4, 3)}, 3)), DropReason::kContradictsLog);
  EXPECT_EQ(dropped(*p->node, DropReason::kContradictsLog), 2u);
  expect_log_kept(*p);
  // An honest stale AppendEntries below the commit index is still answered (it agrees with the log).
  EXPECT_EQ(p->node->step(app(1, 2, 3, 1, 1, {entry(2, 1), entry(3, 2)}, 3)), std::nullopt);
  EXPECT_EQ(filter_type(drain(*p), raftbgp::v1::MSG_APP_RESP).size(), 1u);
}

TEST(MaliciousPeer, Heartbeat_commit_beyond_the_log_is_dropped_and_counted) {
  auto p = committed_follower();
  Message hb = msg(MSG_HEARTBEAT, 1, 2, 2);
  hb.set_commit(9);  // the leader caps this at what we hold (send_heartbeat): we hold 4
  EXPECT_EQ(p->node->step(hb), DropReason::kContradictsLog);
  EXPECT_EQ(dropped(*p->node, DropReason::kContradictsLog), 1u);
  expect_log_kept(*p);
}

TEST(MaliciousPeer, Snapshot_contradicting_a_committed_entry_is_dropped_and_counted) {
  auto p = committed_follower();
  Message m = msg(MSG_SNAP, 1, 2, 3);
  m.mutable_snapshot()->set_index(3);
  m.mutable_snapshot()->set_term(3);  // our committed entry 3 has term 2
  m.mutable_snapshot()->mutable_conf_state()->add_voters(1);
  m.set_snapshot_data("evil");
  m.set_snapshot_done(true);
  EXPECT_EQ(p->node->step(m), DropReason::kContradictsLog);
  expect_log_kept(*p);
  EXPECT_TRUE(p->installed.empty());
}

// Thesis §3.10: TimeoutNow lets its target skip PreVote and the leader lease, so only the leader of the
// current term may send it; from anyone else it would let one member depose a healthy leader at will.
TEST(MaliciousPeer, Timeout_now_from_a_node_other_than_the_leader_is_dropped_and_counted) {
  Network net(3);
  elect(net, 1);
  const Term t = net.node(1).term();
  EXPECT_EQ(net.node(2).step(msg(MSG_TIMEOUT_NOW, 3, 2, t)), DropReason::kNotLeader);
  EXPECT_EQ(dropped(net.node(2), DropReason::kNotLeader), 1u);
  net.stabilize();
  EXPECT_EQ(net.node(1).role(), Role::kLeader);
  EXPECT_EQ(net.node(1).term(), t);
  EXPECT_EQ(net.node(2).role(), Role::kFollower);
  // From the leader it still works (the transfer path).
  EXPECT_EQ(net.node(2).step(msg(MSG_TIMEOUT_NOW, 1, 2, t)), std::nullopt);
  net.stabilize();
  EXPECT_EQ(net.node(2).role(), Role::kLeader);
}

TEST(MaliciousPeer, Timeout_now_with_a_newer_term_from_an_unknown_leader_is_dropped) {
  Network net(3);
  elect(net, 1);
  const Term t = net.node(1).term();
  EXPECT_EQ(net.node(2).step(msg(MSG_TIMEOUT_NOW, 3, 2, t + 5)), DropReason::kNotLeader);
  EXPECT_NE(net.node(2).role(), Role::kCandidate);
}

}  // namespace
}  // namespace raftbgp::raft
