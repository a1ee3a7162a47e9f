// Paper tests, part 2: log replication (Raft paper §5.3, §5.4.2 commit rule; thesis §10.2.1 for
// pipelining and the size caps of docs/architecture.md §2). Scenario list after etcd-io/raft's raft_paper_test.go;
// the code is ours.
#include <gtest/gtest.h>

#include <set>

#include "test_util.h"

namespace raftbgp::raft {
namespace {

using namespace raftbgp::raft::test;
using raftbgp::v1::MSG_APP;
using raftbgp::v1::MSG_APP_RESP;

// A leader of ids(n) whose no-op (index last_index) every follower acknowledged: all followers are in
// the replicate state and the no-op is committed.
std::unique_ptr<Peer> settled_leader(const Config& c, NodeId n, const std::vector<Entry>& log = {}, Term term = 0) {
  auto p = make_peer(c, log, term);
  make_leader(*p, ids(n));
  for (NodeId v = 2; v <= n; ++v) p->node->step(append_ack(v, 1, p->node->term(), p->node->log().last_index()));
  drain(*p);
  EXPECT_EQ(p->node->commit_index(), p->node->log().last_index());
  return p;
}

// §5.3: "The leader appends the command to its log as a new entry, then issues AppendEntries RPCs in
// parallel to each of the other servers to replicate the entry." The RPC names the entry before it
// (prevLogIndex/prevLogTerm) and carries the leader's commit index.
TEST(Replication, Leader_appends_proposal_and_sends_append_entries_to_all) {
  auto p = settled_leader(config(1, ids(3)), 3);
  const Index li = p->node->log().last_index();
  const Term t = p->node->term();
  ProposeResult r = p->node->propose("some data");
  ASSERT_EQ(r.status, ProposeResult::Status::kAccepted);
  EXPECT_EQ(r.index, li + 1);
  EXPECT_EQ(r.term, t);
  Ready rd = p->node->ready();
  ASSERT_EQ(rd.entries.size(), 1u);  // to persist before the messages leave
  EXPECT_EQ(rd.entries[0].index(), li + 1);
  EXPECT_EQ(rd.entries[0].data(), "some data");
  std::vector<Message> apps = filter_type(rd.messages, MSG_APP);
  persist(p->storage, rd.hard_state, rd.entries);
  p->node->advance(rd);
  ASSERT_EQ(apps.size(), 2u);
  std::set<NodeId> to;
  for (const Message& m : apps) {
    to.insert(m.to());
    EXPECT_EQ(m.term(), t);
    EXPECT_EQ(m.index(), li);
    EXPECT_EQ(m.log_term(), t);
    EXPECT_EQ(m.commit(), li);
    ASSERT_EQ(m.entries_size(), 1);
    EXPECT_EQ(m.entries(0).index(), li + 1);
    EXPECT_EQ(m.entries(0).term(), t);
    EXPECT_EQ(m.entries(0).data(), "some data");
  }
  EXPECT_EQ(to, (std::set<NodeId>{2, 3}));
  EXPECT_EQ(p->node->commit_index(), li);  // not yet replicated
}

// §5.3: "A log entry is committed once the leader that created the entry has replicated it on a
// majority of the servers"; the leader then applies it and tells the followers (leaderCommit) so they
// apply it too.
TEST(Replication, Leader_commits_entry_replicated_on_majority_and_followers_learn_it) {
  Network net(3);
  elect(net, 1);
  ProposeResult r = net.propose(1, "some data");
  ASSERT_EQ(r.status, ProposeResult::Status::kAccepted);
  for (NodeId id : {NodeId{1}, NodeId{2}, NodeId{3}}) {
    EXPECT_EQ(net.node(id).commit_index(), r.index) << id;
    ASSERT_FALSE(net.peer(id).applied.empty()) << id;
    EXPECT_EQ(net.peer(id).applied.back().data(), "some data") << id;
  }
  net.expect_state_machine_safety();
}

// §5.3: the leader commits only when a majority (itself included) holds the entry; fewer
// acknowledgements leave the commit index where it was.
TEST(Replication, Leader_commits_only_after_majority_acknowledges) {
  const std::vector<std::set<NodeId>> acceptors = {{}, {2}, {3}, {2, 3}, {2, 4}, {2, 3, 4}, {2, 3, 4, 5}};
  for (const std::set<NodeId>& acc : acceptors) {
    auto p = make_peer(config(1, ids(5)));
    make_leader(*p, ids(5));
    const Index noop = p->node->log().last_index();
    ProposeResult r = p->node->propose("x");
    drain(*p);
    for (NodeId v : acc) p->node->step(append_ack(v, 1, p->node->term(), r.index));
    drain(*p);
    const bool majority = acc.size() + 1 >= 3;
    EXPECT_EQ(p->node->commit_index(), majority ? r.index : noop - 1) << "acceptors " << acc.size();
  }
}

// §5.3: "This also commits all preceding entries in the leader's log, including entries created by
// previous leaders."
TEST(Replication, Leader_commit_includes_preceding_entries) {
  const std::vector<std::vector<Entry>> logs = {{}, {entry(1, 2)}, {entry(1, 1), entry(2, 2)}, {entry(1, 1)}};
  for (const std::vector<Entry>& log : logs) {
    auto p = make_peer(config(1, ids(3)), log, 2);
    make_leader(*p, ids(3));
    ProposeResult r = p->node->propose("some data");
    drain(*p);
    p->node->step(append_ack(2, 1, p->node->term(), r.index));
    p->node->step(append_ack(3, 1, p->node->term(), r.index));
    drain(*p);
    std::vector<Entry> want = log;
    want.push_back(entry(log.size() + 1, 3));  // the leader's no-op (§8)
    want.push_back(entry(log.size() + 2, 3, "some data"));
    ASSERT_EQ(p->applied.size(), want.size()) << "log size " << log.size();
    for (std::size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(p->applied[i].index(), want[i].index());
      EXPECT_EQ(p->applied[i].term(), want[i].term());
      EXPECT_EQ(p->applied[i].data(), want[i].data());
    }
  }
}

// §5.3: "Once a follower learns that a log entry is committed, it applies the entry to its local state
// machine (in log order)."
TEST(Replication, Follower_commits_entries_up_to_leader_commit) {
  struct Case {
    std::vector<Entry> entries;
    Index commit;
  };
  const std::vector<Case> cases = {
      {{entry(1, 1, "some data")}, 1},
      {{entry(1, 1, "some data"), entry(2, 1, "some data2")}, 2},
      {{entry(1, 1, "some data2"), entry(2, 1, "some data")}, 2},
      {{entry(1, 1, "some data"), entry(2, 1, "some data2")}, 1},
  };
  for (const Case& tc : cases) {
    auto p = make_peer(config(1, ids(3)), {}, 1);
    Message app = msg(MSG_APP, 2, 1, 1);
    app.set_commit(tc.commit);
    for (const Entry& e : tc.entries) *app.add_entries() = e;
    EXPECT_EQ(p->node->step(app), std::nullopt);
    drain(*p);
    EXPECT_EQ(p->node->commit_index(), tc.commit);
    ASSERT_EQ(p->applied.size(), tc.commit);
    for (std::size_t i = 0; i < tc.commit; ++i) EXPECT_EQ(p->applied[i].data(), tc.entries[i].data());
  }
}

// §5.3: "If the follower does not find an entry in its log with the same index and term [as
// prevLogIndex/prevLogTerm], then it refuses the new entries." The refusal carries the conflict hint.
TEST(Replication, Follower_rejects_append_entries_on_log_mismatch) {
  struct Case {
    Term msg_term;
    Term log_term;
    Index index;
    Index want_index;
    bool want_reject;
    Index want_hint;
    Term want_hint_term;
  };
  const std::vector<Case> cases = {
      {2, 0, 0, 1, false, 0, 0},  // below our commit index: known to match, answer with commit
      {2, 1, 1, 1, false, 0, 0}, {2, 2, 2, 2, false, 0, 0},
      {2, 1, 2, 2, true, 1, 1},  // index 2 has term 2 here: skip back to the last entry of term <= 1
      {3, 3, 3, 3, true, 2, 2},  // index 3 is beyond our log: hint at our last entry
  };
  for (const Case& tc : cases) {
    auto p = make_peer(config(1, ids(3)), log_with_terms({1, 2}), 2, kNoNode, 1);
    Message app = msg(MSG_APP, 2, 1, tc.msg_term);
    app.set_log_term(tc.log_term);
    app.set_index(tc.index);
    app.set_commit(1);
    EXPECT_EQ(p->node->step(app), std::nullopt);
    std::vector<Message> out = filter_type(drain(*p), MSG_APP_RESP);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].reject(), tc.want_reject) << "index " << tc.index << " term " << tc.log_term;
    EXPECT_EQ(out[0].index(), tc.want_index);
    EXPECT_EQ(out[0].reject_hint(), tc.want_hint);
    EXPECT_EQ(out[0].log_term(), tc.want_hint_term);
    EXPECT_EQ(terms_of(p->node->log()), (std::vector<Term>{1, 2}));
  }
}

// §5.3 and Figure 2 AppendEntries rules 3–4: "If an existing entry conflicts with a new one (same index
// but different terms), delete the existing entry and all that follow it. Append any new entries not
// already in the log." Entries that already match are kept and not re-written.
TEST(Replication, Follower_truncates_only_conflicting_suffix_and_appends) {
  struct Case {
    Index index;
    Term log_term;
    std::vector<Entry> entries;
    std::vector<Term> want_log;
    std::vector<Entry> want_unstable;
  };
  const std::vector<Case> cases = {
      {2, 2, {entry(3, 3)}, {1, 2, 3}, {entry(3, 3)}},
      {1, 1, {entry(2, 3), entry(3, 4)}, {1, 3, 4}, {entry(2, 3), entry(3, 4)}},
      {0, 0, {entry(1, 1)}, {1, 2}, {}},
      {0, 0, {entry(1, 3)}, {3}, {entry(1, 3)}},
      {0, 0, {entry(1, 1), entry(2, 2), entry(3, 4)}, {1, 2, 4}, {entry(3, 4)}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& tc = cases[i];
    auto p = make_peer(config(1, ids(3)), log_with_terms({1, 2}), 2);
    Message app = msg(MSG_APP, 2, 1, 4);
    app.set_index(tc.index);
    app.set_log_term(tc.log_term);
    for (const Entry& e : tc.entries) *app.add_entries() = e;
    EXPECT_EQ(p->node->step(app), std::nullopt) << "case " << i;
    EXPECT_EQ(terms_of(p->node->log()), tc.want_log) << "case " << i;
    const std::vector<Entry>& unstable = p->node->log().unstable_entries();
    ASSERT_EQ(unstable.size(), tc.want_unstable.size()) << "case " << i;
    for (std::size_t j = 0; j < unstable.size(); ++j) {
      EXPECT_EQ(unstable[j].index(), tc.want_unstable[j].index()) << "case " << i;
      EXPECT_EQ(unstable[j].term(), tc.want_unstable[j].term()) << "case " << i;
    }
    drain(*p);
    // The driver's persist() applies the truncation to storage as well.
    EXPECT_EQ(p->storage.last_index(), tc.want_log.size()) << "case " << i;
    for (std::size_t j = 0; j < tc.want_log.size(); ++j) EXPECT_EQ(p->storage.term(j + 1), tc.want_log[j]);
  }
}

// §5.3, Figure 7: "the leader handles inconsistencies by forcing the followers' logs to duplicate its
// own". The follower logs (a)–(f) of Figure 7 each converge to the leader's log of term 8.
TEST(Replication, Leader_brings_figure7_follower_logs_to_match_its_own) {
  const std::vector<Term> leader_log = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
  const std::vector<std::pair<char, std::vector<Term>>> followers = {
      {'a', {1, 1, 1, 4, 4, 5, 5, 6, 6}},
      {'b', {1, 1, 1, 4}},
      {'c', {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6}},
      {'d', {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}},
      {'e', {1, 1, 1, 4, 4, 4, 4}},
      {'f', {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3}},
  };
  for (const auto& [name, follower_log] : followers) {
    Network net;
    net.add(config(1, ids(3)), log_with_terms(leader_log), 7);
    net.add(config(2, ids(3)), log_with_terms(follower_log), 7);
    net.add(config(3, ids(3)), {}, 7);
    net.campaign(1);
    ASSERT_EQ(net.node(1).role(), Role::kLeader) << "figure 7 (" << name << ")";
    ASSERT_EQ(net.node(1).term(), 8u);
    std::vector<Term> want = leader_log;
    want.push_back(8);  // the term-8 leader's no-op
    EXPECT_EQ(terms_of(net.node(1).log()), want);
    EXPECT_EQ(terms_of(net.node(2).log()), want) << "figure 7 (" << name << ")";
    EXPECT_EQ(net.node(2).commit_index(), want.size()) << "figure 7 (" << name << ")";
    EXPECT_EQ(net.peer(2).storage.last_index(), want.size()) << "figure 7 (" << name << ")";
  }
}

// §5.3 optimisation ("the follower can include the term of the conflicting entry and the first index it
// stores for that term"): a follower with many conflicting entries is repaired in O(terms) round trips,
// not one per entry.
TEST(Replication, Conflict_hint_backs_off_a_whole_term_per_round_trip) {
  auto repeat = [](std::vector<Term> v, Term t, std::size_t n) {
    v.insert(v.end(), n, t);
    return v;
  };
  struct Case {
    std::vector<Term> leader;
    std::vector<Term> follower;
    std::uint64_t max_rejects;
  };
  const std::vector<Term> base(5, 1);
  const std::vector<Case> cases = {
      // 95 conflicting entries of one term behind the leader's 50 entries of term 3.
      {repeat(base, 3, 50), repeat(base, 2, 95), 1},
      // Far behind: the follower lacks 100 entries.
      {repeat(base, 3, 100), base, 1},
      // Two conflicting terms in the follower's suffix.
      {repeat(base, 3, 60), repeat(repeat(base, 2, 40), 3, 0), 1},
      {repeat(repeat(base, 4, 30), 5, 30), repeat(repeat(base, 2, 40), 3, 40), 2},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& tc = cases[i];
    Network net;
    const Term term = tc.leader.back();
    net.add(config(1, ids(3)), log_with_terms(tc.leader), term);
    net.add(config(2, ids(3)), log_with_terms(tc.follower), term);
    net.add(config(3, ids(3)), log_with_terms(tc.leader), term);
    std::uint64_t rejects = 0;
    net.intercept = [&rejects](const Message& m) {
      if (m.type() == MSG_APP_RESP && m.from() == 2 && m.reject()) ++rejects;
      return false;
    };
    net.campaign(1);
    ASSERT_EQ(net.node(1).role(), Role::kLeader) << "case " << i;
    EXPECT_EQ(terms_of(net.node(2).log()), terms_of(net.node(1).log())) << "case " << i;
    EXPECT_LE(rejects, tc.max_rejects) << "case " << i;
    EXPECT_GE(rejects, 1u) << "case " << i;  // the logs did diverge
  }
}

// Thesis §10.2.1 (pipelining) and docs/architecture.md §2: a leader keeps at most max_inflight_msgs unacknowledged
// AppendEntries in flight to a follower in the replicate state; an acknowledgement frees a slot.
TEST(Replication, Leader_caps_unacknowledged_append_entries_per_follower) {
  Config c = config(1, ids(3));
  c.max_inflight_msgs = 3;
  auto p = settled_leader(c, 3);
  std::size_t to2 = 0;
  Index last_sent_to2 = 0;
  Index first_ack = 0;
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(p->node->propose("e" + std::to_string(i)).status, ProposeResult::Status::kAccepted);
    for (const Message& m : filter_type(drain(*p), MSG_APP)) {
      if (m.to() != 2 || m.entries().empty()) continue;
      ++to2;
      last_sent_to2 = m.entries(m.entries_size() - 1).index();
      if (first_ack == 0) first_ack = last_sent_to2;
    }
  }
  EXPECT_EQ(to2, c.max_inflight_msgs);
  EXPECT_LT(last_sent_to2, p->node->log().last_index());
  // Acknowledging the first message frees exactly one slot: one more message goes out, with the rest.
  p->node->step(append_ack(2, 1, p->node->term(), first_ack));
  std::vector<Message> more;
  for (const Message& m : filter_type(drain(*p), MSG_APP)) {
    if (m.to() == 2 && !m.entries().empty()) more.push_back(m);
  }
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].entries(0).index(), last_sent_to2 + 1);
  EXPECT_EQ(more[0].entries(more[0].entries_size() - 1).index(), p->node->log().last_index());
  // A duplicate acknowledgement frees nothing more.
  p->node->step(append_ack(2, 1, p->node->term(), first_ack));
  ASSERT_EQ(p->node->propose("late").status, ProposeResult::Status::kAccepted);
  for (const Message& m : filter_type(drain(*p), MSG_APP)) {
    EXPECT_FALSE(m.to() == 2 && !m.entries().empty()) << "window overrun";
  }
}

// The cap is a pacing window, not an absolute bound (as in etcd-io/raft): when the window is full and
// the follower answers a heartbeat after the retransmission timeout (5 ticks since entries were last
// sent to it), the leader assumes an acknowledgement was lost and frees exactly one slot, so replication
// cannot stall forever on a lossy link. An earlier answer, or none, sends nothing more.
TEST(Replication, Heartbeat_answer_frees_one_slot_of_a_full_window) {
  Config c = config(1, ids(3));
  c.max_inflight_msgs = 2;
  auto p = settled_leader(c, 3);
  auto sent_to2 = [&p] {
    std::size_t n = 0;
    for (const Message& m : filter_type(drain(*p), MSG_APP)) {
      if (m.to() == 2 && !m.entries().empty()) ++n;
    }
    return n;
  };
  // One ready loop per proposal, so that each would be its own AppendEntries: only two fit the window.
  std::size_t sent = 0;
  for (int i = 0; i < 4; ++i) {
    p->node->propose("e" + std::to_string(i));
    sent += sent_to2();
  }
  EXPECT_EQ(sent, 2u);
  p->node->tick();  // heartbeat round, unanswered
  p->node->propose("more");
  EXPECT_EQ(sent_to2(), 0u);
  p->node->step(msg(raftbgp::v1::MSG_HEARTBEAT_RESP, 2, 1, p->node->term()));
  EXPECT_EQ(sent_to2(), 0u) << "within the retransmission timeout the answer is taken as late, not lost";
  for (int i = 0; i < 4; ++i) p->node->tick();
  EXPECT_EQ(sent_to2(), 0u);
  p->node->step(msg(raftbgp::v1::MSG_HEARTBEAT_RESP, 2, 1, p->node->term()));
  EXPECT_EQ(sent_to2(), 1u);
  p->node->step(msg(raftbgp::v1::MSG_HEARTBEAT_RESP, 3, 1, p->node->term()));
  p->node->propose("again");
  EXPECT_EQ(sent_to2(), 0u);
}

// docs/architecture.md §2: max_msg_bytes bounds every message (ByteSizeLong), so one AppendEntries always fits one
// transport message; a proposal that cannot fit is refused with kTooLarge.
TEST(Replication, Max_msg_bytes_bounds_every_message_and_refuses_oversize_proposal) {
  const std::uint64_t cap = 512;
  Network net(3, [cap](NodeId id, std::vector<NodeId> voters) {
    Config c = config(id, std::move(voters));
    c.max_msg_bytes = cap;
    return c;
  });
  std::size_t largest = 0;
  int most_entries = 0;
  net.intercept = [&](const Message& m) {
    largest = std::max(largest, m.ByteSizeLong());
    if (m.type() == MSG_APP) most_entries = std::max(most_entries, m.entries_size());
    return false;
  };
  elect(net, 1);
  net.isolate(3);
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(net.propose(1, std::string(100, static_cast<char>('a' + i))).status, ProposeResult::Status::kAccepted);
  }
  EXPECT_EQ(net.propose(1, std::string(cap, 'x')).status, ProposeResult::Status::kTooLarge);
  // The largest proposal that is accepted still travels within the cap.
  std::size_t n = cap;
  while (net.propose(1, std::string(n, 'y')).status == ProposeResult::Status::kTooLarge) --n;
  EXPECT_GT(n, cap / 2);
  net.heal();
  net.tick(1, 40);  // heartbeats find node 3 behind; it catches up in capped batches
  EXPECT_EQ(terms_of(net.node(3).log()), terms_of(net.node(1).log()));
  EXPECT_EQ(net.node(3).commit_index(), net.node(1).log().last_index());
  EXPECT_LE(largest, cap);
  EXPECT_GE(most_entries, 2) << "catch-up should batch entries up to the cap";
  net.expect_state_machine_safety();
}

// §5.1 / docs/architecture.md §2 (NotLeader is a value): "If a client contacts a follower, the follower rejects its
// request and supplies information about the most recent leader it has heard from" (§8).
TEST(Replication, Proposal_on_follower_returns_not_leader_with_known_leader) {
  Network net(3);
  EXPECT_EQ(net.propose(2, "x").leader, kNoNode);
  EXPECT_EQ(net.propose(2, "x").status, ProposeResult::Status::kNotLeader);
  elect(net, 1);
  const Index last = net.node(2).log().last_index();
  ProposeResult r = net.propose(2, "x");
  EXPECT_EQ(r.status, ProposeResult::Status::kNotLeader);
  EXPECT_EQ(r.leader, 1u);
  EXPECT_EQ(net.node(2).log().last_index(), last);
  EXPECT_EQ(net.node(1).log().last_index(), last);
}

}  // namespace
}  // namespace raftbgp::raft
