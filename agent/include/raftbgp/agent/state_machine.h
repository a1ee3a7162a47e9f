// The replicated state machine (shared/DESIGN.md §4): the cluster's route policy, a small key-value
// store, and the client session table that makes retried commands apply exactly once (Raft thesis §6.3).
//
// Determinism: apply() depends only on the sequence of (index, command) it is given, never on node-local
// config or time, so every node that applies the same log reaches the same state and the same results.
//
// Sessions. A write carries (client_id, seq). Per client the table keeps the last applied seq and its
// Result. Applying:
//   seq >  last  -> the command is applied; its Result is recorded (the index of this entry)
//   seq == last  -> not applied again; the recorded Result is returned (same index as the first time)
//   seq <  last  -> not applied; Result STALE_SEQUENCE ("stale sequence")
// The table holds at most kMaxSessions clients; when a new client would exceed it, the client whose last
// command has the lowest log index is evicted (deterministic: every node evicts the same one). A retry
// from an evicted client applies again: clients must not pause for longer than kMaxSessions other
// clients' commands between a timeout and their retry.
//
// Reads are served by ReadIndex (agent_core.h) and never enter the log; a Command.read found in a log
// written by an older agent applies as a no-op.
//
// Snapshots (Raft §7). serialize() writes the whole replicated state (policy, KV, sessions, applied
// index) as a v1::StateSnapshot with every table in key order: the same state always gives the same
// bytes. restore() replaces the state with a snapshot's; it bumps policy_version() so the announcer
// re-diffs. Entries that change nothing (no-ops, configuration changes) still advance applied_index()
// through skip(), so that applied_index() is the index the snapshot metadata names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "raftbgp/raft/types.h"
#include "raftbgp/v1/agent.pb.h"

namespace raftbgp::agent {

inline constexpr std::size_t kMaxSessions = 4096;
inline constexpr std::size_t kMaxKeyBytes = 256;
inline constexpr std::size_t kMaxValueBytes = 8 * 1024;

// Checks a write's payload limits (non-empty key, sizes). Shared by the proposer and apply so both
// agree; nullopt when valid.
std::optional<std::string> check_write(const v1::Command& cmd);

class StateMachine {
 public:
  struct Session {
    std::uint64_t seq = 0;
    v1::Result result;
    raft::Index last_index = 0;  // index of the client's most recent command (first apply or retry)
  };

  // Applies the write in `cmd` at log index `index` (see the session rules above). Precondition: index
  // is larger than every index applied before. A read command returns OK without changing anything.
  v1::Result apply(raft::Index index, const v1::Command& cmd);
  // Records that the entry at `index` changes nothing here (no-op, configuration change, unparseable).
  // Precondition: index > applied_index().
  void skip(raft::Index index);

  // The deterministic serialization of the state (see above).
  std::string serialize() const;
  // Replaces the state with `data` (from serialize()), which must reflect exactly `index`. On error
  // (data that does not parse, version or index mismatch) the state is unchanged and the reason returned.
  std::optional<std::string> restore(const std::string& data, raft::Index index);

  const std::map<std::string, std::string>& kv() const { return kv_; }
  const std::map<std::string, v1::PolicyRoute>& policies() const { return policies_; }
  const std::map<std::string, Session>& sessions() const { return sessions_; }
  const Session* session(const std::string& client_id) const;
  raft::Index applied_index() const { return applied_; }
  // Incremented whenever the policy table changes: the route announcer diffs only then.
  std::uint64_t policy_version() const { return policy_version_; }

 private:
  v1::Result apply_write(raft::Index index, const v1::Command& cmd);
  void record_session(raft::Index index, const v1::Command& cmd, const v1::Result& result);

  std::map<std::string, std::string> kv_;
  std::map<std::string, v1::PolicyRoute> policies_;  // by canonical prefix
  std::map<std::string, Session> sessions_;
  std::map<raft::Index, std::string> session_by_index_;  // last_index -> client_id, for eviction
  raft::Index applied_ = 0;
  std::uint64_t policy_version_ = 0;
};

}  // namespace raftbgp::agent
