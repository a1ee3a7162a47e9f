// Prometheus metrics of one agent (names raftbgp_*, etcd's where the meaning matches), built from its
// status JSON (AgentCore::status_json, the same numbers `raftbgpctl status` shows):
//   status_to_families()  the pure mapping status JSON -> metric families; `raftbgpctl metrics` prints it
//                         in the text format for node_exporter's textfile collector
//   StatusMetrics         a prometheus::Collectable holding the latest published status
//   MetricsExposer        prometheus-cpp's embedded HTTP server (pull) on `metrics_listen`, serving /metrics
//
// Threads. The agent is ONE Asio thread and AgentCore is never touched from another one. The exposer's
// HTTP threads call StatusMetrics::Collect() at scrape time, so they never see AgentCore: the agent loop
// calls publish(core.status_json()) every tick, which stores a copy of the JSON under a mutex; Collect()
// copies it out under the same mutex and converts the copy without holding it. A scrape therefore shows
// the state of at most one tick ago, and a slow scrape never blocks the agent for longer than one JSON
// copy. publish() also counts leader changes (raftbgp_server_leader_changes_seen_total), which the
// status alone cannot show.
//
// Transport counters: every row of bgp-transport's export table (counter_table.h) becomes
// raftbgp_transport_<name>_total (a counter) or raftbgp_transport_<name> (a gauge) with the table's help
// text, its value read from the published status JSON; `rejected` and `line_errors` become
// raftbgp_transport_frames_rejected_total{reason} and raftbgp_transport_line_errors_total{reason}.
//
// Health signals (the status "health" and "exabgp" objects: health_signals.h, `raftbgpctl health`):
// raftbgp_bgp_sessions_up, raftbgp_server_leader_commit_index, raftbgp_server_leader_lag_entries,
// raftbgp_server_behind_leader_seconds, raftbgp_exabgp_{outstanding,waiting}_commands and
// raftbgp_exabgp_seconds_without_ack. raftbgp_server_proposals_committed_total is the commit index (etcd's
// meaning); raftbgp_server_commit_latency_seconds times a client write from its arrival to its apply here.
// configs/grafana/raftbgp-dashboard.json uses only names exported here (metrics_test.cc checks it).
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>
#include <vector>

namespace prometheus {
class Exposer;
}

namespace raftbgp::agent {

// The metric families for one status JSON. leader_changes < 0 leaves out the leader-change counter (a
// single status has no history: `raftbgpctl metrics`). Missing or wrong-typed fields are skipped.
std::vector<prometheus::MetricFamily> status_to_families(const nlohmann::json& status,
                                                         std::int64_t leader_changes = -1);

// Prometheus text exposition format (version 0.0.4) of `families`.
std::string serialize_metrics(const std::vector<prometheus::MetricFamily>& families);

class StatusMetrics : public prometheus::Collectable {
 public:
  // Agent thread only. Stores a copy of `status` for the next scrape.
  void publish(nlohmann::json status);
  // Any thread (the exposer's). Empty until the first publish.
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  mutable std::mutex mu_;
  nlohmann::json status_;            // guarded by mu_
  std::int64_t leader_changes_ = 0;  // guarded by mu_
  std::uint64_t last_leader_ = 0;    // agent thread only: the last known (non-zero) leader
};

// The HTTP endpoint: GET /metrics on `listen` ("ADDRESS:PORT", config.h metrics_listen). Serves
// `metrics` until destroyed; `metrics` must outlive it.
class MetricsExposer {
 public:
  // The exposer, or why it could not listen (address in use, not local).
  static std::variant<std::unique_ptr<MetricsExposer>, std::string> start(const std::string& listen,
                                                                          std::shared_ptr<StatusMetrics> metrics);
  ~MetricsExposer();
  // The port actually bound (useful with port 0 in tests).
  int port() const;

 private:
  MetricsExposer() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace raftbgp::agent
