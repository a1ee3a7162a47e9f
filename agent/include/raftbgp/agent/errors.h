// The agent's one error model: every refusal a client can get is an ErrorCode, and the control
// protocol's error strings (control.h, README "Agent", docs/operator-guide.md) are the names in this
// file's table, nowhere else. Like the core's DropReason and the transport's RejectReason, a code is an
// enum with a name; the message beside it is free text for humans.
//
// What a code promises the client (raftbgpctl maps them to exit codes):
//   bad_request                      the request itself is wrong; nothing was sent (exit 2)
//   not_found                        the key or route does not exist (exit 3)
//   no_leader .. not_ready           definitely not applied: retry shortly (exit 4)
//   timeout, shutting_down, internal the outcome is unknown: retry with the same client_id and seq (exit 5)
//   too_slow                         a watch stream ended because its client fell behind (exit 5)
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "raftbgp/v1/agent.pb.h"

namespace raftbgp::agent {

enum class ErrorCode : std::uint8_t {
  kBadRequest,         // bad_request
  kNotFound,           // not_found
  kNoLeader,           // no_leader: no leader known when the request arrived; nothing was sent
  kNotLeader,          // not_leader: the addressed node does not lead (or is handing leadership over)
  kRejected,           // rejected: the leader or the state machine refused the command as invalid
  kStaleSequence,      // stale_sequence: an older seq than the client's session has applied
  kSessionExpired,     // session_expired: unknown session above seq 1 (state_machine.h "Eviction")
  kTooLarge,           // too_large: the command does not fit one Raft or transport message
  kConfChangePending,  // conf_change_pending: another configuration change is not committed yet
  kNotReady,           // not_ready: a new leader has not committed an entry of its term yet
  kTimeout,            // timeout: not applied within the request's timeout; outcome unknown
  kShuttingDown,       // shutting_down: the agent stopped with the request pending; outcome unknown
  kInternal,           // internal
  kTooSlow,            // too_slow: a watch whose client read too slowly was dropped (watch.h); watch again
  kCount_,
};
inline constexpr std::size_t kErrorCodeCount = static_cast<std::size_t>(ErrorCode::kCount_);

// The wire name ("not_leader", ...); every code has exactly one, and no two codes share one.
std::string_view error_name(ErrorCode code);
// The code whose wire name is `name`, or nullopt (a client reading a response).
std::optional<ErrorCode> error_code_named(std::string_view name);

// Test and log output print the wire name.
std::ostream& operator<<(std::ostream& os, ErrorCode code);

// Why a request was refused: a code and a one-line message for the operator.
struct Refusal {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

// The one mapping of the leader's refusals of a forwarded command (MSG_FORWARD_RESP, agent.proto) to what
// the origin's client is told. The same mapping answers a client on the leader itself, so a command gets
// the same code whichever node it was sent to. TRANSFERRING (the leader is handing leadership over and
// takes no proposals, thesis §3.10) is told as not_leader: retryable, and after the transfer another
// node leads.
ErrorCode error_code_for(v1::ForwardReject::Reason reason);

// A proposal the leader refused: the reason a forwarding follower is sent, and the message.
struct ProposeRefusal {
  v1::ForwardReject::Reason reason = v1::ForwardReject::INVALID;
  std::string message;
  Refusal refusal() const { return Refusal{error_code_for(reason), message}; }
};

}  // namespace raftbgp::agent
