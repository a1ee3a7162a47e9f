// The control protocol's operations (control.h): one table, the only place an op name is matched on
// the server side. Each row says how the agent serves the op and what the client must send with it.
// Dependency-free (no AgentCore, no JSON), so a client (raftbgpctl) can use the same table.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace raftbgp::agent {

enum class Op : std::uint8_t {
  kStatus,
  kDebugDump,
  kMembers,
  kSnapshot,
  kKvGet,
  kKvList,
  kPolicyShow,
  kKvPut,
  kKvDelete,
  kPolicyAdd,
  kPolicyRemove,
  kMembersAdd,
  kMembersPromote,
  kMembersRemove,
  kTransferLeader,
  // Policy as code (policy_file.h): the whole table in one entry, and the replicated change history.
  kPolicyApply,
  kPolicyHistory,
  // The leader's view of the cluster from any node (a follower forwards it), and change streams.
  kStatusCluster,
  kKvWatch,
  kPolicyWatch,
  kDebugModel,   // the latency model file (latency_model.h)
  kDebugRecord,  // args {"action": "start" | "stop"}: on-demand flight recording (AgentCore::record)
};

// How the agent serves an op (agent_core.h): from this node's own state at once, through a ReadIndex
// round (linearizable, nothing logged), as a log entry answered when it applies (forwarded to the leader
// from a follower), or as an administration entry (a configuration change or a transfer, answered when
// the applied configuration or the leader shows it: agent_core.h "Administration"), from the leader (answered
// at once on the leader, forwarded from a follower: agent_core.h "Cluster status"), or as a stream of changes
// this node applies (watch.h).
enum class OpPath : std::uint8_t { kLocal, kReadIndex, kWrite, kAdmin, kLeader, kWatch };

struct OpSpec {
  std::string_view name;  // the request's "op"
  Op op;
  OpPath path;
  // Carries client_id + seq >= 1 and applies at most once per (client_id, seq) (state_machine.h).
  bool exactly_once;
  // Changes state (the log, the configuration, leadership or the local log's compaction): the control
  // server logs it with the peer's credentials.
  bool changes_state;
};

inline constexpr std::array<OpSpec, 22> kOps = {{
    {"status", Op::kStatus, OpPath::kLocal, false, false},
    {"debug.dump", Op::kDebugDump, OpPath::kLocal, false, false},
    {"members", Op::kMembers, OpPath::kLocal, false, false},
    {"snapshot", Op::kSnapshot, OpPath::kLocal, false, true},
    {"kv.get", Op::kKvGet, OpPath::kReadIndex, false, false},
    {"kv.list", Op::kKvList, OpPath::kReadIndex, false, false},
    {"policy.show", Op::kPolicyShow, OpPath::kReadIndex, false, false},
    {"kv.put", Op::kKvPut, OpPath::kWrite, true, true},
    {"kv.delete", Op::kKvDelete, OpPath::kWrite, true, true},
    {"policy.add", Op::kPolicyAdd, OpPath::kWrite, true, true},
    {"policy.remove", Op::kPolicyRemove, OpPath::kWrite, true, true},
    {"members.add", Op::kMembersAdd, OpPath::kAdmin, true, true},
    {"members.promote", Op::kMembersPromote, OpPath::kAdmin, true, true},
    {"members.remove", Op::kMembersRemove, OpPath::kAdmin, true, true},
    {"transfer_leader", Op::kTransferLeader, OpPath::kAdmin, true, true},
    // args {"routes": [route...], "dry_run": bool}: dry_run validates every route and proposes nothing.
    {"policy.apply", Op::kPolicyApply, OpPath::kWrite, true, true},
    {"policy.history", Op::kPolicyHistory, OpPath::kReadIndex, false, false},
    {"status.cluster", Op::kStatusCluster, OpPath::kLeader, false, false},
    // args {"prefix": "...", "from_index": N} (both optional): one answer line, then one line per change.
    {"kv.watch", Op::kKvWatch, OpPath::kWatch, false, false},
    {"policy.watch", Op::kPolicyWatch, OpPath::kWatch, false, false},
    {"debug.model", Op::kDebugModel, OpPath::kLocal, false, false},
    {"debug.record", Op::kDebugRecord, OpPath::kLocal, false, true},
}};

// The row named `name`, or nullptr (an unknown op: bad_request).
constexpr const OpSpec* find_op(std::string_view name) {
  for (const OpSpec& spec : kOps)
    if (spec.name == name) return &spec;
  return nullptr;
}
// The row of `op` (every Op has one).
constexpr const OpSpec& op_spec(Op op) {
  for (const OpSpec& spec : kOps)
    if (spec.op == op) return spec;
  return kOps[0];
}

}  // namespace raftbgp::agent
