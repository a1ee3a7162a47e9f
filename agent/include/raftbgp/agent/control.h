// The control-socket protocol (docs/architecture.md §4): newline-delimited JSON over a Unix stream socket,
// one response line per request line. Pure code: framing and (de)serialization, no sockets, so the
// tests cover garbage without a socket (control_server.h does the IO).
//
// Request (one line, at most kMaxRequestBytes including the '\n'):
//   {"id": 1, "op": "kv.put", "args": {"key": "k", "value": "v"}, "client_id": "ctl-3f2a", "seq": 1,
//    "timeout_ms": 5000}
//   id: any JSON scalar, echoed back (optional); op: required; args: object (optional, default {});
//   client_id + seq: required for exactly-once ops (OpSpec::exactly_once in ops.h: writes kv.put,
//   kv.delete, policy.add, policy.remove, and admin members.add/promote/remove, transfer_leader);
//   timeout_ms: optional, 1..600000, default 5000.
// Response (one line):
//   {"id": 1, "ok": true, "result": {"index": 42}}
//   {"id": 1, "ok": false, "error": {"code": "not_found", "message": "no key k"}, "result": {...}}
//   error.code is the wire name of an ErrorCode (errors.h).
// Watch (kv.watch, policy.watch; args {"prefix": "...", "from_index": N}, both optional; watch.h): the answer
// line {"id", "ok": true, "result": {"watching", "prefix", "node_id", "applied", "history_from"}} is followed by
// one line per change this node applies, until the client closes the connection:
//   {"id": 1, "event": {"index": 42, "key": "k", "old": "v0" or null, "new": "v1" or null}}         (kv)
//   {"id": 1, "event": {"index": 43, "prefix": "10.0.0.0/24", "old": route or null, "new": route or null}}
// ("snapshot": true in an event that is an installed snapshot's difference). The agent ends a stream with one
// error line and closes the connection: too_slow (the client read too slowly and was dropped), shutting_down.
// A line that is not such a request gets {"id": null or its id, "ok": false, "error": {"code":
// "bad_request", ...}} and the server closes the connection; so does an oversize line, and a partial line
// at end of stream (the half request is answered, then the connection closes).
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "raftbgp/agent/agent_core.h"
#include "raftbgp/agent/errors.h"
#include "raftbgp/agent/ops.h"

namespace raftbgp::agent {

inline constexpr std::size_t kMaxRequestBytes = 64 * 1024;
inline constexpr std::uint64_t kMaxTimeoutMs = 600000;

// Splits a byte stream into lines ('\n'; a trailing '\r' is dropped).
class LineFramer {
 public:
  explicit LineFramer(std::size_t max_line = kMaxRequestBytes) : max_line_(max_line) {}
  // Appends received bytes. Returns false once an unterminated line is longer than max_line: the stream
  // is unusable (the caller answers with an error and closes).
  bool append(std::string_view bytes);
  // The next complete line, without its '\n'.
  std::optional<std::string> next_line();
  // Bytes of an unterminated line are buffered (a half request if the stream ends now).
  bool has_partial() const { return !buffer_.empty(); }
  bool overflowed() const { return overflowed_; }

 private:
  std::size_t max_line_;
  std::string buffer_;
  bool overflowed_ = false;
};

struct ParsedRequest {
  nlohmann::json id;  // null when absent
  ClientRequest request;
};
struct RequestError {
  nlohmann::json id;  // the request's id when it could be read, else null
  std::string message;
};

std::variant<ParsedRequest, RequestError> parse_request(std::string_view line);

// JSON integers that are >= 0 (nlohmann keeps parsed non-negatives unsigned, but built ones signed).
bool is_uint(const nlohmann::json& v);

// Ops that go through the log (or move leadership) and so carry client_id + seq: a retry with the same
// pair applies at most once. raftbgpctl sends the pair for exactly these. (OpSpec::exactly_once; false
// for an unknown op.)
bool op_is_exactly_once(std::string_view op);
// Ops that change state (OpSpec::changes_state): the control server logs each with the peer's credentials.
bool op_changes_state(std::string_view op);

// One response line (no '\n'). Invalid UTF-8 in values is replaced, never thrown on.
std::string format_response(const nlohmann::json& id, const ClientResponse& response);
std::string format_error(const nlohmann::json& id, ErrorCode code, const std::string& message);

// Serializes `j` without throwing on invalid UTF-8 (replaced by U+FFFD).
std::string dump_json(const nlohmann::json& j, int indent = -1);

}  // namespace raftbgp::agent
