// Paper tests, part 3: safety (Raft paper §5.4: election restriction, Figure 8 commit rule, state
// machine safety; §5.1 persistence before responding) and robustness against bad input. Scenario list
// after etcd-io/raft's raft_paper_test.go; the code is ours.
#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace raftbgp::raft {
namespace {

using namespace raftbgp::raft::test;
using raftbgp::v1::MSG_APP;
using raftbgp::v1::MSG_APP_RESP;
using raftbgp::v1::MSG_PRE_VOTE;
using raftbgp::v1::MSG_VOTE;
using raftbgp::v1::MSG_VOTE_RESP;

// §5.4.1: "The RequestVote RPC ... includes information about the candidate's log": the index and term
// of its last entry, sent to every other voter. A pre-vote (thesis §9.6) carries the same, for term+1.
TEST(Safety, Vote_request_carries_candidate_last_log_index_and_term) {
  const std::vector<std::vector<Entry>> logs = {{entry(1, 1)}, {entry(1, 1), entry(2, 2)}};
  for (bool pre_vote : {false, true}) {
    for (const std::vector<Entry>& log : logs) {
      Config c = plain_config(1, ids(3));
      c.pre_vote = pre_vote;
      auto p = make_peer(c, log, log.back().term());
      for (int i = 0; i < p->node->randomized_election_timeout(); ++i) p->node->tick();
      const Term want_term = log.back().term() + 1;
      std::vector<Message> reqs = filter_type(drain(*p), pre_vote ? MSG_PRE_VOTE : MSG_VOTE);
      ASSERT_EQ(reqs.size(), 2u);
      EXPECT_EQ(reqs[0].to(), 2u);
      EXPECT_EQ(reqs[1].to(), 3u);
      for (const Message& m : reqs) {
        EXPECT_EQ(m.term(), want_term) << "pre_vote=" << pre_vote;
        EXPECT_EQ(m.index(), log.back().index());
        EXPECT_EQ(m.log_term(), log.back().term());
      }
    }
  }
}

// §5.4.1: "the voter denies its vote if its own log is more up-to-date than that of the candidate ...
// If the logs have last entries with different terms, then the log with the later term is more
// up-to-date. If the logs end with the same term, then whichever log is longer is more up-to-date."
TEST(Safety, Voter_grants_only_to_candidate_with_up_to_date_log) {
  struct Case {
    std::vector<Entry> log;
    Term log_term;
    Index index;
    bool reject;
  };
  const std::vector<Case> cases = {
      // same last term
      {{entry(1, 1)}, 1, 1, false},
      {{entry(1, 1)}, 1, 2, false},
      {{entry(1, 1), entry(2, 1)}, 1, 1, true},
      // candidate's last term is higher
      {{entry(1, 1)}, 2, 1, false},
      {{entry(1, 1)}, 2, 2, false},
      {{entry(1, 1), entry(2, 1)}, 2, 1, false},
      // voter's last term is higher
      {{entry(1, 2)}, 1, 1, true},
      {{entry(1, 2)}, 1, 2, true},
      {{entry(1, 2), entry(2, 1)}, 1, 1, true},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& tc = cases[i];
    for (MessageType type : {MSG_VOTE, MSG_PRE_VOTE}) {
      auto p = make_peer(config(1, ids(3)), tc.log, 2);
      Message req = msg(type, 2, 1, 3);
      req.set_log_term(tc.log_term);
      req.set_index(tc.index);
      EXPECT_EQ(p->node->step(req), std::nullopt);
      std::vector<Message> out = drain(*p);
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(out[0].type(), type == MSG_VOTE ? MSG_VOTE_RESP : raftbgp::v1::MSG_PRE_VOTE_RESP);
      EXPECT_EQ(out[0].reject(), tc.reject) << "case " << i << " type " << type;
    }
  }
}

// §5.4.2, Figure 8: "Raft never commits log entries from previous terms by counting replicas. Only log
// entries from the leader's current term are committed by counting replicas."
TEST(Safety, Leader_commits_only_current_term_entries_by_counting_replicas) {
  // The leader of term 3 holds entries of terms 1 and 2 and its no-op (index 3, term 3).
  struct Case {
    Index acked;
    Index want_commit;
  };
  for (const Case& tc : {Case{1, 0}, Case{2, 0}, Case{3, 3}}) {
    auto p = make_peer(config(1, ids(3)), log_with_terms({1, 2}), 2);
    make_leader(*p, ids(3));
    ASSERT_EQ(p->node->term(), 3u);
    Message r = msg(MSG_APP_RESP, 2, 1, 3);
    r.set_index(tc.acked);
    p->node->step(r);
    EXPECT_EQ(p->node->commit_index(), tc.want_commit) << "acked " << tc.acked;
  }
}

// Figure 8 as a five-node scenario. (a)/(b) are given as starting logs: S1–S3 hold index 2 from term 2,
// S5 holds a different index 2 from term 3. (c) S1 leads term 4 and learns that index 2 is on a
// majority (its no-op is kept off the wire) but does not commit it. (d) S1 fails; S5 is elected and
// overwrites index 2 everywhere, which is safe exactly because it was never committed.
TEST(Safety, Figure8_previous_term_entry_on_majority_is_not_committed_and_may_be_overwritten) {
  Network net;
  for (NodeId id : {NodeId{1}, NodeId{2}, NodeId{3}}) net.add(plain_config(id, ids(5)), log_with_terms({1, 2}), 3);
  net.add(plain_config(4, ids(5)), log_with_terms({1}), 3);
  net.add(plain_config(5, ids(5)), log_with_terms({1, 3}), 3);
  // Strip S1's term-4 entries from its AppendEntries: followers can only acknowledge index 2.
  net.intercept = [](Message& m) {
    if (m.type() == MSG_APP && m.from() == 1) m.clear_entries();
    return false;
  };
  net.campaign(1);
  ASSERT_EQ(net.node(1).role(), Role::kLeader);
  ASSERT_EQ(net.node(1).term(), 4u);
  std::size_t know_index2 = 0;
  for (const PeerStatus& ps : net.node(1).status().peers) know_index2 += ps.match >= 2 ? 1 : 0;
  EXPECT_GE(know_index2, 3u) << "(c): the leader knows index 2 is on a majority";
  EXPECT_LT(net.node(1).commit_index(), 2u) << "(c): ...and must not commit it";

  net.intercept = nullptr;
  net.isolate(1);
  net.campaign(5);
  ASSERT_EQ(net.node(5).role(), Role::kLeader) << "(d): S5's term-3 entry is more up-to-date";
  for (NodeId id : {NodeId{2}, NodeId{3}, NodeId{4}, NodeId{5}}) {
    EXPECT_EQ(net.node(id).log().term_or_zero(2), 3u) << "(d): S" << id;
    EXPECT_EQ(net.node(id).commit_index(), 3u) << "(d): S" << id;
  }
  net.heal();
  net.tick(5, 6);  // S1's probe was lost while it was cut off: re-sent after the retransmission timeout
  EXPECT_EQ(terms_of(net.node(1).log()), terms_of(net.node(5).log()));
  net.expect_state_machine_safety();
}

// Figure 8 (e): once the term-4 leader replicates an entry of its own term to a majority, that entry
// and index 2 before it are committed, and S5 can no longer win an election.
TEST(Safety, Figure8_current_term_entry_on_majority_commits_preceding_entry) {
  Network net;
  for (NodeId id : {NodeId{1}, NodeId{2}, NodeId{3}}) net.add(plain_config(id, ids(5)), log_with_terms({1, 2}), 3);
  net.add(plain_config(4, ids(5)), log_with_terms({1}), 3);
  net.add(plain_config(5, ids(5)), log_with_terms({1, 3}), 3);
  net.cut(1, 4);
  net.cut(1, 5);
  net.campaign(1);
  ASSERT_EQ(net.node(1).role(), Role::kLeader);
  EXPECT_EQ(net.node(1).commit_index(), 3u);
  ASSERT_GE(net.peer(1).applied.size(), 2u);
  EXPECT_EQ(net.peer(1).applied[1].term(), 2u);  // index 2 of term 2 is applied
  net.isolate(1);
  net.campaign(5);
  EXPECT_NE(net.node(5).role(), Role::kLeader);
  for (NodeId id : {NodeId{2}, NodeId{3}}) EXPECT_EQ(net.node(id).log().term_or_zero(2), 2u);
  net.expect_state_machine_safety();
}

// §5.4.3 / §8: a leader cut off in a minority keeps accepting proposals but can never commit them;
// after the partition heals they are overwritten by the majority's leader, and no state machine ever
// applies them.
TEST(Safety, Partitioned_old_leader_never_commits_and_its_entries_are_overwritten) {
  Network net(5);
  elect(net, 1);
  ASSERT_EQ(net.propose(1, "before").status, ProposeResult::Status::kAccepted);
  for (NodeId a : {NodeId{1}, NodeId{2}}) {
    for (NodeId b : {NodeId{3}, NodeId{4}, NodeId{5}}) net.cut(a, b);
  }
  ProposeResult lost = net.propose(1, "lost");
  ASSERT_EQ(lost.status, ProposeResult::Status::kAccepted);
  for (int i = 0; i < 60; ++i) {
    net.tick_all();
    ASSERT_LT(net.node(1).commit_index(), lost.index) << "tick " << i;
    ASSERT_LT(net.node(2).commit_index(), lost.index) << "tick " << i;
  }
  NodeId leader = kNoNode;
  for (NodeId id : {NodeId{3}, NodeId{4}, NodeId{5}}) {
    if (net.node(id).role() == Role::kLeader) leader = id;
  }
  ASSERT_NE(leader, kNoNode) << "the majority side elects a leader";
  EXPECT_NE(net.node(1).role(), Role::kLeader) << "CheckQuorum: the old leader stepped down";
  ProposeResult won = net.propose(leader, "won");
  ASSERT_EQ(won.status, ProposeResult::Status::kAccepted);
  EXPECT_EQ(net.node(leader).commit_index(), won.index);
  net.heal();
  net.tick_all(30);
  for (NodeId id : {NodeId{1}, NodeId{2}}) {
    EXPECT_EQ(terms_of(net.node(id).log()), terms_of(net.node(leader).log())) << id;
    EXPECT_EQ(net.node(id).commit_index(), net.node(leader).commit_index()) << id;
    for (const Entry& e : net.peer(id).applied) EXPECT_NE(e.data(), "lost") << id;
  }
  for (NodeId id : net.node_ids()) {
    for (const Entry& e : net.peer(id).applied) EXPECT_NE(e.data(), "lost") << id;
  }
  net.expect_state_machine_safety();
}

// §5.1 / Figure 2 ("updated on stable storage before responding to RPCs"), docs/architecture.md §2: the Ready that
// carries a vote grant also carries the HardState recording that vote, so persist() runs first.
TEST(Persistence, Ready_with_vote_grant_carries_hard_state_with_that_vote) {
  auto p = make_peer(config(1, ids(3)), {}, 1);
  p->node->step(msg(MSG_VOTE, 2, 1, 2));
  Ready rd = p->node->ready();
  ASSERT_EQ(filter_type(rd.messages, MSG_VOTE_RESP).size(), 1u);
  EXPECT_FALSE(rd.messages[0].reject());
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->vote(), 2u);
  EXPECT_EQ(rd.hard_state->term(), 2u);
  persist(p->storage, rd.hard_state, rd.entries);
  p->node->advance(rd);
  EXPECT_EQ(p->storage.hard_state().vote(), 2u);
  // The candidate's own vote for itself is persisted with its RequestVotes, too.
  auto c = make_peer(plain_config(1, ids(3)));
  c->node->campaign();
  Ready crd = c->node->ready();
  ASSERT_EQ(filter_type(crd.messages, MSG_VOTE).size(), 2u);
  ASSERT_TRUE(crd.hard_state.has_value());
  EXPECT_EQ(crd.hard_state->vote(), 1u);
  EXPECT_EQ(crd.hard_state->term(), 1u);
  c->node->advance(crd);
}

// §5.3 with §5.1: the Ready that acknowledges entries carries those entries to persist first, so an
// acknowledgement is a promise that survives a crash.
TEST(Persistence, Ready_with_append_ack_carries_the_acknowledged_entries) {
  auto p = make_peer(config(1, ids(3)), {}, 1);
  Message app = msg(MSG_APP, 2, 1, 1);
  *app.add_entries() = entry(1, 1, "a");
  *app.add_entries() = entry(2, 1, "b");
  p->node->step(app);
  Ready rd = p->node->ready();
  std::vector<Message> acks = filter_type(rd.messages, MSG_APP_RESP);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].index(), 2u);
  ASSERT_EQ(rd.entries.size(), 2u);
  EXPECT_EQ(rd.entries.back().index(), 2u);
  persist(p->storage, rd.hard_state, rd.entries);
  p->node->advance(rd);
  EXPECT_EQ(p->storage.last_index(), 2u);
  EXPECT_FALSE(p->node->has_ready());
}

// STYLE habit 5 / docs/architecture.md §2: bad input from the network is dropped and counted, never asserted on, and
// changes nothing: unknown or local-only types, messages for another node or from node 0, impossible
// indexes (non-contiguous entries, entry terms above the message term, prevLogTerm above the term).
TEST(BadInput, Malformed_messages_are_dropped_counted_and_change_nothing) {
  auto app = [](Term term, Index index, Term log_term, std::vector<Entry> entries) {
    Message m = msg(MSG_APP, 2, 1, term);
    m.set_index(index);
    m.set_log_term(log_term);
    for (const Entry& e : entries) *m.add_entries() = e;
    return m;
  };
  Message unknown = msg(static_cast<MessageType>(99), 2, 1, 2);
  Message bad_entry_type = app(2, 2, 2, {entry(3, 2)});
  bad_entry_type.mutable_entries(0)->set_type(static_cast<raftbgp::v1::EntryType>(42));
  struct Case {
    const char* what;
    Message m;
    DropReason want;
  };
  const std::vector<Case> cases = {
      {"unknown type", unknown, DropReason::kUnknownType},
      {"MSG_UNKNOWN", msg(raftbgp::v1::MSG_UNKNOWN, 2, 1, 2), DropReason::kUnknownType},
      {"MSG_PROP from the network", msg(raftbgp::v1::MSG_PROP, 2, 1, 2), DropReason::kUnknownType},
      {"local MSG_HUP with a term", msg(raftbgp::v1::MSG_HUP, 2, 1, 5), DropReason::kUnknownType},
      {"local MSG_CHECK_QUORUM with a term", msg(raftbgp::v1::MSG_CHECK_QUORUM, 2, 1, 5), DropReason::kUnknownType},
      {"addressed to another node", msg(MSG_APP, 2, 3, 2), DropReason::kNotForMe},
      {"from node 0", msg(MSG_APP, 0, 1, 2), DropReason::kMalformed},
      {"from itself", msg(MSG_APP, 1, 1, 2), DropReason::kMalformed},
      {"network message with term 0", msg(MSG_VOTE, 2, 1, 0), DropReason::kMalformed},
      {"non-contiguous entries", app(2, 2, 2, {entry(3, 2), entry(5, 2)}), DropReason::kMalformed},
      {"entries not following prevLogIndex", app(2, 2, 2, {entry(4, 2)}), DropReason::kMalformed},
      {"entry term above message term", app(2, 2, 2, {entry(3, 3)}), DropReason::kMalformed},
      {"entry term below prevLogTerm", app(2, 2, 2, {entry(3, 1)}), DropReason::kMalformed},
      {"prevLogTerm above message term", app(2, 2, 3, {}), DropReason::kMalformed},
      {"prevLogTerm for index 0", app(2, 0, 1, {}), DropReason::kMalformed},
      {"malformed with a higher term", app(9, 2, 2, {entry(3, 2), entry(5, 2)}), DropReason::kMalformed},
      {"unknown entry type", bad_entry_type, DropReason::kMalformed},
      {"vote with last log term above its term",
       [] {
         Message v = msg(MSG_VOTE, 2, 1, 3);
         v.set_log_term(4);
         return v;
       }(),
       DropReason::kMalformed},
      {"append response to a follower", msg(MSG_APP_RESP, 2, 1, 2), DropReason::kUnexpected},
  };
  auto p = make_peer(config(1, ids(3)), log_with_terms({1, 2}), 2, kNoNode, 1);
  std::uint64_t total = 0;
  for (const Case& tc : cases) {
    const std::uint64_t before = dropped(*p->node, tc.want);
    EXPECT_EQ(p->node->step(tc.m), tc.want) << tc.what;
    EXPECT_EQ(dropped(*p->node, tc.want), before + 1) << tc.what;
    ++total;
    EXPECT_EQ(p->node->term(), 2u) << tc.what;
    EXPECT_EQ(p->node->role(), Role::kFollower) << tc.what;
    EXPECT_EQ(p->node->log().last_index(), 2u) << tc.what;
    EXPECT_EQ(p->node->commit_index(), 1u) << tc.what;
    EXPECT_TRUE(drain(*p).empty()) << tc.what;
  }
  std::uint64_t counted = 0;
  for (std::uint64_t n : p->node->status().dropped) counted += n;
  EXPECT_EQ(counted, total);
}

// As above, for the leader: responses from non-members and acknowledgements of entries the leader never
// had are dropped without moving match or commit.
TEST(BadInput, Leader_drops_responses_from_strangers_and_impossible_acks) {
  auto p = make_peer(config(1, ids(3)));
  make_leader(*p, ids(3));
  const Index last = p->node->log().last_index();
  Message stranger = msg(MSG_APP_RESP, 9, 1, p->node->term());
  stranger.set_index(last);
  EXPECT_EQ(p->node->step(stranger), DropReason::kUnknownPeer);
  Message beyond = msg(MSG_APP_RESP, 2, 1, p->node->term());
  beyond.set_index(last + 100);
  EXPECT_EQ(p->node->step(beyond), DropReason::kMalformed);
  EXPECT_EQ(p->node->role(), Role::kLeader);
  EXPECT_EQ(p->node->commit_index(), 0u);
  for (const PeerStatus& ps : p->node->status().peers) {
    if (ps.id != 1) {
      EXPECT_EQ(ps.match, 0u) << ps.id;
    }
  }
  EXPECT_EQ(dropped(*p->node, DropReason::kUnknownPeer), 1u);
  EXPECT_EQ(dropped(*p->node, DropReason::kMalformed), 1u);
}

}  // namespace
}  // namespace raftbgp::raft
