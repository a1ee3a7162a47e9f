// Commit-only AppendEntries (raft.proto, Message.commit_only): after a commit advance with nothing new to
// send, a leader tells each replicating follower the new commit index without asking for an answer, because
// over BGP every answer is an announcement two ExaBGP processes must handle. Entries, probes, the recovery
// send after a heartbeat answer, and rejections are answered as before.
#include <gtest/gtest.h>

#include "test_util.h"

namespace raftbgp::raft {
namespace {

using namespace raftbgp::raft::test;
using raftbgp::v1::MSG_APP;
using raftbgp::v1::MSG_APP_RESP;

// A three-node leader whose no-op both followers acknowledged; then "x" proposed and sent to both.
struct Settled {
  std::unique_ptr<Peer> p = make_peer(config(1, ids(3)));
  Index x = 0;
  Settled() {
    make_leader(*p, ids(3));
    for (NodeId v : {NodeId{2}, NodeId{3}})
      p->node->step(append_ack(v, 1, p->node->term(), p->node->log().last_index()));
    drain(*p);
    x = p->node->propose("x").index;
    drain(*p);
  }
};

TEST(CommitOnly, Leader_marks_the_commit_news_to_replicating_followers) {
  Settled s;
  s.p->node->step(append_ack(2, 1, s.p->node->term(), s.x));  // quorum: x commits
  std::vector<Message> apps = filter_type(drain(*s.p), MSG_APP);
  ASSERT_EQ(s.p->node->commit_index(), s.x);
  ASSERT_EQ(apps.size(), 2u);  // 2 acknowledged x, 3 has x in flight: both are only told the commit
  for (const Message& m : apps) {
    EXPECT_TRUE(m.entries().empty());
    EXPECT_EQ(m.commit(), s.x);
    EXPECT_EQ(m.index(), s.x);
    EXPECT_TRUE(m.commit_only()) << m.to();
  }
  // Entries are never commit-only.
  ASSERT_EQ(s.p->node->propose("y").status, ProposeResult::Status::kAccepted);
  for (const Message& m : filter_type(drain(*s.p), MSG_APP)) {
    EXPECT_FALSE(m.entries().empty());
    EXPECT_FALSE(m.commit_only());
  }
}

// If 3's acknowledgement of x is lost, 3's heartbeat answer makes the leader send an unmarked (answered)
// AppendEntries, so the leader still learns that 3 holds x. Only once the retransmission timeout (half an
// election timeout, 5 ticks) has passed since x was sent: before that the answer is more likely late than
// lost, and re-sending on every heartbeat answer multiplied a loaded leader's traffic (issue 17).
TEST(CommitOnly, A_lost_acknowledgement_is_recovered_through_the_heartbeat_not_the_commit_news) {
  Settled s;
  s.p->node->step(append_ack(2, 1, s.p->node->term(), s.x));
  drain(*s.p);
  s.p->node->step(msg(raftbgp::v1::MSG_HEARTBEAT_RESP, 3, 1, s.p->node->term()));
  EXPECT_TRUE(filter_type(drain(*s.p), MSG_APP).empty()) << "an answer within the timeout re-sends nothing";
  for (int i = 0; i < 5; ++i) s.p->node->tick();
  drain(*s.p);
  s.p->node->step(msg(raftbgp::v1::MSG_HEARTBEAT_RESP, 3, 1, s.p->node->term()));
  std::vector<Message> apps = filter_type(drain(*s.p), MSG_APP);
  ASSERT_EQ(apps.size(), 1u);
  EXPECT_EQ(apps[0].to(), 3u);
  EXPECT_FALSE(apps[0].commit_only());
  s.p->node->step(append_ack(3, 1, s.p->node->term(), s.x));  // the answer to it
  for (const PeerStatus& ps : s.p->node->status().peers) {
    if (ps.id == 3) {
      EXPECT_EQ(ps.match, s.x);
    }
  }
}

TEST(CommitOnly, Follower_applies_the_commit_and_stays_silent_but_answers_a_rejection) {
  auto f = make_peer(config(2, ids(3)), {entry(1, 1), entry(2, 1)}, 1);
  Message m = msg(MSG_APP, 1, 2, 1);
  m.set_index(2);
  m.set_log_term(1);
  m.set_commit(2);
  m.set_commit_only(true);
  f->node->step(m);
  EXPECT_TRUE(filter_type(drain(*f), MSG_APP_RESP).empty());
  EXPECT_EQ(f->node->commit_index(), 2u);
  ASSERT_EQ(f->applied.size(), 2u);
  // The same claim about an entry it does not hold (a lost or overtaken AppendEntries): answered with a
  // rejection, so the leader probes again.
  m.set_index(5);
  m.set_commit(5);
  f->node->step(m);
  std::vector<Message> r = filter_type(drain(*f), MSG_APP_RESP);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].reject());
  EXPECT_EQ(f->node->commit_index(), 2u);
  // An unmarked empty AppendEntries (a probe, or from a leader that predates the field) is answered.
  m.set_index(2);
  m.set_commit(2);
  m.set_commit_only(false);
  f->node->step(m);
  r = filter_type(drain(*f), MSG_APP_RESP);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].reject());
  EXPECT_EQ(r[0].index(), 2u);
}

// End to end: every node learns every commit, and per committed write each follower answers one message
// (the entries) instead of two (entries, then the commit news).
TEST(CommitOnly, A_cluster_commits_everywhere_with_one_answer_per_write_per_follower) {
  Network net(3);
  elect(net, 1);
  std::size_t answers = 0;
  std::size_t commit_only = 0;
  net.intercept = [&](Message& m) {
    answers += m.type() == MSG_APP_RESP;
    commit_only += m.type() == MSG_APP && m.commit_only();
    return false;
  };
  for (int i = 0; i < 10; ++i) {
    ProposeResult r = net.propose(1, "w" + std::to_string(i));
    ASSERT_EQ(r.status, ProposeResult::Status::kAccepted);
    for (NodeId id : {NodeId{1}, NodeId{2}, NodeId{3}}) EXPECT_EQ(net.node(id).commit_index(), r.index) << id;
  }
  EXPECT_EQ(answers, 20u);
  EXPECT_EQ(commit_only, 20u);  // each write: both followers told its commit, neither answers that
  net.expect_state_machine_safety();
}

}  // namespace
}  // namespace raftbgp::raft
