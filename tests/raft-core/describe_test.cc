// describe() (raftbgp/raft/describe.h): the one-line text of messages and the per-part text of a Ready
// that the datadriven scripts, debug logs and simulator traces print. The exact strings are the contract.
#include "raftbgp/raft/describe.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace raftbgp::raft {
namespace {

using test::entry;
using test::msg;

TEST(Describe, Append_entries_lists_log_position_commit_and_entries) {
  Message m = msg(raftbgp::v1::MSG_APP, 1, 2, 3);
  m.set_log_term(3);
  m.set_index(7);
  m.set_commit(7);
  *m.add_entries() = entry(8, 3, "x");
  *m.add_entries() = entry(9, 3, "");
  EXPECT_EQ(describe(m), "1->2 MsgApp Term:3 Log:3/7 Commit:7 Entries:[3/8 EntryNormal \"x\", 3/9 EntryNormal \"\"]");
}

TEST(Describe, Rejection_and_commit_only_flags_are_shown_when_set) {
  Message rej = msg(raftbgp::v1::MSG_APP_RESP, 2, 1, 3);
  rej.set_index(8);
  rej.set_reject(true);
  rej.set_reject_hint(6);
  EXPECT_EQ(describe(rej), "2->1 MsgAppResp Term:3 Log:0/8 Rejected (Hint: 6)");
  Message news = msg(raftbgp::v1::MSG_APP, 1, 3, 3);
  news.set_commit(9);
  news.set_commit_only(true);
  EXPECT_EQ(describe(news), "1->3 MsgApp Term:3 Log:0/0 Commit:9 CommitOnly");
}

TEST(Describe, Local_events_and_unknown_types_stay_readable) {
  EXPECT_EQ(describe(test::local(raftbgp::v1::MSG_HUP)), "local->local MsgHup Term:0 Log:0/0");
  Message m = msg(static_cast<MessageType>(99), 1, 2, 1);
  EXPECT_EQ(describe(m), "1->2 MsgType(99) Term:1 Log:0/0");
}

TEST(Describe, Hostile_payloads_are_escaped_and_shortened_to_one_line) {
  Message m = msg(raftbgp::v1::MSG_READ_INDEX, 2, 1, 1);
  m.set_context(std::string("a\"\\\n\x01", 5));
  EXPECT_EQ(describe(m), "2->1 MsgReadIndex Term:1 Log:0/0 Context:\"a\\\"\\\\\\x0a\\x01\"");
  EXPECT_EQ(describe(entry(1, 1, std::string(40, 'z'))),
            "1/1 EntryNormal \"" + std::string(32, 'z') + "\"...(40 bytes)");
}

TEST(Describe, Conf_change_entries_name_the_change) {
  raftbgp::v1::ConfChange cc;
  cc.set_type(raftbgp::v1::CONF_ADD_VOTER);
  cc.set_node_id(4);
  Entry e = entry(5, 2, cc.SerializeAsString());
  e.set_type(raftbgp::v1::ENTRY_CONF_CHANGE);
  EXPECT_EQ(describe(e), "2/5 EntryConfChange AddVoter 4");
  e.set_data("\xff");
  EXPECT_EQ(describe(e), "2/5 EntryConfChange (unparsable \"\\xff\")");
}

TEST(Describe, Snapshot_message_shows_metadata_and_chunk_position) {
  Message m = msg(raftbgp::v1::MSG_SNAP, 1, 3, 2);
  m.mutable_snapshot()->set_index(5);
  m.mutable_snapshot()->set_term(2);
  m.mutable_snapshot()->mutable_conf_state()->add_voters(1);
  m.mutable_snapshot()->mutable_conf_state()->add_voters(2);
  m.set_snapshot_offset(10);
  m.set_snapshot_data("abc");
  m.set_snapshot_done(true);
  EXPECT_EQ(describe(m),
            "1->3 MsgSnap Term:2 Log:0/0 Snapshot:{Index:5 Term:2 Voters:[1 2] Learners:[]} Offset:10 "
            "Bytes:3 Done");
  Message ack = msg(raftbgp::v1::MSG_SNAP_RESP, 3, 1, 2);
  ack.set_snapshot_offset(13);
  EXPECT_EQ(describe(ack), "3->1 MsgSnapResp Term:2 Log:0/0 Offset:13");
}

TEST(Describe, Ready_prints_only_the_parts_present_one_per_line) {
  EXPECT_EQ(describe(Ready{}), "(empty Ready)");
  Ready rd;
  HardState hs;
  hs.set_term(2);
  hs.set_vote(1);
  hs.set_commit(1);
  rd.hard_state = hs;
  rd.soft_state = std::make_pair(NodeId{1}, Role::kLeader);
  rd.entries.push_back(entry(2, 2));
  rd.committed_entries.push_back(entry(1, 1, "a"));
  rd.messages.push_back(msg(raftbgp::v1::MSG_HEARTBEAT, 1, 2, 2));
  rd.read_states.push_back({1, "r", false});
  EXPECT_EQ(describe(rd),
            "HardState Term:2 Vote:1 Commit:1\n"
            "SoftState Lead:1 State:leader\n"
            "Entries:\n  2/2 EntryNormal \"\"\n"
            "CommittedEntries:\n  1/1 EntryNormal \"a\"\n"
            "Messages:\n  1->2 MsgHeartbeat Term:2 Log:0/0\n"
            "ReadStates:\n  Index:1 Context:\"r\"");
}

}  // namespace
}  // namespace raftbgp::raft
