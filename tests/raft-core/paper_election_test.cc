// Paper tests, part 1: terms and leader election (Raft paper §5.1, §5.2; thesis §3.4, §6.2, §9.6).
// Each TEST checks one rule and names the section it comes from. The scenario list follows the one in
// etcd-io/raft's raft_paper_test.go; the code is ours. Scenarios that need the plain algorithm of the
// paper turn PreVote and CheckQuorum off (plain_config); the rest run with the project's defaults.
#include <gtest/gtest.h>

#include <set>

#include "test_util.h"

namespace raftbgp::raft {
namespace {

using namespace raftbgp::raft::test;
using raftbgp::v1::MSG_APP;
using raftbgp::v1::MSG_HEARTBEAT;
using raftbgp::v1::MSG_PRE_VOTE;
using raftbgp::v1::MSG_VOTE;
using raftbgp::v1::MSG_VOTE_RESP;

// ---- §5.1 terms ----------------------------------------------------------------------------

// §5.1: "If one server's current term is smaller than the other's, then it updates its current term
// to the larger value. If a candidate or leader discovers that its term is out of date, it immediately
// reverts to follower state."
TEST(Term, Follower_updates_term_when_message_has_higher_term) {
  auto p = make_peer(config(1, ids(3)), {}, 1);
  p->node->step(msg(MSG_APP, 2, 1, 2));
  EXPECT_EQ(p->node->term(), 2u);
  EXPECT_EQ(p->node->role(), Role::kFollower);
  EXPECT_EQ(p->node->leader(), 2u);
}

// §5.1, as above, for a candidate (and, thesis §9.6, a pre-candidate).
TEST(Term, Candidate_steps_down_when_message_has_higher_term) {
  for (bool pre_vote : {false, true}) {
    Config c = config(1, ids(3));
    c.pre_vote = pre_vote;
    auto p = make_peer(c, {}, 1);
    p->node->campaign();
    drain(*p);
    ASSERT_EQ(p->node->role(), pre_vote ? Role::kPreCandidate : Role::kCandidate);
    p->node->step(msg(MSG_APP, 2, 1, 5));
    EXPECT_EQ(p->node->term(), 5u) << "pre_vote=" << pre_vote;
    EXPECT_EQ(p->node->role(), Role::kFollower) << "pre_vote=" << pre_vote;
    EXPECT_EQ(p->node->leader(), 2u) << "pre_vote=" << pre_vote;
  }
}

// §5.1, as above, for a leader: an AppendEntries of a newer leader deposes it.
TEST(Term, Leader_steps_down_when_message_has_higher_term) {
  auto p = make_peer(config(1, ids(3)), {}, 1);
  make_leader(*p, ids(3));
  const Term t = p->node->term();
  p->node->step(msg(MSG_APP, 2, 1, t + 1));
  EXPECT_EQ(p->node->term(), t + 1);
  EXPECT_EQ(p->node->role(), Role::kFollower);
  EXPECT_EQ(p->node->leader(), 2u);
}

// §5.1: "If a server receives a request with a stale term number, it rejects the request." With
// CheckQuorum/PreVote the reply carries our term so that a deposed leader learns it (thesis §9.6).
TEST(Term, Stale_term_message_is_rejected_and_answered_with_current_term) {
  auto p = make_peer(config(1, ids(3)), log_with_terms({1, 2}), 2);
  Message app = msg(MSG_APP, 2, 1, 1);
  app.set_index(2);
  app.set_log_term(1);
  *app.add_entries() = entry(3, 1);
  EXPECT_EQ(p->node->step(app), DropReason::kStaleTerm);
  EXPECT_EQ(p->node->log().last_index(), 2u);
  EXPECT_EQ(p->node->term(), 2u);
  EXPECT_EQ(dropped(*p->node, DropReason::kStaleTerm), 1u);
  std::vector<Message> out = drain(*p);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type(), raftbgp::v1::MSG_APP_RESP);
  EXPECT_EQ(out[0].to(), 2u);
  EXPECT_EQ(out[0].term(), 2u);
  EXPECT_EQ(p->node->log().last_index(), 2u);  // nothing was appended
}

// ---- §5.2 leader election --------------------------------------------------------------------

// §5.2: "When servers start up, they begin as followers."
TEST(Election, Node_starts_as_follower) {
  auto p = make_peer(config(1, ids(3)));
  EXPECT_EQ(p->node->role(), Role::kFollower);
  EXPECT_EQ(p->node->term(), 0u);
  EXPECT_EQ(p->node->leader(), kNoNode);
}

// §5.2: "Leaders send periodic heartbeats (AppendEntries RPCs that carry no log entries) to all
// followers in order to maintain their authority."
TEST(Election, Leader_broadcasts_heartbeat_every_heartbeat_interval) {
  Config c = config(1, ids(3));
  c.heartbeat_ticks = 2;
  auto p = make_peer(c);
  make_leader(*p, ids(3));
  p->node->tick();
  EXPECT_TRUE(filter_type(drain(*p), MSG_HEARTBEAT).empty());
  p->node->tick();
  std::vector<Message> hb = filter_type(drain(*p), MSG_HEARTBEAT);
  ASSERT_EQ(hb.size(), 2u);
  std::set<NodeId> to;
  for (const Message& m : hb) {
    to.insert(m.to());
    EXPECT_EQ(m.term(), p->node->term());
    EXPECT_TRUE(m.entries().empty());
  }
  EXPECT_EQ(to, (std::set<NodeId>{2, 3}));
}

// §5.2: "If a follower receives no communication over a period of time called the election timeout,
// then it ... begins an election": it increments its term, votes for itself and sends RequestVote.
TEST(Election, Follower_starts_election_after_randomized_timeout) {
  auto p = make_peer(plain_config(1, ids(3)), {}, 1);
  const int timeout = p->node->randomized_election_timeout();
  for (int i = 0; i < timeout - 1; ++i) p->node->tick();
  EXPECT_EQ(p->node->role(), Role::kFollower);
  EXPECT_TRUE(drain(*p).empty());
  p->node->tick();
  EXPECT_EQ(p->node->role(), Role::kCandidate);
  EXPECT_EQ(p->node->term(), 2u);
  EXPECT_EQ(p->node->status().vote, 1u);
  std::vector<Message> votes = filter_type(drain(*p), MSG_VOTE);
  ASSERT_EQ(votes.size(), 2u);
  EXPECT_EQ(votes[0].to(), 2u);
  EXPECT_EQ(votes[1].to(), 3u);
  for (const Message& m : votes) EXPECT_EQ(m.term(), 2u);
}

// Thesis §9.6: with PreVote the timed-out follower first asks for pre-votes for term+1 and keeps its
// own term and vote until it could win.
TEST(Election, Follower_with_prevote_asks_prevotes_without_changing_term) {
  auto p = make_peer(config(1, ids(3)), {}, 1, 3);
  for (int i = 0; i < p->node->randomized_election_timeout(); ++i) p->node->tick();
  EXPECT_EQ(p->node->role(), Role::kPreCandidate);
  EXPECT_EQ(p->node->term(), 1u);
  EXPECT_EQ(p->node->status().vote, 3u);
  std::vector<Message> pre = filter_type(drain(*p), MSG_PRE_VOTE);
  ASSERT_EQ(pre.size(), 2u);
  for (const Message& m : pre) EXPECT_EQ(m.term(), 2u);
}

// §5.2: a follower that keeps hearing from a leader never starts an election.
TEST(Election, Follower_does_not_start_election_while_hearing_heartbeats) {
  auto p = make_peer(plain_config(1, ids(3)), {}, 1);
  for (int i = 0; i < 100; ++i) {
    p->node->tick();
    if (i % 5 == 0) p->node->step(msg(MSG_HEARTBEAT, 2, 1, 1));
  }
  EXPECT_EQ(p->node->role(), Role::kFollower);
  EXPECT_EQ(p->node->term(), 1u);
  EXPECT_TRUE(filter_type(drain(*p), MSG_VOTE).empty());
}

// §5.2: "If many followers become candidates at the same time, votes could be split ... each candidate
// will time out and start a new election by incrementing its term and initiating another round."
TEST(Election, Candidate_starts_new_election_after_timeout) {
  auto p = make_peer(plain_config(1, ids(3)), {}, 1);
  p->node->campaign();
  drain(*p);
  ASSERT_EQ(p->node->term(), 2u);
  const int timeout = p->node->randomized_election_timeout();
  for (int i = 0; i < timeout; ++i) p->node->tick();
  EXPECT_EQ(p->node->role(), Role::kCandidate);
  EXPECT_EQ(p->node->term(), 3u);
  EXPECT_EQ(p->node->status().vote, 1u);
  std::vector<Message> votes = filter_type(drain(*p), MSG_VOTE);
  ASSERT_EQ(votes.size(), 2u);
  for (const Message& m : votes) EXPECT_EQ(m.term(), 3u);
}

// §5.2: a candidate "wins an election if it receives votes from a majority of the servers in the full
// cluster for the same term"; it returns to follower once a majority has rejected it, and otherwise
// stays a candidate.
TEST(Election, Election_is_decided_in_one_round_by_majority_of_votes) {
  struct Case {
    NodeId size;
    std::map<NodeId, bool> votes;
    Role want;
  };
  const std::vector<Case> cases = {
      {1, {}, Role::kLeader},
      {3, {{2, true}, {3, true}}, Role::kLeader},
      {3, {{2, true}}, Role::kLeader},
      {5, {{2, true}, {3, true}, {4, true}, {5, true}}, Role::kLeader},
      {5, {{2, true}, {3, true}, {4, true}}, Role::kLeader},
      {5, {{2, true}, {3, true}}, Role::kLeader},
      {3, {}, Role::kCandidate},
      {5, {{2, true}}, Role::kCandidate},
      {5, {{2, false}, {3, false}}, Role::kCandidate},
      {5, {}, Role::kCandidate},
      {3, {{2, false}, {3, false}}, Role::kFollower},
      {5, {{2, true}, {3, false}, {4, false}, {5, false}}, Role::kFollower},
      {5, {{2, false}, {3, false}, {4, false}}, Role::kFollower},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& tc = cases[i];
    auto p = make_peer(plain_config(1, ids(tc.size)));
    p->node->campaign();
    for (const auto& [from, granted] : tc.votes) {
      Message r = msg(MSG_VOTE_RESP, from, 1, 1);
      r.set_reject(!granted);
      p->node->step(r);
    }
    EXPECT_EQ(p->node->role(), tc.want) << "case " << i;
    EXPECT_EQ(p->node->term(), 1u) << "case " << i;
  }
}

// §5.2: "Each server will vote for at most one candidate in a given term, on a first-come-first-served
// basis." A repeated request of the candidate it voted for is granted again (lost responses).
TEST(Election, Voter_grants_at_most_one_vote_per_term) {
  struct Case {
    NodeId vote;
    NodeId from;
    bool reject;
  };
  const std::vector<Case> cases = {
      {kNoNode, 2, false}, {kNoNode, 3, false}, {2, 2, false}, {3, 3, false}, {2, 3, true}, {3, 2, true},
  };
  for (const Case& tc : cases) {
    auto p = make_peer(config(1, ids(3)), {}, 1, tc.vote);
    p->node->step(msg(MSG_VOTE, tc.from, 1, 1));
    std::vector<Message> out = filter_type(drain(*p), MSG_VOTE_RESP);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].to(), tc.from);
    EXPECT_EQ(out[0].reject(), tc.reject) << "vote=" << tc.vote << " from=" << tc.from;
    EXPECT_EQ(p->node->status().vote, tc.vote == kNoNode ? tc.from : tc.vote);
  }
}

// §5.2 first-come-first-served, as a sequence: the first candidate of the term gets the vote, the
// second is refused, and the vote is durable (HardState) before the grant leaves.
TEST(Election, Voter_votes_first_come_first_served) {
  auto p = make_peer(config(1, ids(3)));
  p->node->step(msg(MSG_VOTE, 2, 1, 1));
  std::vector<Message> first = drain(*p);
  EXPECT_EQ(p->storage.hard_state().vote(), 2u);
  p->node->step(msg(MSG_VOTE, 3, 1, 1));
  std::vector<Message> second = drain(*p);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_FALSE(first[0].reject());
  EXPECT_TRUE(second[0].reject());
  EXPECT_EQ(p->storage.hard_state().vote(), 2u);
}

// §5.2: "If the leader's term ... is at least as large as the candidate's current term, then the
// candidate recognizes the leader as legitimate and returns to follower state."
TEST(Election, Candidate_falls_back_to_follower_on_append_entries_from_leader) {
  for (Term leader_term : {Term{1}, Term{2}}) {
    auto p = make_peer(plain_config(1, ids(3)));
    p->node->campaign();
    drain(*p);
    ASSERT_EQ(p->node->role(), Role::kCandidate);
    ASSERT_EQ(p->node->term(), 1u);
    EXPECT_EQ(p->node->step(msg(MSG_APP, 2, 1, leader_term)), std::nullopt);
    EXPECT_EQ(p->node->role(), Role::kFollower) << "leader term " << leader_term;
    EXPECT_EQ(p->node->term(), leader_term);
    EXPECT_EQ(p->node->leader(), 2u);
    // The AppendEntries is processed as a follower: it is acknowledged.
    std::vector<Message> out = filter_type(drain(*p), raftbgp::v1::MSG_APP_RESP);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_FALSE(out[0].reject());
  }
}

// §5.2: "election timeouts are chosen randomly from a fixed interval (e.g., 150–300ms)"; here
// [ET, 2ET) ticks, redrawn whenever a follower resets its timer. Every value of the range occurs.
TEST(Election, Follower_election_timeout_is_randomized_over_et_to_2et) {
  const int et = 10;
  auto p = make_peer(config(1, ids(3)));
  std::set<int> seen;
  for (Term t = 1; t <= 1000; ++t) {
    p->node->step(msg(MSG_HEARTBEAT, 2, 1, t));  // a new term resets the follower
    const int timeout = p->node->randomized_election_timeout();
    EXPECT_GE(timeout, et);
    EXPECT_LT(timeout, 2 * et);
    seen.insert(timeout);
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(et));
}

// §5.2, as above, for candidates: each new election redraws the timeout.
TEST(Election, Candidate_election_timeout_is_randomized_over_et_to_2et) {
  const int et = 10;
  auto p = make_peer(plain_config(1, ids(3)));
  std::set<int> seen;
  for (int i = 0; i < 1000; ++i) {
    p->node->campaign();
    ASSERT_EQ(p->node->role(), Role::kCandidate);
    const int timeout = p->node->randomized_election_timeout();
    EXPECT_GE(timeout, et);
    EXPECT_LT(timeout, 2 * et);
    seen.insert(timeout);
  }
  drain(*p);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(et));
}

// Counts, over many trials of five nodes ticked in lockstep, how often more than one of them fires its
// election timer on the same first tick (a likely split vote). `as_candidates` starts every node as a
// candidate of term 1 instead of a follower.
double split_rate(bool as_candidates) {
  const int trials = 1000;
  int conflicts = 0;
  for (int trial = 0; trial < trials; ++trial) {
    std::vector<std::unique_ptr<Peer>> peers;
    for (NodeId id = 1; id <= 5; ++id) {
      Config c = plain_config(id, ids(5));
      c.seed = static_cast<std::uint64_t>(trial) * 7919u + id;
      peers.push_back(make_peer(c));
      if (as_candidates) peers.back()->node->campaign();
    }
    const Term base = as_candidates ? 1 : 0;
    for (int tick = 0; tick < 100; ++tick) {
      int fired = 0;
      for (auto& p : peers) {
        p->node->tick();
        if (p->node->term() > base) ++fired;
      }
      if (fired > 0) {
        if (fired > 1) ++conflicts;
        break;
      }
    }
  }
  return static_cast<double>(conflicts) / trials;
}

// §5.2 / §9.3 of the paper: randomised timeouts make it likely that a single server times out first.
// With five followers and ET=10 the exact chance of a tie for first is 23.3%; assert below 30%.
TEST(Election, Followers_rarely_time_out_together) {
  const double rate = split_rate(false);
  EXPECT_LT(rate, 0.3);
  EXPECT_GT(rate, 0.0);  // the measurement is real: ties do happen
}

// §5.2, as above, for candidates that split a vote and wait for the next timeout.
TEST(Election, Candidates_rarely_time_out_together) {
  const double rate = split_rate(true);
  EXPECT_LT(rate, 0.3);
  EXPECT_GT(rate, 0.0);
}

// §5.2 split vote, etcd's "dueling candidates": a candidate cut off from the leader's no-op loses an
// election in a later term because its log is behind (§5.4.1); the cluster then recovers with a leader
// that holds the entries.
TEST(Election, Dueling_candidates_resolve_to_leader_with_complete_log) {
  Network net(3, plain_config);
  net.cut(1, 3);
  elect(net, 1);
  net.campaign(3);
  EXPECT_EQ(net.node(3).role(), Role::kCandidate);  // node 2 already voted for 1 in term 1
  EXPECT_EQ(net.node(3).term(), 1u);
  net.heal();
  net.campaign(3);  // term 2: nodes 1 and 2 adopt the term but refuse: node 3 misses index 1
  for (NodeId id : {NodeId{1}, NodeId{2}, NodeId{3}}) {
    EXPECT_EQ(net.node(id).role(), Role::kFollower) << id;
    EXPECT_EQ(net.node(id).term(), 2u) << id;
  }
  EXPECT_EQ(net.node(3).log().last_index(), 0u);
  for (int i = 0; i < 100 && net.node(1).role() != Role::kLeader && net.node(2).role() != Role::kLeader; ++i) {
    net.tick_all();
  }
  const NodeId leader = net.node(1).role() == Role::kLeader ? 1 : 2;
  ASSERT_EQ(net.node(leader).role(), Role::kLeader);
  EXPECT_NE(net.node(3).role(), Role::kLeader);
  EXPECT_EQ(net.node(3).leader(), leader);
  EXPECT_EQ(terms_of(net.node(3).log()), terms_of(net.node(leader).log()));
}

// ---- thesis §9.6 PreVote, §6.2 CheckQuorum ---------------------------------------------------

// Thesis §9.6: a server rejoining after a partition must not disrupt the cluster. With PreVote its
// pre-votes fail while isolated, so its term does not grow, and on rejoin the leader keeps its term.
TEST(PreVote, Rejoining_partitioned_node_does_not_inflate_term_or_disturb_leader) {
  Network net(3);
  elect(net, 1);
  const Term term = net.node(1).term();
  net.isolate(3);
  net.tick_all(100);
  EXPECT_EQ(net.node(3).term(), term) << "isolated node's term inflated despite PreVote";
  EXPECT_NE(net.node(3).role(), Role::kLeader);
  ASSERT_EQ(net.node(1).role(), Role::kLeader);
  net.heal();
  for (int i = 0; i < 50; ++i) {
    net.tick_all();
    ASSERT_EQ(net.node(1).role(), Role::kLeader) << "leader disturbed at tick " << i;
    ASSERT_EQ(net.node(1).term(), term);
  }
  EXPECT_EQ(net.node(3).leader(), 1u);
  EXPECT_EQ(net.node(3).role(), Role::kFollower);
  ASSERT_EQ(net.propose(1, "after").status, ProposeResult::Status::kAccepted);
  EXPECT_EQ(net.node(3).commit_index(), net.node(1).commit_index());
}

// Thesis §9.6, the problem PreVote solves: without PreVote and CheckQuorum the isolated node's term
// climbs with every timeout, and on rejoin its higher term deposes the working leader.
TEST(PreVote, Without_prevote_rejoining_node_disrupts_leader) {
  Network net(3, plain_config);
  elect(net, 1);
  const Term term = net.node(1).term();
  net.isolate(3);
  net.tick_all(100);
  const Term inflated = net.node(3).term();
  EXPECT_GT(inflated, term + 3);
  ASSERT_EQ(net.node(1).role(), Role::kLeader);
  net.heal();
  bool deposed = false;
  for (int i = 0; i < 50; ++i) {
    net.tick_all();
    if (net.node(1).role() != Role::kLeader || net.node(1).term() != term) deposed = true;
  }
  EXPECT_TRUE(deposed);
  EXPECT_GT(net.node(1).term(), inflated);
}

// Thesis §6.2 / §4.2.3: with CheckQuorum a follower that heard from its leader within the election
// timeout ignores a RequestVote of a higher term instead of adopting the term.
TEST(CheckQuorum, Follower_in_lease_ignores_higher_term_vote_request) {
  auto p = make_peer(config(1, ids(3)), {}, 1);
  p->node->step(msg(MSG_HEARTBEAT, 2, 1, 1));
  drain(*p);
  EXPECT_EQ(p->node->step(msg(MSG_VOTE, 3, 1, 2)), DropReason::kInLease);
  EXPECT_EQ(p->node->term(), 1u);
  EXPECT_EQ(p->node->leader(), 2u);
  EXPECT_TRUE(drain(*p).empty());
  // Once the election timeout passed without the leader, the request is considered.
  for (int i = 0; i < 10; ++i) p->node->tick();
  EXPECT_EQ(p->node->step(msg(MSG_VOTE, 3, 1, 2)), std::nullopt);
  EXPECT_EQ(p->node->term(), 2u);
}

// Thesis §6.2: "a leader steps down if an election timeout elapses without a successful round of
// heartbeats to a majority of its cluster."
TEST(CheckQuorum, Leader_isolated_from_quorum_steps_down) {
  Network net(3);
  elect(net, 1);
  net.tick_all(50);
  ASSERT_EQ(net.node(1).role(), Role::kLeader) << "a connected leader keeps its role";
  net.isolate(1);
  const Config c = config(1, ids(3));
  for (int i = 0; i < c.election_ticks - 1; ++i) {
    net.tick(1);
    ASSERT_EQ(net.node(1).role(), Role::kLeader) << "stepped down early, tick " << i;
  }
  net.tick(1, c.election_ticks + 1);
  EXPECT_EQ(net.node(1).role(), Role::kFollower);
  EXPECT_EQ(net.node(1).leader(), kNoNode);
  EXPECT_EQ(net.propose(1, "x").status, ProposeResult::Status::kNotLeader);
}

}  // namespace
}  // namespace raftbgp::raft
