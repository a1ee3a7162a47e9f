#include "raftbgp/agent/errors.h"

#include <array>

namespace raftbgp::agent {
namespace {

// Indexed by ErrorCode; the wire names of the control protocol (control.h). Never rename one: clients,
// docs/operator-guide.md and the lab tests match them byte for byte.
constexpr std::array<std::string_view, kErrorCodeCount> kNames = {
    "bad_request",     "not_found", "no_leader",           "not_leader", "rejected", "stale_sequence",
    "session_expired", "too_large", "conf_change_pending", "not_ready",  "timeout",  "shutting_down",
    "internal",        "too_slow",
};

struct ForwardRow {
  v1::ForwardReject::Reason reason;
  ErrorCode code;
};
constexpr std::array<ForwardRow, 6> kForwardRows = {{
    {v1::ForwardReject::NOT_LEADER, ErrorCode::kNotLeader},
    {v1::ForwardReject::TRANSFERRING, ErrorCode::kNotLeader},
    {v1::ForwardReject::TOO_LARGE, ErrorCode::kTooLarge},
    {v1::ForwardReject::INVALID, ErrorCode::kRejected},
    {v1::ForwardReject::CONF_CHANGE_PENDING, ErrorCode::kConfChangePending},
    {v1::ForwardReject::NOT_READY, ErrorCode::kNotReady},
}};

}  // namespace

std::string_view error_name(ErrorCode code) {
  const auto i = static_cast<std::size_t>(code);
  return kNames[i < kNames.size() ? i : static_cast<std::size_t>(ErrorCode::kInternal)];
}

std::optional<ErrorCode> error_code_named(std::string_view name) {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<ErrorCode>(i);
  return std::nullopt;
}

std::ostream& operator<<(std::ostream& os, ErrorCode code) { return os << error_name(code); }

ErrorCode error_code_for(v1::ForwardReject::Reason reason) {
  for (const ForwardRow& row : kForwardRows)
    if (row.reason == reason) return row.code;
  return ErrorCode::kRejected;  // a reason from a newer agent: refused, nothing applied
}

}  // namespace raftbgp::agent
