// Deterministic replay of a flight recording (agent/include/raftbgp/agent/recorder.h): reruns the recorded
// inputs through a fresh raft::Node built from the recorded Config and starting storage (a MemoryStorage
// loaded with what the live WalStorage held at open), persists each Ready into that storage exactly as the
// agent does (raft::persist, plus the agent's compaction snapshots), and checks that every Ready the Node
// produces is byte-identical to the recorded one. The core is pure (no clock, IO or threads; its only
// randomness is the seeded election RNG), so the same inputs must give the same Ready batches: any
// difference is a change in the core's rules, a recorder bug, or a corrupt recording.
//
// Used by raftbgp-replay (recorder/raftbgp_replay.cc) and the tests (tests/recorder/).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "raftbgp/raft/node.h"
#include "raftbgp/v1/recorder.pb.h"

namespace raftbgp::recorder {

struct ReplayOptions {
  std::uint64_t until = 0;          // stop after the record with this seq (0: replay everything)
  std::ostream* trace = nullptr;    // when set: one line per record, plus the Node's state after each Ready
  std::size_t context_records = 5;  // inputs shown before a divergence
  // Test hook: changes the Config before the Node is built (tests use it to flip a core rule such as pre-vote
  // and check that replay diverges where that rule first matters). Never set by raftbgp-replay.
  std::function<void(raft::Config&)> mutate_config;
};

struct Divergence {
  std::uint64_t seq = 0;             // the recorded Ready record that differs
  std::string difference;            // the first differing field(s), protobuf field paths
  std::string recorded, replayed;    // describe() of both Ready batches
  std::vector<std::string> context;  // the inputs just before it, oldest first
};

struct ReplayResult {
  std::uint64_t records = 0;  // records processed (the Start included)
  std::uint64_t readies = 0;  // Ready batches compared and identical
  std::optional<Divergence> divergence;
  std::optional<std::string> error;  // the recording cannot be replayed (malformed sequence)
  bool identical() const { return !divergence && !error; }
};

// Replays `records` (read_recording's output, Start first).
ReplayResult replay(const std::vector<raftbgp::v1::Record>& records, const ReplayOptions& options);

// One line for a record (trace and divergence context).
std::string describe_record(const raftbgp::v1::Record& r);
// The record's kind as one word ("start", "step", "ready", ...; "unknown" if none): describe_record's and the
// timeline's (events.h).
const char* record_kind(const raftbgp::v1::Record& r);

}  // namespace raftbgp::recorder
