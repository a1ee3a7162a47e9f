// Prometheus metrics (metrics.h): the status JSON of a real agent maps to named raftbgp_* families, leader
// changes are counted across publishes, and raftbgpd serves them over HTTP on metrics_listen (a real
// socket, no root needed).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "process_util.h"
#include "raftbgp/agent/agent_core.h"
#include "raftbgp/agent/metrics.h"
#include "raftbgp/transport/counter_table.h"
#include "test_util.h"

namespace raftbgp::agent::test {
namespace {

using nlohmann::json;

// GET /metrics from 127.0.0.1:port; "" if nothing answered.
std::string scrape(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[65536];
      ssize_t n;
      while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

// A port nobody listens on right now (bound to 0 and released).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool has_family(const std::vector<prometheus::MetricFamily>& fs, const std::string& name) {
  return std::any_of(fs.begin(), fs.end(), [&](const auto& f) { return f.name == name && !f.help.empty(); });
}

// Every status section of a real AgentCore shows up under its raftbgp_* name, with a help text.
TEST(Metrics, a_real_status_maps_to_named_families_with_help) {
  TempDir dir;
  write_key_file(dir.path());
  auto opened = AgentCore::open(node_config(1, dir.path()), test_keys());
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<AgentCore>>(opened)) << std::get<std::string>(opened);
  const json status = std::get<std::unique_ptr<AgentCore>>(opened)->status_json();
  const auto fs = status_to_families(status);
  for (const char* name : {"raftbgp_build_info",
                           "raftbgp_server_has_leader",
                           "raftbgp_server_term",
                           "raftbgp_server_commit_index",
                           "raftbgp_server_applied_index",
                           "raftbgp_server_apply_lag_entries",
                           "raftbgp_server_leader_id",
                           "raftbgp_server_role",
                           "raftbgp_transport_frames_sent_total",
                           "raftbgp_transport_frames_received_total",
                           "raftbgp_transport_frames_rejected_total",
                           "raftbgp_transport_queue_waiting",
                           "raftbgp_send_raft_messages_total",
                           "raftbgp_safety_exabgp_ack_stalls_total",
                           "raftbgp_snapshot_taken_total",
                           "raftbgp_server_proposals_committed_total",
                           "raftbgp_server_commit_latency_seconds",
                           "raftbgp_bgp_sessions_up",
                           "raftbgp_server_leader_lag_entries",
                           "raftbgp_server_behind_leader_seconds",
                           "raftbgp_exabgp_outstanding_commands",
                           "raftbgp_exabgp_seconds_without_ack"})
    EXPECT_TRUE(has_family(fs, name)) << name;
  EXPECT_FALSE(has_family(fs, "raftbgp_server_leader_changes_seen_total"));  // no history in one status
  // Every row of the transport's export table, with its kind and help text.
  for (const transport::CounterField& f : transport::kCounterFields) {
    const bool gauge = f.kind == transport::MetricKind::kGauge;
    const std::string name = "raftbgp_transport_" + std::string(f.name) + (gauge ? "" : "_total");
    const auto it = std::find_if(fs.begin(), fs.end(), [&](const auto& m) { return m.name == name; });
    ASSERT_NE(it, fs.end()) << name;
    EXPECT_EQ(it->help, f.help) << name;
    EXPECT_EQ(it->type, gauge ? prometheus::MetricType::Gauge : prometheus::MetricType::Counter) << name;
  }
  const std::string text = serialize_metrics(fs);
  EXPECT_NE(text.find("# TYPE raftbgp_transport_frames_rejected_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("raftbgp_server_has_leader 0"), std::string::npos) << text;
}

// A one-node cluster in `dir` that has elected itself (nullptr, and a test failure, if it could not open).
std::unique_ptr<AgentCore> single_node_leader(const TempDir& dir) {
  write_key_file(dir.path());
  AgentConfig c = node_config(1, dir.path());
  c.members = {1};
  auto opened = AgentCore::open(c, test_keys());
  if (!std::holds_alternative<std::unique_ptr<AgentCore>>(opened)) {
    ADD_FAILURE() << std::get<std::string>(opened);
    return nullptr;
  }
  std::unique_ptr<AgentCore> core = std::move(std::get<std::unique_ptr<AgentCore>>(opened));
  for (int i = 0; i < 100 && core->node().leader() == 0; ++i) core->tick();
  return core;
}

// The WAL fsync histogram: a single node that elects itself persists (term, vote, its empty entry), and
// each durable Ready is one observation, exposed as an etcd-named Prometheus histogram.
TEST(Metrics, wal_fsync_histogram_counts_each_durable_ready_with_etcd_name) {
  TempDir dir;
  std::unique_ptr<AgentCore> opened = single_node_leader(dir);
  ASSERT_TRUE(opened);
  AgentCore& core = *opened;
  const json status = core.status_json();
  ASSERT_GT(status["wal_fsync_seconds"].value("count", 0u), 0u) << status.dump();
  const std::string text = serialize_metrics(status_to_families(status));
  EXPECT_NE(text.find("# TYPE raftbgp_disk_wal_fsync_duration_seconds histogram"), std::string::npos) << text;
  EXPECT_NE(text.find("raftbgp_disk_wal_fsync_duration_seconds_bucket{le=\"+Inf\"}"), std::string::npos) << text;
  EXPECT_NE(text.find("raftbgp_disk_wal_fsync_duration_seconds_bucket{le=\"0.001\"}"), std::string::npos) << text;
}

// A client write that applies is timed once (arrival to apply) under raftbgp_server_commit_latency_seconds;
// raftbgp_server_proposals_committed_total follows the commit index.
TEST(Metrics, commit_latency_histogram_counts_each_applied_write) {
  TempDir dir;
  std::unique_ptr<AgentCore> opened = single_node_leader(dir);
  ASSERT_TRUE(opened);
  AgentCore& core = *opened;
  EXPECT_EQ(core.status_json()["commit_latency_seconds"].value("count", 1u), 0u);
  ClientRequest req;
  req.op = "kv.put";
  req.args = json{{"key", "k"}, {"value", "v"}};
  req.client_id = "c";
  req.seq = 1;
  bool ok = false;
  core.on_client_request(std::move(req), [&](ClientResponse r) { ok = r.ok; });
  for (int i = 0; i < 10 && !ok; ++i) core.tick();
  ASSERT_TRUE(ok);
  const json status = core.status_json();
  EXPECT_EQ(status["commit_latency_seconds"].value("count", 0u), 1u) << status.dump();
  const std::string text = serialize_metrics(status_to_families(status));
  EXPECT_NE(text.find("raftbgp_server_commit_latency_seconds_count 1"), std::string::npos) << text;
  EXPECT_NE(text.find("raftbgp_server_proposals_committed_total " + status["commit"].dump()), std::string::npos)
      << text;
}

// The names a metrics exposition defines: every sample line's name (histograms' _bucket/_sum/_count included).
std::set<std::string> exposed_names(const std::string& text) {
  std::set<std::string> names;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line[0] != '#') names.insert(line.substr(0, line.find_first_of("{ ")));
  return names;
}

// configs/grafana/raftbgp-dashboard.json: every raftbgp_* name in its PromQL (panels and template variables)
// is one a real agent exports: the exposition of a one-node cluster after a write, with the leader-change
// counter raftbgpd adds (StatusMetrics). A renamed metric breaks this test, not the operator's dashboard.
TEST(Metrics, grafana_dashboard_queries_only_metrics_the_agent_exports) {
  std::ifstream in(std::string(RAFTBGP_CONFIGS_DIR) + "/grafana/raftbgp-dashboard.json");
  ASSERT_TRUE(in) << "configs/grafana/raftbgp-dashboard.json";
  const json dash = json::parse(in, nullptr, false);
  ASSERT_FALSE(dash.is_discarded()) << "the dashboard is not JSON";
  TempDir dir;
  std::unique_ptr<AgentCore> core = single_node_leader(dir);
  ASSERT_TRUE(core);
  ClientRequest req;
  req.op = "kv.put";
  req.args = json{{"key", "k"}, {"value", "v"}};
  req.client_id = "c";
  req.seq = 1;
  core->on_client_request(std::move(req), [](ClientResponse) {});
  for (int i = 0; i < 10; ++i) core->tick();
  const std::set<std::string> exported =
      exposed_names(serialize_metrics(status_to_families(core->status_json(), /*leader_changes=*/1)));
  ASSERT_TRUE(exported.count("raftbgp_server_commit_latency_seconds_bucket"));
  std::vector<std::string> queries;
  for (const json& p : dash.at("panels"))
    for (const json& t : p.at("targets")) queries.push_back(t.at("expr").get<std::string>());
  for (const json& v : dash.at("templating").at("list"))
    if (v.at("type") == json("query")) queries.push_back(v.at("query").get<std::string>());
  ASSERT_GE(queries.size(), 15u);
  const std::regex metric("raftbgp_[a-z0-9_]+");
  std::set<std::string> used;
  for (const std::string& q : queries)
    for (auto it = std::sregex_iterator(q.begin(), q.end(), metric); it != std::sregex_iterator(); ++it)
      used.insert(it->str());
  for (const std::string& name : used) EXPECT_TRUE(exported.count(name)) << name << " is not exported";
  // The panels the dashboard promises (docs/operator-guide.md): each needs its metric.
  for (const char* name : {"raftbgp_server_leader_id", "raftbgp_server_term", "raftbgp_server_apply_lag_entries",
                           "raftbgp_server_proposals_committed_total", "raftbgp_server_commit_latency_seconds_bucket",
                           "raftbgp_disk_wal_fsync_duration_seconds_bucket", "raftbgp_transport_frames_rejected_total",
                           "raftbgp_exabgp_outstanding_commands", "raftbgp_bgp_sessions_up"})
    EXPECT_TRUE(used.count(name)) << name << " has no panel";
}

// Every new known leader counts, the first included (etcd's meaning); losing the leader, or the same
// leader coming back after a gap, does not. Nothing is exported before the first publish.
TEST(Metrics, leader_changes_are_counted_across_publishes) {
  StatusMetrics m;
  EXPECT_TRUE(m.Collect().empty());
  auto changes = [&] {
    for (const auto& f : m.Collect())
      if (f.name == "raftbgp_server_leader_changes_seen_total") return f.metric.at(0).counter.value;
    return -1.0;
  };
  for (int leader : {0, 2, 2, 0, 2, 3, 0, 1}) m.publish(json{{"leader", leader}, {"node_id", 1}});
  EXPECT_EQ(changes(), 3.0);  // 2, 3, 1
}

// raftbgpd with metrics_listen serves /metrics over HTTP with the named metrics, and a second daemon on
// the same address refuses to start (exit 1) instead of running without them.
TEST(Metrics, raftbgpd_serves_metrics_on_metrics_listen) {
  TempDir dir;
  write_key_file(dir.path());
  const int port = free_port();
  std::ostringstream c;
  c << "node_id: 1\ncluster_id: 7\nmembers: [1, 2, 3]\ndata_dir: " << dir.path() << "/n1\nkey_file: " << dir.path()
    << "/cluster.keys\ncontrol_socket: { path: " << dir.path() << "/ctl.sock }\nnext_hop: { ipv6: \"fd00::1\" }\n"
    << "tick_ms: 10\nelection_ticks: 5\nlog_level: warn\nmetrics_listen: \"127.0.0.1:" << port << "\"\n";
  const std::string config = dir.path() + "/n1.yaml";
  std::ofstream(config) << c.str();
  int in[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  Spawn s;
  s.argv = {RAFTBGPD_BIN, "--config", config};
  const pid_t pid = spawn_child(s, in[0], null, null);
  ::close(in[0]);
  ::close(null);
  ASSERT_TRUE(wait_for_socket(dir.path() + "/ctl.sock", 10000));
  std::string page;
  for (int i = 0; i < 100 && page.find("raftbgp_server_term") == std::string::npos; ++i) {
    page = scrape(port);
    if (page.find("raftbgp_server_term") == std::string::npos)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(page.find("200 OK"), std::string::npos) << page;
  for (const char* name :
       {"# HELP raftbgp_server_has_leader ", "raftbgp_server_term ", "raftbgp_server_leader_changes_seen_total ",
        "raftbgp_transport_frames_sent_total ", "raftbgp_server_role{role=\"", "raftbgp_build_info{"})
    EXPECT_NE(page.find(name), std::string::npos) << name << "\n" << page;

  std::string second = c.str();
  second.replace(second.find("ctl.sock"), 8, "ctl2.sock");
  second.replace(second.find("/n1\n"), 4, "/n2\n");
  const std::string config2 = dir.path() + "/n1b.yaml";
  std::ofstream(config2) << second;
  Spawn s2;
  s2.argv = {RAFTBGPD_BIN, "--config", config2};
  const Exit e2 = run_process(s2);
  EXPECT_EQ(e2.code(), 1) << e2.err;
  EXPECT_NE(e2.err.find("metrics_listen"), std::string::npos) << e2.err;

  ::close(in[1]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
}  // namespace raftbgp::agent::test
