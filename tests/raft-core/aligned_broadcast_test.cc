// Aligned broadcast (Node::bcast_aligned, node.h): replicating followers at different next indexes get one
// AppendEntries from the lowest of them, identical but for `to`, whenever it still reaches the last entry within
// max_msg_bytes. The driver sends identical messages as one frame (one BGP announcement), so a leader with
// followers and learners that acknowledged at different times costs one announcement per round instead of one per
// follower. Acknowledgements no longer send at once: their entries leave with the next Ready's broadcast.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "test_util.h"

namespace raftbgp::raft {
namespace {

using namespace raftbgp::raft::test;
using raftbgp::v1::MSG_APP;

// Everything of an AppendEntries but `to`.
std::string without_to(Message m) {
  m.clear_to();
  return m.SerializeAsString();
}

// A leader of `n` nodes whose followers all acknowledged its no-op, with `extra` more entries proposed and sent.
struct Leader {
  std::unique_ptr<Peer> p;
  Index noop = 0;
  explicit Leader(NodeId n, Config c) : p(make_peer(c)) {
    make_leader(*p, ids(n));
    noop = p->node->log().last_index();
    for (NodeId v = 2; v <= n; ++v) p->node->step(append_ack(v, 1, term(), noop));
    drain(*p);
  }
  explicit Leader(NodeId n) : Leader(n, config(1, ids(n))) {}
  Term term() const { return p->node->term(); }
  Index propose(const std::string& data) {
    const ProposeResult r = p->node->propose(data);
    EXPECT_EQ(r.status, ProposeResult::Status::kAccepted);
    return r.index;
  }
};

TEST(AlignedBroadcast, Followers_at_different_next_indexes_get_one_identical_message_from_the_lowest) {
  Config c = config(1, ids(3));
  c.max_inflight_msgs = 1;  // a follower with one AppendEntries unanswered is paused
  Leader l(3, c);
  const Index a = l.propose("a");
  drain(*l.p);                                     // a to 2 and 3: both paused
  l.p->node->step(append_ack(2, 1, l.term(), a));  // 2 answers, 3 is slow
  const Index b = l.propose("b");
  drain(*l.p);  // b to 2 only
  l.p->node->step(append_ack(2, 1, l.term(), b));
  l.p->node->step(append_ack(3, 1, l.term(), a));  // now 2 misses nothing, 3 misses b
  const Index cc = l.propose("c");
  std::vector<Message> apps = filter_type(drain(*l.p), MSG_APP);
  ASSERT_EQ(apps.size(), 2u);
  EXPECT_EQ(without_to(apps[0]), without_to(apps[1])) << "one frame for both";
  EXPECT_EQ(apps[0].index(), a);  // from 3's next: b and c
  ASSERT_EQ(apps[0].entries_size(), 2);
  EXPECT_EQ(apps[0].entries(0).index(), b);
  EXPECT_EQ(apps[0].entries(1).index(), cc);
}

TEST(AlignedBroadcast, A_follower_that_receives_entries_it_holds_skips_them_and_acknowledges) {
  Network net;
  for (NodeId id = 1; id <= 3; ++id) {
    Config ci = config(id, ids(3));
    ci.max_inflight_msgs = 1;
    net.add(ci);
  }
  elect(net, 1);
  // 3's answers are lost for a while: it stays paused at an older next while 2 moves on.
  net.intercept = [](Message& m) { return m.from() == 3 && m.type() == raftbgp::v1::MSG_APP_RESP; };
  net.propose(1, "a");
  net.propose(1, "b");
  net.intercept = nullptr;
  // Heartbeat answers free 3's window once the leader's retransmission timeout (5 ticks) has passed
  // without an acknowledgement: aligned sends resume.
  net.tick_all(6);
  net.propose(1, "c");
  for (NodeId id : {NodeId{2}, NodeId{3}}) {
    EXPECT_EQ(net.node(id).log().last_index(), net.node(1).log().last_index()) << id;
    EXPECT_EQ(net.node(id).commit_index(), net.node(1).commit_index()) << id;
  }
  for (const PeerStatus& ps : net.node(1).status().peers) EXPECT_EQ(ps.match, net.node(1).log().last_index()) << ps.id;
  net.expect_state_machine_safety();
}

TEST(AlignedBroadcast, A_follower_whose_entries_do_not_fit_one_message_gets_its_own) {
  Config c = config(1, ids(3));
  c.max_msg_bytes = 1024;
  Leader l(3, c);
  // 3 stops answering while 2 acknowledges each big entry.
  const std::string big(300, 'x');
  Index last = 0;
  for (int i = 0; i < 12; ++i) {
    last = l.propose(big);
    drain(*l.p);
    l.p->node->step(append_ack(2, 1, l.term(), last));
  }
  drain(*l.p);
  // 3 rejects from where it stopped (it lost everything after the noop): a probe carries the first three big
  // entries (max_msg_bytes); 3 acknowledges them and replicates again, and the next three go at once (it was
  // paused). As "small" arrives, 3 still misses six big entries, far more than one message holds.
  Message reject = msg(raftbgp::v1::MSG_APP_RESP, 3, 1, l.term());
  reject.set_index(last);
  reject.set_reject(true);
  reject.set_reject_hint(l.noop);
  l.p->node->step(reject);
  std::vector<Message> probe = filter_type(drain(*l.p), MSG_APP);
  ASSERT_EQ(probe.size(), 1u);
  ASSERT_EQ(probe[0].entries_size(), 3);
  l.p->node->step(append_ack(3, 1, l.term(), l.noop + 3));
  const Index next = l.propose("small");
  std::vector<Message> apps = filter_type(drain(*l.p), MSG_APP);
  std::map<NodeId, std::vector<Message>> by_to;
  for (const Message& m : apps) by_to[m.to()].push_back(m);
  ASSERT_EQ(by_to[2].size(), 1u);
  EXPECT_EQ(by_to[2][0].index(), last);  // only what 2 misses: 3's backlog would not fit with it
  EXPECT_EQ(by_to[2][0].entries(0).index(), next);
  ASSERT_FALSE(by_to[3].empty());
  for (const Message& m : by_to[3]) EXPECT_LE(m.ByteSizeLong(), c.max_msg_bytes);
}

TEST(AlignedBroadcast, Acknowledgements_send_nothing_until_the_next_ready) {
  Leader l(3);
  const Index a = l.propose("a");
  drain(*l.p);
  const Index b = l.propose("b");
  // Before the Ready that would carry b, both followers acknowledge a: no message leaves per acknowledgement.
  l.p->node->step(append_ack(2, 1, l.term(), a));
  l.p->node->step(append_ack(3, 1, l.term(), a));
  std::vector<Message> apps = filter_type(drain(*l.p), MSG_APP);
  ASSERT_EQ(apps.size(), 2u);
  EXPECT_EQ(without_to(apps[0]), without_to(apps[1]));
  EXPECT_EQ(apps[0].entries(apps[0].entries_size() - 1).index(), b);
  EXPECT_EQ(apps[0].commit(), a);
}

TEST(AlignedBroadcast, Learners_get_the_voters_message) {
  Network net;
  for (NodeId id = 1; id <= 5; ++id) {
    Config ci = config(id, ids(3));
    ci.learners = {4, 5};
    net.add(ci);
  }
  elect(net, 1);
  std::vector<Message> out;
  net.intercept = [&](Message& m) {
    if (m.type() == MSG_APP && m.from() == 1 && !m.entries().empty()) out.push_back(m);
    return false;
  };
  net.propose(1, "x");
  net.intercept = nullptr;
  std::set<std::string> distinct;
  for (const Message& m : out) distinct.insert(without_to(m));
  EXPECT_EQ(out.size(), 4u);
  EXPECT_EQ(distinct.size(), 1u) << "voters and learners get the same AppendEntries for x";
  for (NodeId id = 2; id <= 5; ++id) EXPECT_EQ(net.node(id).log().last_index(), net.node(1).log().last_index());
}

// Heartbeats (Node::lagging_commit): at most two shapes however many followers, the commit index for those that hold
// it and the lowest match for the others, never above what a follower holds (§5.3).
TEST(AlignedBroadcast, Heartbeats_take_at_most_two_shapes_and_never_carry_a_commit_past_a_followers_match) {
  Leader l(5);
  const Index a = l.propose("a");
  drain(*l.p);
  const Index b = l.propose("b");
  drain(*l.p);
  const Index c = l.propose("c");
  drain(*l.p);
  // 2 and 3 hold c (commit c with the leader), 4 holds b, 5 holds a.
  l.p->node->step(append_ack(2, 1, l.term(), c));
  l.p->node->step(append_ack(3, 1, l.term(), c));
  l.p->node->step(append_ack(4, 1, l.term(), b));
  l.p->node->step(append_ack(5, 1, l.term(), a));
  drain(*l.p);
  ASSERT_EQ(l.p->node->commit_index(), c);
  l.p->node->tick();  // heartbeat_ticks = 1
  std::vector<Message> beats = filter_type(drain(*l.p), raftbgp::v1::MSG_HEARTBEAT);
  ASSERT_EQ(beats.size(), 4u);
  std::map<NodeId, Index> commit;
  std::set<std::string> shapes;
  for (const Message& m : beats) {
    commit[m.to()] = m.commit();
    shapes.insert(without_to(m));
  }
  EXPECT_EQ(shapes.size(), 2u);
  EXPECT_EQ(commit[2], c);
  EXPECT_EQ(commit[3], c);
  EXPECT_EQ(commit[4], a) << "the lowest match among the lagging, at or below 4's own (b)";
  EXPECT_EQ(commit[5], a);
}
}  // namespace
}  // namespace raftbgp::raft
