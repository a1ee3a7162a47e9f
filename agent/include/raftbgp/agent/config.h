// raftbgpd's configuration: one YAML file per node (docs/architecture.md §4). The example in
// configs/raftbgpd.example.yaml documents every key; the unit tests parse it, so it cannot drift.
//
// Validation happens in two steps, both returning a ConfigError that names the field and says why:
//   parse_config()      the text alone: types, ranges, cross-field rules (node_id in members, next hop of
//                       the mailbox family, heartbeat < election...). Unknown keys are errors (a typo must
//                       not silently fall back to a default).
//   check_environment() what the text points at: the key file loads (mode 0600) and holds active_key_id.
// validate_config() is parse_config() that keeps going: it lists every error it finds (with its line) and
// warnings (an even voter count). Duplicate keys are errors (yaml-cpp would keep the first silently).
// `raftbgpd --check-config FILE` runs both steps and prints "FILE:LINE: error: <field>: <why>" for each
// error and "FILE:LINE: warning: ..." for each warning; exit 0 with warnings only, 2 with any error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "raftbgp/agent/log.h"
#include "raftbgp/agent/policy.h"
#include "raftbgp/agent/quiescence.h"
#include "raftbgp/transport/crypto.h"
#include "raftbgp/transport/mailbox.h"

namespace raftbgp::agent {

inline constexpr const char* kDefaultConfigPath = "/etc/raftbgp/raftbgpd.yaml";
inline constexpr const char* kDefaultSocketPath = "/run/raftbgp/raftbgpd.sock";

struct AgentConfig {
  std::uint64_t node_id = 0;     // 1..max node id of the mailbox layouts; in members
  std::uint32_t cluster_id = 0;  // 1..2^32-1; frames of other clusters are rejected
  // The bootstrap configuration (Raft Config.voters): the initial voters, sorted, unique, identical on
  // every node, including routers added later. This node is in it unless `joining`.
  std::vector<std::uint64_t> members;
  // The bootstrap learners (Raft Config.learners): non-voting members from the start, sorted, unique,
  // disjoint from `members`, identical on every node like `members` (a cluster of 5 voters and 27 learners
  // forms without 27 `members add --learner`). Empty by default.
  std::vector<std::uint64_t> learners;
  // true: this node is in neither `members` nor `learners`; it starts as a non-member (neither votes nor campaigns) and
  // joins when an operator adds it (raftbgpctl members add). Guards against a typo in node_id.
  bool joining = false;
  std::string data_dir;                          // absolute; WAL, boot counter, announced-routes record
  std::string socket_path = kDefaultSocketPath;  // absolute, < 108 bytes (sun_path)
  std::uint32_t socket_mode = 0660;              // permission bits of the control socket; never o+w
  std::uint64_t socket_idle_timeout_ms = 60000;  // a control connection with nothing in flight is closed
                                                 // after this long without traffic (control_server.h)
  std::string key_file;                          // absolute; format in crypto.h, mode 0600
  std::uint32_t active_key_id = 1;
  transport::Family mailbox_family = transport::Family::kIpv6;  // family of the mailboxes we announce
  transport::MailboxLayout mailbox_ipv6 = transport::MailboxLayout::default_ipv6();
  transport::MailboxLayout mailbox_ipv4 = transport::MailboxLayout::default_ipv4();
  // Mailbox slots (transport.h "Slots"): reuse a slot no sooner than this after ExaBGP took its last announcement
  // (longer than the transits' per-prefix coalescing on the path: FRR ~50 ms per hop), withdraw it this long after.
  std::uint64_t slot_reuse_ticks = 2;
  std::uint64_t slot_ttl_ticks = 10;
  std::uint8_t attribute_code = 0xff;  // never 0xfe (BIRD), docs/exabgp.md §1.8
  std::size_t payload_budget = 2900;   // attribute bytes per announcement (BIRD's 3040 with margin)
  // YAML `compression: deflate | off`: compress messages that shrink and send them as frame v3 (deflate.h). off
  // keeps every frame v2 so that nodes of an older release can open them (rolling upgrade, operator guide).
  bool compression = true;
  std::string next_hop_ipv4 = "self";  // "self" or an IPv4 address
  std::string next_hop_ipv6;           // explicit IPv6 address; required for an IPv6 mailbox
  Neighbors neighbor;                  // per family; "" = all peers; else commands get "neighbor <ip> "
  std::uint32_t local_asn = 0;         // 0 = unknown (AS-path prepend then refused by this node)
  std::uint32_t tick_ms = 100;
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  LogLevel log_level = LogLevel::kInfo;
  // Log compaction (Raft §7): snapshot the state machine once the log applied since the last snapshot
  // holds at least this many entries, or this many bytes of entries (bytes are counted since the last
  // snapshot or start, whichever is later). `raftbgpctl snapshot` compacts on demand.
  std::uint64_t snapshot_log_entries = 10000;
  std::uint64_t snapshot_log_bytes = std::uint64_t{8} << 20;
  // Flight recorder (YAML `recorder:`, recorder.h): record every Raft input and Ready to
  // <data_dir>/recorder.rec, at most recorder_max_bytes (the recording stops there).
  bool recorder_on = false;
  // recorder.mode on-demand: nothing is recorded until `raftbgpctl debug record start` (AgentCore::record).
  bool recorder_on_demand = false;
  std::uint64_t recorder_max_bytes = std::uint64_t{256} << 20;
  // Quiet when idle (YAML `quiesce:`, quiescence.h): an idle leader stops heartbeating.
  QuiesceSettings quiesce;
  // What this router refuses to announce (YAML `guards:`; policy.h RouteGuards has the defaults).
  RouteGuards guards;
  // "ADDRESS:PORT" of the Prometheus exposer (metrics.h); "" (the default) runs none. Meant for
  // localhost or a management address: the page is unauthenticated.
  std::string metrics_listen;
};

struct ConfigError {
  std::string field;    // dotted path, e.g. "mailbox.ipv6.base"
  std::string message;  // why, in one line
  int line = 0;         // 1-based line in the YAML text it concerns; 0 when unknown (validate_config only)
  std::string to_string() const { return field + ": " + message; }
};

// Everything validate_config found: `config` is set only when `errors` is empty.
struct ConfigReport {
  std::optional<AgentConfig> config;
  std::vector<ConfigError> errors;
  std::vector<ConfigError> warnings;
};

// Parses and validates YAML text, collecting every error and warning. Never throws.
ConfigReport validate_config(std::string_view yaml_text);
// validate_config's first error, or the config. Never throws.
std::variant<AgentConfig, ConfigError> parse_config(std::string_view yaml_text);
// Reads `path` and parses it; a read failure is reported under field "(file)".
std::variant<AgentConfig, ConfigError> load_config(const std::string& path);
// Loads the key ring named by the config and checks active_key_id is in it.
std::variant<transport::KeyRing, ConfigError> check_environment(const AgentConfig& config);

}  // namespace raftbgp::agent
