// Parallel persistence (thesis §10.2.1, node.h): a leader may send its AppendEntries before its own
// fsync, and counts itself in the quorum only for entries it has persisted (its match rises in advance()).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "raftbgp/raft/memory_storage.h"
#include "raftbgp/raft/node.h"

namespace raftbgp::raft {
namespace {

struct Three {
  std::vector<std::unique_ptr<MemoryStorage>> storages;
  std::vector<std::unique_ptr<Node>> nodes;
  Three() {
    for (NodeId id = 1; id <= 3; ++id) {
      Config c;
      c.id = id;
      c.voters = {1, 2, 3};
      c.seed = id;
      storages.push_back(std::make_unique<MemoryStorage>());
      nodes.push_back(std::make_unique<Node>(c, *storages.back()));
    }
  }
  // Every node's ready loop (persist, send, apply, advance) until no message is left.
  void settle() {
    std::vector<Message> inbox;
    do {
      for (std::size_t i = 0; i < nodes.size(); ++i) {
        while (nodes[i]->has_ready()) {
          Ready rd = nodes[i]->ready();
          persist(*storages[i], rd.snapshot, rd.hard_state, rd.entries);
          for (Message& m : rd.messages) inbox.push_back(std::move(m));
          nodes[i]->advance(rd);
        }
      }
      std::vector<Message> batch;
      batch.swap(inbox);
      for (const Message& m : batch) nodes[m.to() - 1]->step(m);
    } while (std::any_of(nodes.begin(), nodes.end(), [](const auto& n) { return n->has_ready(); }));
  }
};

TEST(ParallelPersist, Leader_counts_itself_only_after_advance_when_it_sent_before_persisting) {
  Three c;
  c.nodes[0]->campaign();
  c.settle();
  ASSERT_EQ(c.nodes[0]->role(), Role::kLeader);
  Node& leader = *c.nodes[0];
  const ProposeResult p = leader.propose("x");
  ASSERT_EQ(p.status, ProposeResult::Status::kAccepted);

  Ready rd = leader.ready();
  ASSERT_TRUE(rd.send_before_persist);  // same term and vote, no snapshot: the leader may send first
  ASSERT_EQ(rd.entries.size(), 1u);
  // Send first: follower 2 persists the entry and acknowledges it before the leader's own fsync.
  for (const Message& m : rd.messages) {
    if (m.to() != 2) continue;
    c.nodes[1]->step(m);
  }
  Ready frd = c.nodes[1]->ready();
  persist(*c.storages[1], frd.snapshot, frd.hard_state, frd.entries);
  c.nodes[1]->advance(frd);
  for (const Message& m : frd.messages) leader.step(m);
  // One durable copy (the follower's) of three: not committed, whatever the leader holds in memory.
  EXPECT_LT(leader.commit_index(), p.index);

  // The leader's fsync completes: now two durable copies of three.
  persist(*c.storages[0], rd.snapshot, rd.hard_state, rd.entries);
  leader.advance(rd);
  EXPECT_EQ(leader.commit_index(), p.index);
  ASSERT_TRUE(leader.has_ready());  // the new commit index goes out and the entry is applied
  Ready next = leader.ready();
  ASSERT_EQ(next.committed_entries.size(), 1u);
  EXPECT_EQ(next.committed_entries.front().data(), "x");
  leader.advance(next);
}

TEST(ParallelPersist, Is_not_offered_when_a_leader_ready_carries_a_new_term_or_vote) {
  // A single voter wins its election inside one Ready: it leads, but its new term and vote are not
  // durable yet, so nothing of that term may leave first.
  MemoryStorage s;
  Config cfg;
  cfg.id = 1;
  cfg.voters = {1};
  Node n(cfg, s);
  n.campaign();
  ASSERT_EQ(n.role(), Role::kLeader);
  Ready rd = n.ready();
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_FALSE(rd.send_before_persist);
  // Its own no-op commits only once persisted: there is no other copy to count.
  EXPECT_EQ(n.commit_index(), 0u);
  persist(s, rd.snapshot, rd.hard_state, rd.entries);
  n.advance(rd);
  EXPECT_EQ(n.commit_index(), 1u);
}

TEST(ParallelPersist, Is_never_offered_to_a_follower) {
  // A follower's acknowledgement promises its durable log (§5.1): it always persists first.
  Three c;
  c.nodes[0]->campaign();
  c.settle();
  ASSERT_EQ(c.nodes[0]->role(), Role::kLeader);
  c.nodes[0]->propose("y");
  Ready rd = c.nodes[0]->ready();
  persist(*c.storages[0], rd.snapshot, rd.hard_state, rd.entries);
  c.nodes[0]->advance(rd);
  ASSERT_FALSE(rd.messages.empty());
  for (const Message& m : rd.messages) c.nodes[m.to() - 1]->step(m);
  for (std::size_t i = 1; i < 3; ++i) {
    ASSERT_TRUE(c.nodes[i]->has_ready());
    EXPECT_FALSE(c.nodes[i]->ready().send_before_persist);
  }
}

}  // namespace
}  // namespace raftbgp::raft
