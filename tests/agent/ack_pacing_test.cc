// AckPacer (agent/include/raftbgp/agent/ack_pacing.h): acknowledgements coalesced within a Ready, a learner's
// acknowledgements and plain heartbeat answers held for a few ticks; everything else leaves untouched and in order.
#include <gtest/gtest.h>

#include <vector>

#include "raftbgp/agent/ack_pacing.h"

namespace raftbgp::agent {
namespace {

constexpr auto kAppResp = raft::MessageType::MSG_APP_RESP;
constexpr auto kHeartbeatResp = raft::MessageType::MSG_HEARTBEAT_RESP;

raft::Message msg(raft::MessageType type, std::uint64_t to, std::uint64_t term, std::uint64_t index,
                  bool reject = false) {
  raft::Message m;
  m.set_type(type);
  m.set_from(7);
  m.set_to(to);
  m.set_term(term);
  m.set_index(index);
  m.set_reject(reject);
  return m;
}

raft::Message ack(std::uint64_t index, std::uint64_t term = 2, std::uint64_t to = 1) {
  return msg(kAppResp, to, term, index);
}

std::vector<std::uint64_t> indexes(const std::vector<raft::Message>& ms) {
  std::vector<std::uint64_t> out;
  for (const raft::Message& m : ms) out.push_back(m.index());
  return out;
}

TEST(AckPacer, A_voter_sends_a_lone_acknowledgement_unchanged) {
  AckPacer p(3);
  std::vector<raft::Message> out;
  EXPECT_FALSE(p.filter({ack(5)}, false, 1, out));
  EXPECT_FALSE(p.filter({msg(kHeartbeatResp, 1, 2, 0)}, false, 1, out));
  EXPECT_EQ(p.coalesced(), 0u);
}

TEST(AckPacer, Within_one_ready_the_last_acknowledgement_supersedes_the_earlier_ones) {
  AckPacer p(3);
  std::vector<raft::Message> out;
  const raft::Message reject = msg(kAppResp, 1, 2, 4, true);
  const raft::Message hb = msg(kHeartbeatResp, 1, 2, 0);
  ASSERT_TRUE(p.filter({ack(5), reject, hb, ack(6), ack(9)}, false, 1, out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[0].reject()) << "a rejection is never dropped";
  EXPECT_EQ(out[1].type(), kHeartbeatResp);
  EXPECT_EQ(out[2].index(), 9u);
  EXPECT_EQ(p.coalesced(), 2u);
}

TEST(AckPacer, Acknowledgements_of_another_term_or_leader_or_a_lower_index_survive) {
  AckPacer p(3);
  std::vector<raft::Message> out;
  // Not superseded: a later term's answer says nothing of the earlier term, nor one to another node, nor
  // one at a lower index (the log was truncated in between).
  ASSERT_TRUE(p.filter({ack(5, 2), ack(6, 3), ack(7, 3, 4), ack(3, 3, 4)}, false, 1, out));
  EXPECT_EQ(indexes(out), (std::vector<std::uint64_t>{5, 6, 7, 3}));
  EXPECT_EQ(p.coalesced(), 0u);
}

TEST(AckPacer, A_learner_holds_its_newest_acknowledgement_for_the_hold_ticks) {
  AckPacer p(3);
  std::vector<raft::Message> out;
  ASSERT_TRUE(p.filter({ack(5)}, true, 10, out));
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(p.filter({msg(kHeartbeatResp, 1, 2, 0), ack(6)}, true, 11, out));
  EXPECT_TRUE(out.empty()) << "the heartbeat answer says less than the acknowledgement after it";
  EXPECT_FALSE(p.take_due(12).has_value());
  ASSERT_TRUE(p.filter({ack(8)}, true, 12, out));
  const std::optional<raft::Message> due = p.take_due(13);  // three ticks after the first was held
  ASSERT_TRUE(due.has_value());
  EXPECT_EQ(due->index(), 8u) << "only the newest, which says all the others said";
  EXPECT_FALSE(p.take_due(20).has_value()) << "sent once";
  EXPECT_EQ(p.held(), 3u);
  EXPECT_EQ(p.coalesced(), 3u);
}

// A busy leader heartbeats every tick, and 27 learners answering each heartbeat at once were most of what its
// ExaBGP had to read in a 32-router burst (~310 of ~390 UPDATEs a second, issue 17). A learner's answer only
// says "alive", which counts for nothing the leader decides, so it waits like an acknowledgement.
TEST(AckPacer, A_learner_holds_its_plain_heartbeat_answers_behind_or_in_place_of_an_acknowledgement) {
  AckPacer p(3);
  std::vector<raft::Message> out;
  const raft::Message hb = msg(kHeartbeatResp, 1, 2, 0);
  ASSERT_TRUE(p.filter({hb}, true, 10, out));
  EXPECT_TRUE(out.empty()) << "held";
  ASSERT_TRUE(p.filter({hb}, true, 11, out));
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(p.filter({ack(6)}, true, 12, out));
  EXPECT_TRUE(out.empty()) << "the acknowledgement replaces the held answer";
  ASSERT_TRUE(p.filter({hb}, true, 12, out));
  EXPECT_TRUE(out.empty()) << "an answer behind a held acknowledgement adds nothing";
  const std::optional<raft::Message> due = p.take_due(13);
  ASSERT_TRUE(due.has_value());
  EXPECT_EQ(due->type(), kAppResp);
  EXPECT_EQ(due->index(), 6u);
  EXPECT_FALSE(p.take_due(14).has_value());
  EXPECT_EQ(p.coalesced(), 3u);
  // Alone, a held answer leaves when due, so the leader still hears from the learner once per hold.
  ASSERT_TRUE(p.filter({hb}, true, 20, out));
  EXPECT_FALSE(p.take_due(22).has_value());
  ASSERT_TRUE(p.take_due(23).has_value());
}

TEST(AckPacer, Heartbeat_answers_of_a_read_round_or_of_a_voter_leave_at_once) {
  AckPacer p(3);
  std::vector<raft::Message> out;
  raft::Message read = msg(kHeartbeatResp, 1, 2, 0);
  read.set_context("read-7");
  EXPECT_FALSE(p.filter({read}, true, 1, out)) << "a learner's answer to a ReadIndex round is never held";
  ASSERT_TRUE(p.filter({read, ack(4)}, true, 1, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].context(), "read-7");
  const raft::Message hb = msg(kHeartbeatResp, 1, 2, 0);
  EXPECT_FALSE(p.filter({hb}, false, 1, out)) << "a voter's answers keep CheckQuorum fed";
  ASSERT_TRUE(p.filter({hb, ack(5), ack(6)}, false, 1, out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].type(), kHeartbeatResp);
  EXPECT_EQ(out[1].index(), 6u);
}

TEST(AckPacer, A_learner_never_holds_a_rejection) {
  AckPacer p(3);
  std::vector<raft::Message> out;
  ASSERT_TRUE(p.filter({msg(kAppResp, 1, 2, 4, true), ack(3)}, true, 1, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].reject());
  EXPECT_EQ(p.take_due(4)->index(), 3u);
}

}  // namespace
}  // namespace raftbgp::agent
