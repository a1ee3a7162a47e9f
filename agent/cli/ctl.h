// raftbgpctl's parts. agent/raftbgpctl.cc holds the verb table and main; here:
//   ctl_client.cc  one request and its answer over the control socket (protocol: control.h); every failure
//                  is a Failure value (exit code, a stable code, a message), printed by the caller as text
//                  on stderr or as JSON on stdout (-o json)
//   ctl_print.cc   human output of the answers (server strings made printable, log.h printable())
//   ctl_health.cc  the health verdict from a status answer
//   ctl_policy.cc  policy as code: apply -f (diff, one entry), export, history
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace raftbgp::agent::ctl {

// raftbgpctl's exit codes (its --help footer explains them to the operator).
inline constexpr int kExitOk = 0, kExitKeygen = 1, kExitUsage = 2, kExitNotFound = 3, kExitNotApplied = 4,
                     kExitUnknown = 5, kExitUnhealthy = 6;

// A request that did not produce a result. `code` is the agent's wire error code when from_agent (e.g.
// "no_leader"), else one of raftbgpctl's own: bad_socket_path, unreachable (nothing was sent), send_failed,
// timeout, answer_too_long, connection_closed, unreadable_answer, malformed_answer, usage.
struct Failure {
  int exit_code = kExitUnknown;
  std::string code;
  std::string message;  // exact (JSON output); text output makes it printable
  bool from_agent = false;
};

// The exit code for an agent error code (the codes of agent_core.h's ClientResponse).
int exit_code_for(const std::string& code);

// Sends one request line and waits up to timeout_ms + 1 s for its answer line: the `result` object of an
// ok answer, or the failure. Nothing sent -> exit 4 (or 2 for a bad path); sent, no usable answer -> 5.
std::variant<nlohmann::json, Failure> call(const std::string& socket_path, const nlohmann::json& request,
                                           std::uint64_t timeout_ms);

// A watch (kv.watch, policy.watch; control.h "Watch"): sends the request, waits up to timeout_ms + 1 s for its
// answer (started() gets its result), then hands every event object to event() until the agent ends the stream,
// stop() turns true (checked at least every 200 ms: a signal) or event() returns false (our output is gone).
// nullopt: ended by us (exit 0); else the failure: the agent's last line (too_slow, shutting_down), the agent
// closing the connection, or the request's own failure as in call().
struct WatchHandlers {
  std::function<void(nlohmann::json& result)> started;
  std::function<bool(nlohmann::json& event)> event;
  std::function<bool()> stop;
};
std::optional<Failure> watch(const std::string& socket_path, const nlohmann::json& request, std::uint64_t timeout_ms,
                             const WatchHandlers& on);

// Prints a failure: JSON {"error":{"code","message","from_agent"},"exit_code"} on stdout, or one
// "raftbgpctl: ..." line on stderr. Returns failure.exit_code.
int report(const Failure& failure, bool as_json);

// Human output (non-const json: operator[] on a missing key inserts null, shown "-").
std::string cell(const nlohmann::json& v);
void print_status(nlohmann::json& s);
void print_members(nlohmann::json& s);
void print_policies(nlohmann::json& routes);
// status --cluster: the leader's view (agent_core.h "Cluster status").
void print_cluster(nlohmann::json& view);
// One watch event as a line: index, what happened, key or prefix, old -> new.
void print_watch_event(nlohmann::json& event);

// The health verdict of one node from its status answer (agent_status.cc; the "health" and "exabgp" objects
// come from health_signals.h and the ExaBGP command window). Healthy when every one of these holds, else one
// reason each:
//   - it knows a leader, and is a voter or learner of the configuration;
//   - applied trails commit by at most max_lag_entries;
//   - at least one BGP session is up (health.bgp_sessions_up);
//   - applied trails the leader's commit index by at most max_lag_entries (health.lag_entries), and has not
//     trailed it for more than max_lag_ms (health.behind_ms);
//   - the leader was heard within max_lag_ms (health.leader_contact_ms), unless this follower is frozen under
//     a quiet leader's presence (quiesce.frozen), which sends nothing on purpose;
//   - ExaBGP acknowledged a command within max_ack_wait_ms while commands are outstanding
//     (exabgp.ms_without_ack), and its watchdog did not reset the window in the last minute
//     (health.last_ack_stall_ms_ago < kRecentAckStallMs).
// A field an older agent does not send skips its check (a newer raftbgpctl still judges what it can).
struct HealthLimits {
  std::uint64_t max_lag_entries = 100;
  std::uint64_t max_lag_ms = 10000;
  std::uint64_t max_ack_wait_ms = 10000;
};
inline constexpr std::uint64_t kRecentAckStallMs = 60000;
struct Health {
  bool healthy = false;
  std::vector<std::string> reasons;  // empty when healthy
  nlohmann::json to_json(nlohmann::json& status) const;
};
Health judge_health(nlohmann::json& status, const HealthLimits& limits);

// `policy apply`: `send` sends one request (op, args) with the session of this run and returns its result.
struct PolicyApplyRequest {
  std::string file;
  bool dry_run = false;
  std::function<std::variant<nlohmann::json, Failure>(const std::string& op, nlohmann::json args)> send;
};
// Reads and checks the file (exit 2, every error listed, nothing sent), reads the cluster's table, and
// unless nothing differs sends the whole table as one policy.apply. The result: {"dry_run", "diff":
// {"added","removed","changed"} (prefixes), "diff_text", "index" (not on a dry run), "unchanged"}.
std::variant<nlohmann::json, Failure> policy_apply(const PolicyApplyRequest& req);
int show_policy_apply(nlohmann::json& result);
// policy.show's answer as a policy file on stdout (policy_file.h).
int show_policy_export(nlohmann::json& result);
// policy.history's "changes" as a table.
void print_history(nlohmann::json& changes);

}  // namespace raftbgp::agent::ctl
