#include "raftbgp/agent/metrics.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <limits>
#include <sstream>

#include "raftbgp/agent/version.h"
#include "raftbgp/transport/counter_table.h"

namespace raftbgp::agent {
namespace {

using nlohmann::json;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// Appends families to `out`; a value that is missing or not a number is skipped (a scrape never fails
// because one field is absent).
class Builder {
 public:
  explicit Builder(std::vector<MetricFamily>& out) : out_(out) {}

  void gauge(const std::string& name, const std::string& help, const json& v) { one(name, help, MetricType::Gauge, v); }
  void counter(const std::string& name, const std::string& help, const json& v) {
    one(name, help, MetricType::Counter, v);
  }
  // One family with a `label` per key of the object `values` (e.g. rejected frames by reason).
  void labelled(const std::string& name, const std::string& help, MetricType type, const std::string& label,
                const json& values) {
    if (!values.is_object()) return;
    MetricFamily f{name, help, type, {}};
    for (const auto& [key, v] : values.items())
      if (v.is_number()) f.metric.push_back(metric(type, v.get<double>(), {{label, key}}));
    if (!f.metric.empty()) out_.push_back(std::move(f));
  }

 private:
  static ClientMetric metric(MetricType type, double value, std::vector<ClientMetric::Label> labels = {}) {
    ClientMetric m;
    m.label = std::move(labels);
    if (type == MetricType::Counter)
      m.counter.value = value;
    else
      m.gauge.value = value;
    return m;
  }
  void one(const std::string& name, const std::string& help, MetricType type, const json& v) {
    if (v.is_boolean()) return out_.push_back({name, help, type, {metric(type, v.get<bool>() ? 1 : 0)}});
    if (!v.is_number()) return;
    out_.push_back({name, help, type, {metric(type, v.get<double>())}});
  }
  std::vector<MetricFamily>& out_;
};

const json& at(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

// The transport counters: names, kinds and help texts from bgp-transport's export table
// (counter_table.h), values from the status JSON's "transport" object, which agent_status.cc renders from
// the same table (so every row has its key there).
void transport_families(Builder& b, const json& t) {
  for (const transport::CounterField& f : transport::kCounterFields) {
    const std::string name(f.name), help(f.help);
    if (f.kind == transport::MetricKind::kGauge)
      b.gauge("raftbgp_transport_" + name, help, at(t, name.c_str()));
    else
      b.counter("raftbgp_transport_" + name + "_total", help, at(t, name.c_str()));
  }
  b.labelled("raftbgp_transport_frames_rejected_total", std::string(transport::kRejectedHelp), MetricType::Counter,
             "reason", at(t, std::string(transport::kRejectedName).c_str()));
  b.labelled("raftbgp_transport_line_errors_total", std::string(transport::kLineErrorsHelp), MetricType::Counter,
             "reason", at(t, std::string(transport::kLineErrorsName).c_str()));
}

std::uint64_t count(const json& v) { return v.is_array() ? v.size() : 0; }

// A LatencyHistogram's JSON (latency_histogram.h) as a Prometheus histogram; skipped when malformed.
void histogram(std::vector<MetricFamily>& out, const std::string& name, const std::string& help, const json& h) {
  const json &bounds = at(h, "bounds"), &counts = at(h, "counts");
  if (!bounds.is_array() || !counts.is_array() || bounds.size() != counts.size() || !at(h, "count").is_number() ||
      !at(h, "sum").is_number())
    return;
  ClientMetric m;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!bounds[i].is_number() || !counts[i].is_number()) return;
    m.histogram.bucket.push_back({counts[i].get<std::uint64_t>(), bounds[i].get<double>()});
  }
  m.histogram.bucket.push_back({at(h, "count").get<std::uint64_t>(), std::numeric_limits<double>::infinity()});
  m.histogram.sample_count = at(h, "count").get<std::uint64_t>();
  m.histogram.sample_sum = at(h, "sum").get<double>();
  out.push_back({name, help, MetricType::Histogram, {m}});
}

// The status "latency_model" object (latency_model.h): fsync, apply and leaderless histograms, and per peer the
// AppendEntries / heartbeat / vote round trips as one family each with a `peer` label.
void model_families(std::vector<MetricFamily>& out, Builder& b, const json& m) {
  histogram(out, "raftbgp_model_fsync_duration_seconds", "Latency model: one Ready made durable (WAL append + fsync)",
            at(m, "fsync_seconds"));
  histogram(out, "raftbgp_model_apply_duration_seconds",
            "Latency model: the committed entries of one Ready applied to the state machine", at(m, "apply_seconds"));
  const json& el = at(m, "elections");
  histogram(out, "raftbgp_model_leaderless_seconds",
            "Latency model: time this node knew no leader, each time it lost one", at(el, "leaderless_seconds"));
  b.counter("raftbgp_model_campaigns_total", "Elections (pre-vote included) this node started", at(el, "campaigns"));
  b.counter("raftbgp_model_elections_won_total", "Elections this node won", at(el, "won"));
  const json& peers = at(m, "peers");
  if (!peers.is_object()) return;
  const struct {
    const char* key;
    const char* name;
    const char* help;
  } kinds[] = {
      {"append_rtt_seconds", "raftbgp_model_append_rtt_seconds",
       "Latency model: AppendEntries sent -> the peer's acknowledgement of its last entry received"},
      {"heartbeat_rtt_seconds", "raftbgp_model_heartbeat_rtt_seconds",
       "Latency model: heartbeat sent -> the peer's answer received (no fsync on the way)"},
      {"vote_rtt_seconds", "raftbgp_model_vote_rtt_seconds", "Latency model: (pre-)vote request -> the peer's answer"},
  };
  for (const auto& k : kinds) {
    MetricFamily f{k.name, k.help, MetricType::Histogram, {}};
    for (const auto& [peer, p] : peers.items()) {
      std::vector<MetricFamily> one;
      histogram(one, k.name, k.help, at(p, k.key));
      if (one.empty() || at(at(p, k.key), "count") == 0) continue;
      one[0].metric[0].label = {{"peer", peer}};
      f.metric.push_back(std::move(one[0].metric[0]));
    }
    if (!f.metric.empty()) out.push_back(std::move(f));
  }
}

json seconds(const json& ms) { return ms.is_number() ? json(ms.get<double>() / 1000.0) : json(); }

// The status "health" object (health_signals.h): BGP sessions and this node's lag behind the leader.
void health_families(Builder& b, const json& h) {
  b.gauge("raftbgp_bgp_sessions_up", "BGP sessions of this node's ExaBGP that are established",
          at(h, "bgp_sessions_up"));
  b.gauge("raftbgp_server_leader_commit_index", "Highest commit index the leader reported to this node",
          at(h, "leader_commit"));
  b.gauge("raftbgp_server_leader_lag_entries", "Entries the leader committed that this node has not applied",
          at(h, "lag_entries"));
  b.gauge("raftbgp_server_behind_leader_seconds", "Seconds this node's applied index has trailed the leader's commit",
          seconds(at(h, "behind_ms")));
}

}  // namespace

std::vector<MetricFamily> status_to_families(const json& s, std::int64_t leader_changes) {
  std::vector<MetricFamily> out;
  Builder b(out);
  {
    ClientMetric info;
    info.label = {{"version", kProjectVersion}, {"revision", kGitRevision}};
    info.gauge.value = 1;
    out.push_back(
        {"raftbgp_build_info", "Version and git revision of the exporting binary", MetricType::Gauge, {info}});
  }
  const json& leader = at(s, "leader");
  if (leader.is_number()) {
    b.gauge("raftbgp_server_has_leader", "1 when this node knows a leader, else 0", leader.get<std::uint64_t>() != 0);
    b.gauge("raftbgp_server_is_leader", "1 when this node is the leader",
            leader.get<std::uint64_t>() != 0 && leader == at(s, "node_id"));
  }
  b.gauge("raftbgp_server_leader_id", "Node id of the known leader (0: none)", leader);
  b.gauge("raftbgp_server_id", "This node's id", at(s, "node_id"));
  b.gauge("raftbgp_server_term", "Current Raft term", at(s, "term"));
  if (at(s, "role").is_string()) {
    ClientMetric role;
    role.label = {{"role", at(s, "role").get<std::string>()}};
    role.gauge.value = 1;
    out.push_back({"raftbgp_server_role", "1 for this node's current Raft role", MetricType::Gauge, {role}});
  }
  if (leader_changes >= 0)
    b.counter("raftbgp_server_leader_changes_seen_total", "Leader changes seen by this node since it started",
              leader_changes);
  b.gauge("raftbgp_server_commit_index", "Highest log index known committed", at(s, "commit"));
  b.gauge("raftbgp_server_applied_index", "Highest log index applied to the state machine", at(s, "applied"));
  if (at(s, "commit").is_number() && at(s, "applied").is_number()) {
    const auto c = at(s, "commit").get<std::uint64_t>(), a = at(s, "applied").get<std::uint64_t>();
    b.gauge("raftbgp_server_apply_lag_entries", "Committed entries not yet applied (commit - applied)",
            c > a ? c - a : 0);
  }
  b.counter("raftbgp_server_proposals_committed_total",
            "Log entries committed (the commit index, as etcd's; it never decreases, not even across restarts)",
            at(s, "commit"));
  health_families(b, at(s, "health"));
  b.gauge("raftbgp_server_first_index", "First log index kept (after compaction)", at(s, "first_index"));
  b.gauge("raftbgp_server_last_index", "Last log index", at(s, "last_index"));
  b.gauge("raftbgp_server_voters", "Voters in the configuration", count(at(s, "voters")));
  b.gauge("raftbgp_server_learners", "Learners in the configuration", count(at(s, "learners")));
  const json& snap = at(s, "snapshot");
  b.gauge("raftbgp_snapshot_last_index", "Log index of the latest snapshot", at(snap, "last_index"));
  b.counter("raftbgp_snapshot_taken_total", "Snapshots taken by this node", at(snap, "taken"));
  b.counter("raftbgp_snapshot_installed_total", "Snapshots installed from the leader", at(snap, "installed"));
  b.gauge("raftbgp_snapshot_log_bytes_since", "Log bytes since the last snapshot", at(snap, "bytes_since"));
  transport_families(b, at(s, "transport"));
  histogram(out, "raftbgp_disk_wal_fsync_duration_seconds",
            "Time to make one Raft Ready durable (WAL append and fsync, snapshot files)", at(s, "wal_fsync_seconds"));
  histogram(out, "raftbgp_server_commit_latency_seconds",
            "Time from a client write reaching this node to its apply here (forward, replication, commit, apply)",
            at(s, "commit_latency_seconds"));
  model_families(out, b, at(s, "latency_model"));
  const json& send = at(s, "send");
  b.counter("raftbgp_send_raft_messages_total", "Raft messages handed to the transport (one per destination)",
            at(send, "raft_messages"));
  b.counter("raftbgp_send_transport_sends_total", "Transport sends that carried them", at(send, "transport_sends"));
  b.counter("raftbgp_send_acks_coalesced_total",
            "Acknowledgements not sent because a later one of the same Ready, or held by this learner, superseded them",
            at(send, "acks_coalesced"));
  b.counter("raftbgp_send_acks_held_total",
            "Acknowledgements and plain heartbeat answers this learner held back to pace its answers",
            at(send, "acks_held"));
  b.gauge("raftbgp_send_messages_per_send", "Raft messages per transport send (the broadcast saving)",
          at(send, "messages_per_send"));
  const json& exabgp = at(s, "exabgp");
  b.gauge("raftbgp_exabgp_outstanding_commands", "Commands written to ExaBGP and not yet acknowledged",
          at(exabgp, "outstanding"));
  b.gauge("raftbgp_exabgp_waiting_commands", "Policy commands waiting behind the ExaBGP command window",
          at(exabgp, "agent_waiting"));
  b.gauge("raftbgp_exabgp_seconds_without_ack", "Seconds ExaBGP has left outstanding commands unacknowledged",
          seconds(at(exabgp, "ms_without_ack")));
  const json& safety = at(s, "safety");
  b.counter("raftbgp_safety_forwards_stale_term_total", "Forwarded requests dropped for a stale term",
            at(safety, "forwards_stale_term"));
  b.counter("raftbgp_safety_exabgp_lines_refused_unsafe_total", "ExaBGP command lines refused as unsafe",
            at(safety, "exabgp_lines_refused_unsafe"));
  b.counter("raftbgp_safety_exabgp_ack_stalls_total", "Times ExaBGP stopped acknowledging commands",
            at(safety, "exabgp_ack_stalls"));
  b.gauge("raftbgp_safety_route_problems", "Policy routes this node could not announce", at(safety, "route_problems"));
  b.counter("raftbgp_safety_routes_refused_by_guards_total", "Routes refused by this node's guards",
            at(safety, "routes_refused_by_guards"));
  return out;
}

std::string serialize_metrics(const std::vector<MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

void StatusMetrics::publish(json status) {
  std::uint64_t leader = 0;
  if (status.is_object() && status["leader"].is_number()) leader = status["leader"].get<std::uint64_t>();
  // Every new known leader counts, the first one included (as etcd's leader_changes_seen); losing the
  // leader alone does not, nor does the same leader coming back after a gap.
  const bool changed = leader != 0 && leader != last_leader_;
  if (leader != 0) last_leader_ = leader;
  std::lock_guard<std::mutex> lock(mu_);
  status_ = std::move(status);
  if (changed) ++leader_changes_;
}

std::vector<MetricFamily> StatusMetrics::Collect() const {
  json copy;
  std::int64_t changes = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (status_.is_null()) return {};
    copy = status_;
    changes = leader_changes_;
  }
  return status_to_families(copy, changes);
}

}  // namespace raftbgp::agent
