// InstallSnapshot (Raft paper §7) in chunks that each fit one message, and log compaction by the driver.
#include <gtest/gtest.h>

#include "test_util.h"

namespace raftbgp::raft {
namespace {

using namespace raftbgp::raft::test;

constexpr std::uint64_t kMaxMsg = 1024;

Config small_config(NodeId id, std::vector<NodeId> voters) {
  Config c = config(id, std::move(voters));
  c.max_msg_bytes = kMaxMsg;
  return c;
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

// How many chunks the leader cuts `size` bytes into (mirrors send_snapshot_chunk's room computation).
std::size_t chunks_of(std::size_t size, const SnapshotMetadata& meta) {
  const std::size_t room = kMaxMsg - 96 - meta.ByteSizeLong();
  return (size + room - 1) / room;
}

// Leader 1 compacts its log while node 3 is cut off, so node 3 can only catch up by snapshot.
struct Compacted {
  Network net{3, small_config};
  std::string data = pattern(10000);  // ten chunks or so
  Index snap_index = 0;

  Compacted() {
    elect(net, 1);
    net.isolate(3);
    for (int i = 0; i < 20; ++i) net.propose(1, "e" + std::to_string(i));
    std::optional<SnapshotMetadata> meta = net.node(1).snapshot_metadata_at_applied();
    EXPECT_TRUE(meta.has_value());
    snap_index = meta->index();
    net.peer(1).storage.save_snapshot({*meta, data});
    // 3 stays cut off longer than the leader's retransmission timeout (half an election timeout), as a
    // follower that missed a compaction has: its next heartbeat answer then starts the catch-up at once.
    net.tick(1, 5);
    net.heal();
  }
};

TEST(InstallSnapshot, A_follower_behind_the_compacted_log_receives_the_snapshot_in_chunks) {
  Compacted c;
  std::size_t chunks = 0;
  c.net.intercept = [&](Message& m) {
    if (m.type() == raftbgp::v1::MSG_SNAP) {
      ++chunks;
      EXPECT_LE(m.ByteSizeLong(), kMaxMsg) << "a chunk must fit one message";
    }
    return false;
  };
  c.net.tick(1);  // heartbeat → node 3 answers → the leader finds the entries it needs are compacted
  ASSERT_EQ(c.net.peer(3).installed.size(), 1u);
  EXPECT_EQ(c.net.peer(3).installed[0].data, c.data);
  EXPECT_EQ(c.net.peer(3).installed[0].meta.index(), c.snap_index);
  EXPECT_GE(chunks, 10u);
  // Then it replicates normally from the snapshot on.
  c.net.propose(1, "after");
  EXPECT_EQ(c.net.node(3).commit_index(), c.net.node(1).commit_index());
  EXPECT_EQ(c.net.peer(3).storage.first_index(), c.snap_index + 1);
  EXPECT_EQ(c.net.peer(3).applied.back().data(), "after");
}

TEST(InstallSnapshot, A_lost_chunk_is_resent_after_the_next_heartbeat) {
  Compacted c;
  int seen = 0;
  c.net.intercept = [&](Message& m) { return m.type() == raftbgp::v1::MSG_SNAP && ++seen == 3; };
  c.net.tick(1);
  EXPECT_TRUE(c.net.peer(3).installed.empty()) << "the transfer stalls on the lost chunk";
  // Heartbeat answers keep coming, but the chunk is re-sent only after the retransmission timeout
  // (half an election timeout), not on every answer.
  c.net.tick(1, 2);
  EXPECT_TRUE(c.net.peer(3).installed.empty());
  EXPECT_EQ(seen, 3);
  c.net.tick(1, 5);
  ASSERT_EQ(c.net.peer(3).installed.size(), 1u);
  EXPECT_EQ(c.net.peer(3).installed[0].data, c.data);
}

TEST(InstallSnapshot, Duplicated_and_replayed_chunks_do_not_corrupt_the_data) {
  Compacted c;
  std::vector<Message> copies;
  c.net.intercept = [&](Message& m) {
    if (m.type() == raftbgp::v1::MSG_SNAP) copies.push_back(m);
    return false;
  };
  c.net.tick(1);
  ASSERT_EQ(c.net.peer(3).installed.size(), 1u);
  // Replay every chunk again (a BGP session reset re-sends whatever is still announced).
  c.net.intercept = nullptr;
  for (const Message& m : copies) c.net.send(m);
  EXPECT_EQ(c.net.peer(3).installed.size(), 1u);
  // And a transfer where every chunk arrives twice.
  Compacted d;
  std::size_t sends = 0;
  d.net.intercept = [&](Message& m) {
    if (m.type() == raftbgp::v1::MSG_SNAP && m.to() == 3) {
      ++sends;
      d.net.peer(3).node->step(m);
    }
    return false;
  };
  d.net.tick(1);
  ASSERT_EQ(d.net.peer(3).installed.size(), 1u);
  EXPECT_EQ(d.net.peer(3).installed[0].data, d.data);
  // Each duplicate draws a second answer with the same offset; the leader must not treat it as a cue
  // to send again, or every duplicate would start another stream of chunks.
  EXPECT_EQ(sends, chunks_of(d.data.size(), d.net.peer(1).storage.snapshot()->meta));
}

TEST(InstallSnapshot, A_follower_restart_mid_transfer_starts_over) {
  Compacted c;
  int seen = 0;
  c.net.intercept = [&](Message& m) { return m.type() == raftbgp::v1::MSG_SNAP && ++seen >= 4; };
  c.net.tick(1);
  c.net.restart(3, small_config(3, ids(3)));
  c.net.intercept = nullptr;
  c.net.tick(1, 6);  // the lost chunk's retransmission timeout; the restarted follower answers offset 0
  ASSERT_EQ(c.net.peer(3).installed.size(), 1u);
  EXPECT_EQ(c.net.peer(3).installed[0].data, c.data);
}

TEST(InstallSnapshot, A_new_leader_finishes_what_the_old_one_started) {
  Compacted c;
  // Node 2 compacts too, at the same point, as every node does by its own policy.
  std::optional<SnapshotMetadata> meta = c.net.node(2).snapshot_metadata_at_applied();
  ASSERT_TRUE(meta.has_value());
  c.net.peer(2).storage.save_snapshot({*meta, c.data});
  int seen = 0;
  c.net.intercept = [&](Message& m) { return m.type() == raftbgp::v1::MSG_SNAP && ++seen >= 4; };
  c.net.tick(1);
  c.net.intercept = nullptr;
  c.net.isolate(1);
  c.net.tick(3, 20);
  c.net.campaign(2);
  ASSERT_EQ(c.net.node(2).role(), Role::kLeader);
  c.net.tick(2);
  c.net.tick(2);
  ASSERT_EQ(c.net.peer(3).installed.size(), 1u);
  EXPECT_EQ(c.net.peer(3).installed[0].data, c.data);
  EXPECT_EQ(c.net.node(3).commit_index(), c.net.node(2).commit_index());
}

TEST(InstallSnapshot, The_snapshot_carries_the_configuration_and_a_restart_uses_it) {
  Network net(3);
  elect(net, 1);
  raftbgp::v1::ConfChange cc;
  cc.set_type(raftbgp::v1::CONF_REMOVE);
  cc.set_node_id(3);
  ASSERT_EQ(net.node(1).propose_conf_change(cc).status, ProposeResult::Status::kAccepted);
  net.stabilize();
  std::optional<SnapshotMetadata> meta = net.node(2).snapshot_metadata_at_applied();
  ASSERT_TRUE(meta.has_value());
  EXPECT_EQ(meta->conf_state().voters_size(), 2);
  net.peer(2).storage.save_snapshot({*meta, "state"});
  // The bootstrap list still names node 3; the snapshot's configuration wins.
  Config c = config(2, ids(3));
  c.applied = meta->index();
  net.peer(2).node = std::make_unique<Node>(c, net.peer(2).storage);
  EXPECT_EQ(net.node(2).status().voters, (std::vector<NodeId>{1, 2}));
}

TEST(InstallSnapshot, No_metadata_while_committed_entries_wait_to_be_applied) {
  // A follower holding entries 1..3, of which 1 is committed and applied.
  Config c = config(2, ids(3));
  c.applied = 1;
  auto p = make_peer(c, log_with_terms({1, 1, 1}), 1, kNoNode, 1);
  ASSERT_TRUE(p->node->snapshot_metadata_at_applied().has_value());
  Message hb = msg(raftbgp::v1::MSG_HEARTBEAT, 1, 2, 1);
  hb.set_commit(3);
  p->node->step(hb);
  EXPECT_FALSE(p->node->snapshot_metadata_at_applied().has_value()) << "entries 2..3 are not applied yet";
  drain(*p);
  std::optional<SnapshotMetadata> meta = p->node->snapshot_metadata_at_applied();
  ASSERT_TRUE(meta.has_value());
  EXPECT_EQ(meta->index(), 3u);
  EXPECT_EQ(meta->term(), 1u);
}

TEST(InstallSnapshot, A_malformed_chunk_is_dropped_and_counted) {
  Network net(3);
  elect(net, 1);
  Message m = msg(raftbgp::v1::MSG_SNAP, 1, 2, net.node(1).term());
  m.mutable_snapshot()->set_index(0);  // a snapshot must cover at least one entry
  EXPECT_EQ(net.node(2).step(m), DropReason::kMalformed);
  m.mutable_snapshot()->set_index(5);
  m.mutable_snapshot()->set_term(m.term() + 1);  // from the future
  EXPECT_EQ(net.node(2).step(m), DropReason::kMalformed);
}

}  // namespace
}  // namespace raftbgp::raft
