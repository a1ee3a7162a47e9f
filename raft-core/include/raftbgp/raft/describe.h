// describe(): compact, stable, human-readable text for the core's messages and Ready batches.
//
// One message is one line, e.g.
//   1->2 MsgApp Term:3 Log:3/7 Commit:7 Entries:[3/8 EntryNormal "x"]
//   2->1 MsgAppResp Term:3 Log:0/8 Rejected (Hint: 6)
// and a Ready is one line per part (hard state, soft state, snapshot, entries, committed entries,
// messages, read states), parts that are absent or empty left out.
//
// The wording is a test fixture: the datadriven scripts in tests/raft-core/testdata/ compare it
// byte for byte, so changing it means regenerating them (RAFTBGP_REWRITE=1, see tests/raft-core/
// datadriven_test.cc). It is also meant for debug logs and simulator traces: pure functions of their
// argument, no IO, data quoted with non-printable bytes escaped and long payloads shortened, so a
// hostile peer's bytes cannot forge log lines.
#pragma once

#include <string>

#include "raftbgp/raft/node.h"
#include "raftbgp/raft/storage.h"
#include "raftbgp/raft/types.h"

namespace raftbgp::raft {

// "MsgApp", "MsgVoteResp", ...; "MsgType(N)" for a type this version does not know.
std::string message_type_name(MessageType t);

// "term/index EntryNormal \"data\"", or for a configuration change "term/index EntryConfChange AddVoter 4".
std::string describe(const Entry& e);

// "Term:1 Vote:2 Commit:3".
std::string describe(const HardState& hs);

// "Index:5 Term:2 Voters:[1 2 3] Learners:[]".
std::string describe(const SnapshotMetadata& meta);

// One line: "from->to Type Term:T Log:logterm/index", then only the fields that are set. A local event
// (to == 0) reads "local" for the missing ids.
std::string describe(const Message& m);

// Several lines separated by '\n' (no trailing newline); "(empty Ready)" for a Ready with nothing in it.
std::string describe(const Ready& rd);

}  // namespace raftbgp::raft
