// The replicated state machine (docs/architecture.md §4): the cluster's route policy, a small key-value
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
// A client without a session (new, or evicted) must start at seq 1:
//   no session, seq >  1            -> not applied; SESSION_EXPIRED (the seq's outcome is unknown)
//   no session, seq == 1, evicted   -> not applied; SESSION_EXPIRED (use a new client_id)
//   no session, seq == 1            -> applied; opens the session
// Admin commands carry sessions too: a configuration change records its session when its
// ENTRY_CONF_CHANGE applies (apply_conf; the session rides in ConfChange.context), a transfer_leader is
// a normal entry. Either way a retry gets the first outcome and an old seq never applies again.
//
// Eviction. The table holds at most kMaxSessions clients; when a new client would exceed it, the client
// whose last command has the lowest log index is evicted (deterministic: every node evicts the same
// one) and its id becomes a tombstone: the last kMaxTombstones evicted ids, oldest dropped first. An
// evicted client can therefore never re-open its session, neither with its next seq (seq > 1) nor by
// retrying its first command (seq 1, tombstoned). What remains: a client whose first command (seq 1)
// timed out, that was then evicted, and whose tombstone was pushed out by kMaxTombstones later
// evictions (8,192 other new clients since its last command), and that only then retries seq 1: that
// retry applies again. Every other retry of an evicted client is refused.
//
// Caps (deterministic, cluster-wide): at most kMaxPolicyRoutes policy routes and kMaxKvBytes of keys +
// values. A write that would pass them applies as INVALID and changes nothing. They are constants, not
// config: config is node-local, and apply must give the same result on every node.
//
// Policy history. Every policy write that applies OK (add, remove, and the atomic whole-table replace of
// `policy apply`) appends a v1::PolicyChange: the entry's index, client_id, its author (uid, hostname and
// wall clock, stamped by the receiving node into the command: apply reads no clock) and the prefixes it
// added, removed or changed. The last kMaxPolicyHistory changes are kept, oldest dropped first, and travel
// in snapshots. A replace that changes nothing is recorded too (it is what the operator asked for).
//
// Reads are served by ReadIndex (agent_core.h) and never enter the log; a Command.read found in a log
// written by an older agent applies as a no-op.
//
// Snapshots (Raft §7). serialize() writes the whole replicated state (policy, KV, sessions, applied
// index) as a v1::StateSnapshot with every table in key order: the same state always gives the same
// bytes. restore() replaces the state with a snapshot's; it bumps policy_version() so the announcer
// re-diffs. Entries that change nothing (no-ops, configuration changes) still advance applied_index()
// through skip(), so that applied_index() is the index the snapshot metadata names. restore() re-checks
// every policy route (policy.h validate_policy_route) and refuses a snapshot with an invalid one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "raftbgp/raft/types.h"
#include "raftbgp/v1/agent.pb.h"

namespace raftbgp::agent {

inline constexpr std::size_t kMaxSessions = 4096;
inline constexpr std::size_t kMaxKeyBytes = 256;
inline constexpr std::size_t kMaxValueBytes = 8 * 1024;
inline constexpr std::size_t kMaxTombstones = 4096;
inline constexpr std::size_t kMaxPolicyRoutes = 10000;
inline constexpr std::size_t kMaxKvBytes = std::size_t{16} << 20;  // sum of key and value sizes
inline constexpr std::size_t kMaxPolicyHistory = 256;
inline constexpr std::size_t kMaxHostnameBytes = 255;

// One change of a replicated table, as this node applies it (StateMachine::set_change_observer; the watch
// streams of watch.h). Node-local: it is derived from apply and never replicated or persisted.
struct StateChange {
  enum class Table : std::uint8_t { kKv, kPolicy };
  raft::Index index = 0;  // the entry that made it (for a snapshot: the snapshot's index)
  Table table = Table::kKv;
  std::string key;                                      // the kv key, or the policy prefix
  std::optional<std::string> old_value, new_value;      // kKv: absent = no such key before / after
  std::optional<v1::PolicyRoute> old_route, new_route;  // kPolicy: absent = no route before / after
  // From an installed snapshot: the difference the snapshot made, not one entry's change (the entries in
  // between are not known here).
  bool snapshot = false;
};

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
  // `voters` is the applied configuration (deterministic on every node): a transfer_leader whose target
  // is not in it applies as INVALID.
  v1::Result apply(raft::Index index, const v1::Command& cmd, const std::vector<std::uint64_t>& voters = {});
  // Records the session of the configuration change at `index` (cmd = ConfChange.context with the
  // change as its op). The core has already changed the configuration: the session only makes retries
  // see the first outcome. Precondition: index > applied_index().
  v1::Result apply_conf(raft::Index index, const v1::Command& cmd);
  // Records that the entry at `index` changes nothing here (no-op, configuration change, unparseable).
  // Precondition: index > applied_index().
  void skip(raft::Index index);

  // Called with every change to the kv store and the policy table as it applies (apply, apply_conf, and
  // restore, which reports the difference between the old and the new state). Not part of the replicated state:
  // restore() keeps it, and nothing is computed while none is set. The observer must not call back into this.
  using ChangeObserver = std::function<void(const StateChange&)>;
  void set_change_observer(ChangeObserver observer) { observer_ = std::move(observer); }

  // The deterministic serialization of the state (see above).
  std::string serialize() const;
  // Replaces the state with `data` (from serialize()), which must reflect exactly `index`. On error
  // (data that does not parse, version or index mismatch) the state is unchanged and the reason returned.
  std::optional<std::string> restore(const std::string& data, raft::Index index);

  const std::map<std::string, std::string>& kv() const { return kv_; }
  const std::map<std::string, v1::PolicyRoute>& policies() const { return policies_; }
  const std::map<std::string, Session>& sessions() const { return sessions_; }
  // Policy changes, oldest first (see "Policy history").
  const std::deque<v1::PolicyChange>& policy_history() const { return policy_history_; }
  const Session* session(const std::string& client_id) const;
  bool evicted(const std::string& client_id) const { return evicted_set_.count(client_id) > 0; }
  std::size_t kv_bytes() const { return kv_bytes_; }
  raft::Index applied_index() const { return applied_; }
  // Incremented whenever the policy table changes: the route announcer diffs only then.
  std::uint64_t policy_version() const { return policy_version_; }

 private:
  v1::Result apply_session(raft::Index index, const v1::Command& cmd, const std::vector<std::uint64_t>& voters);
  v1::Result apply_write(raft::Index index, const v1::Command& cmd, const std::vector<std::uint64_t>& voters);
  void add_tombstone(const std::string& client_id);
  void record_session(raft::Index index, const v1::Command& cmd, const v1::Result& result);
  v1::Result apply_replace(raft::Index index, const v1::Command& cmd);
  void record_policy_change(v1::PolicyChange change, raft::Index index, const v1::Command& cmd);
  void changed_kv(raft::Index index, const std::string& key, std::optional<std::string> was,
                  std::optional<std::string> now, bool snapshot = false) const;
  void changed_policy(raft::Index index, const std::string& prefix, std::optional<v1::PolicyRoute> was,
                      std::optional<v1::PolicyRoute> now, bool snapshot = false) const;
  void report_restore(const StateMachine& next, raft::Index index) const;

  std::map<std::string, std::string> kv_;
  std::map<std::string, v1::PolicyRoute> policies_;  // by canonical prefix
  std::map<std::string, Session> sessions_;
  std::map<raft::Index, std::string> session_by_index_;  // last_index -> client_id, for eviction
  std::deque<std::string> evicted_;                      // tombstones, oldest first
  std::set<std::string> evicted_set_;
  std::deque<v1::PolicyChange> policy_history_;
  std::size_t kv_bytes_ = 0;
  raft::Index applied_ = 0;
  std::uint64_t policy_version_ = 0;
  ChangeObserver observer_;  // node-local (see set_change_observer)
};

}  // namespace raftbgp::agent
