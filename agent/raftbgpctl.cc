// raftbgpctl: the operator's CLI for raftbgpd's control socket (protocol: agent/include/raftbgp/agent/
// control.h; README "Agent"). Habits of birdc / vtysh / gobgp: compact tables, --json for scripts,
// a one-line reason and a meaningful exit code on failure.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "raftbgp/agent/config.h"
#include "raftbgp/agent/control.h"
#include "raftbgp/agent/keygen.h"
#include "raftbgp/agent/log.h"
#include "raftbgp/agent/version.h"

namespace {

using nlohmann::json;
using namespace raftbgp::agent;

constexpr int kExitOk = 0, kExitUsage = 2, kExitNotFound = 3, kExitNotApplied = 4, kExitUnknown = 5;

constexpr const char* kFooter =
    "Exit codes: 0 ok; 1 keygen could not write the file; 2 usage or config error; 3 not found; 4 definitely\n"
    "not applied (rejected, no leader known before anything was sent, another membership change pending,\n"
    "leader not ready); 5 outcome unknown (timed out after sending, or an unreadable or over-16-MiB answer:\n"
    "retry with the same --client-id and --seq to apply at most once; transfer-leader: the target did not\n"
    "take over in time; session_expired: that --client-id has no session any more, so the outcome of the\n"
    "seq is unknown and a retry cannot be made safe: start a new --client-id at --seq 1). Human output shows\n"
    "control characters in server strings as \\xNN; --json is exact.";

struct Reply {
  int exit_code = kExitOk;
  json response;
};

long long ms_left(std::chrono::steady_clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
}

// A hostile or broken socket could send bytes without end: an answer line longer than this (no agent
// reply comes near it; kv.list and debug.dump of a large store stay well below) is given up.
constexpr std::size_t kMaxReplyBytes = 16 * 1024 * 1024;

// Connects to the socket; -1 (reason printed, exit code in `rc`) when nothing could be sent.
int connect_socket(const std::string& socket_path, int& rc) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path) {
    std::fprintf(stderr, "raftbgpctl: bad socket path %s (empty, or %zu bytes or longer)\n",
                 printable(socket_path).c_str(), sizeof addr.sun_path);
    rc = kExitUsage;
    return -1;
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::fprintf(stderr, "raftbgpctl: socket: %s (nothing was sent)\n", std::strerror(errno));
    rc = kExitNotApplied;
    return -1;
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::fprintf(stderr, "raftbgpctl: cannot connect to %s: %s (nothing was sent)\n", printable(socket_path).c_str(),
                 std::strerror(errno));
    ::close(fd);
    rc = kExitNotApplied;
    return -1;
  }
  return fd;
}

// Reads one line (without '\n') until the deadline; the exit code on failure (reason printed).
int read_line(int fd, std::chrono::steady_clock::time_point deadline, std::uint64_t timeout_ms, std::string& line) {
  std::string buf;
  char chunk[65536];
  while (buf.find('\n') == std::string::npos) {
    if (buf.size() > kMaxReplyBytes) {
      std::fprintf(stderr, "raftbgpctl: answer over %zu MiB without a newline; not the agent? (outcome unknown)\n",
                   kMaxReplyBytes >> 20);
      return kExitUnknown;
    }
    const long long left = ms_left(deadline);
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) {
      std::fprintf(stderr, "raftbgpctl: no answer within %llu ms (outcome unknown)\n",
                   static_cast<unsigned long long>(timeout_ms));
      return kExitUnknown;
    }
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) {
      std::fprintf(stderr, "raftbgpctl: the agent closed the connection (outcome unknown)\n");
      return kExitUnknown;
    }
    buf.append(chunk, static_cast<std::size_t>(n));
  }
  line = buf.substr(0, buf.find('\n'));
  return kExitOk;
}

// The exit code for an error reply (the error codes of agent_core.h's ClientResponse).
int exit_code_for(const std::string& code) {
  if (code == "bad_request") return kExitUsage;
  if (code == "not_found") return kExitNotFound;
  if (code == "no_leader" || code == "not_leader" || code == "rejected" || code == "stale_sequence" ||
      code == "too_large" || code == "conf_change_pending" || code == "not_ready")
    return kExitNotApplied;
  return kExitUnknown;
}

// Sends one request line and waits for its response line. Nothing sent -> exit 4; sent, no answer -> 5.
Reply call(const std::string& socket_path, const json& request, std::uint64_t timeout_ms) {
  int rc = kExitOk;
  const int fd = connect_socket(socket_path, rc);
  if (fd < 0) return {rc, {}};
  const std::string line = dump_json(request) + "\n";
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    std::fprintf(stderr, "raftbgpctl: send failed: %s (outcome unknown)\n", std::strerror(errno));
    ::close(fd);
    return {kExitUnknown, {}};
  }
  // The agent answers `timeout` itself at timeout_ms; the extra second covers its tick granularity.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms + 1000);
  std::string answer;
  rc = read_line(fd, deadline, timeout_ms, answer);
  ::close(fd);
  if (rc != kExitOk) return {rc, {}};
  json resp = json::parse(answer, nullptr, false);
  if (resp.is_discarded() || !resp.is_object() || !resp.contains("ok") || !resp["ok"].is_boolean() ||
      (!resp["ok"].get<bool>() && !resp["error"].is_object())) {
    std::fprintf(stderr, "raftbgpctl: unreadable answer from the agent (outcome unknown)\n");
    return {kExitUnknown, {}};
  }
  if (resp["ok"].get<bool>()) return {kExitOk, resp};
  json& err = resp["error"];
  const std::string code = err["code"].is_string() ? err["code"].get<std::string>() : "";
  const std::string message = err["message"].is_string() ? err["message"].get<std::string>() : "";
  std::fprintf(stderr, "raftbgpctl: %s: %s\n", printable(code).c_str(), printable(message).c_str());
  return {exit_code_for(code), resp};
}

std::string default_socket() {
  auto cfg = load_config(kDefaultConfigPath);
  if (auto* c = std::get_if<AgentConfig>(&cfg)) return c->socket_path;
  return kDefaultSocketPath;
}

std::string default_client_id() {
  char host[64] = "host";
  ::gethostname(host, sizeof host - 1);
  std::random_device rd;
  std::ostringstream s;
  s << "ctl-" << host << "-" << ::getpid() << "-" << std::hex << rd();
  return s.str();
}

// One value for human output; strings are made printable. (Non-const json everywhere below: operator[]
// of a const json on a missing key is undefined behaviour; the non-const one inserts null, shown "-".)
std::string cell(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return printable(v.get<std::string>());
  return printable(v.dump());
}

void print_members(json& s);
void print_transport(json& s);

void print_status(json& s) {
  std::printf("node %s  cluster %s  role %s  term %s  leader %s\n", cell(s["node_id"]).c_str(),
              cell(s["cluster_id"]).c_str(), cell(s["role"]).c_str(), cell(s["term"]).c_str(),
              cell(s["leader"]).c_str());
  std::printf("commit %s  applied %s  log %s..%s  epoch %s\n", cell(s["commit"]).c_str(), cell(s["applied"]).c_str(),
              cell(s["first_index"]).c_str(), cell(s["last_index"]).c_str(), cell(s["epoch"]).c_str());
  json& snap = s["snapshot"];
  std::printf("snapshot last %s  taken %s  installed %s  transfers %zu\n\n", cell(snap["last_index"]).c_str(),
              cell(snap["taken"]).c_str(), cell(snap["installed"]).c_str(), snap["transfers"].size());
  print_members(s);
  print_transport(s);
}

void print_members(json& s) {
  std::printf("%-8s %-8s %-10s %-10s %-8s %s\n", "Member", "Role", "Match", "State", "Contact", "Info");
  for (json& m : s["members"]) {
    std::string info = m["id"] == s["node_id"] ? "self" : "";
    if (m["id"] == s["leader"]) info += info.empty() ? "leader" : ",leader";
    const std::string contact = m["last_contact_ms"].is_null() ? "-" : cell(m["last_contact_ms"]) + "ms";
    std::printf("%-8s %-8s %-10s %-10s %-8s %s\n", cell(m["id"]).c_str(), m["voter"].get<bool>() ? "voter" : "learner",
                cell(m["match"]).c_str(), cell(m["state"]).c_str(), contact.c_str(), info.c_str());
  }
}

void print_transport(json& s) {
  json& t = s["transport"];
  std::string reasons;
  for (const auto& [k, v] : t["rejected"].items())
    if (v.get<std::uint64_t>() > 0) reasons += " " + printable(k) + "=" + v.dump();
  std::printf("\nTransport: frames sent %s received %s rejected %s%s%s\n", cell(t["frames_sent"]).c_str(),
              cell(t["frames_received"]).c_str(), cell(t["rejected_total"]).c_str(), reasons.empty() ? "" : " (",
              reasons.empty() ? "" : (reasons.substr(1) + ")").c_str());
  std::printf("           fragments pending %s  exabgp queue %s outstanding / %s waiting  dropped %s\n",
              cell(t["fragments_pending"]).c_str(), cell(t["queue_outstanding"]).c_str(),
              cell(t["queue_waiting"]).c_str(), cell(t["queue_dropped"]).c_str());
}

void print_policies(json& routes) {
  std::printf("%-24s %-16s %-6s %-6s %-4s %-24s %-24s %s\n", "Prefix", "Next-hop", "MED", "LPref", "Prep",
              "Communities", "Large", "Nodes");
  for (json& r : routes) {
    auto join = [](const json& a) {
      std::string s;
      for (const json& v : a) s += (s.empty() ? "" : ",") + cell(v);
      return s.empty() ? std::string("-") : s;
    };
    const std::string nh = r["next_hop"].get<std::string>().empty() ? "(node's own)" : cell(r["next_hop"]);
    std::printf("%-24s %-16s %-6s %-6s %-4s %-24s %-24s %s\n", cell(r["prefix"]).c_str(), nh.c_str(),
                cell(r["med"]).c_str(), cell(r["local_pref"]).c_str(), cell(r["prepend"]).c_str(),
                join(r["communities"]).c_str(), join(r["large_communities"]).c_str(),
                r["nodes"].empty() ? "all" : join(r["nodes"]).c_str());
  }
}

// Every option and subcommand, filled by CLI11.
struct Cli {
  CLI::App app{"raftbgpctl: control a raftbgpd agent over its Unix socket"};
  std::string socket_path, client_id;
  std::uint64_t timeout_ms = 5000, seq = 1, member_id = 0;
  bool as_json = false, learner = false, force = false, aes = false;
  std::string key, value, prefix, next_hop, key_out;
  std::vector<std::string> communities, large;
  std::vector<std::uint64_t> nodes;
  std::uint32_t med = 0, local_pref = 0, prepend = 0, key_id = 1;
  CLI::App *status, *kv_get, *kv_put, *kv_del, *kv_list, *p_add, *p_rm, *p_show, *dump, *snapshot, *members, *m_add,
      *m_promote, *m_remove, *transfer, *keygen;
  CLI::Option *o_med, *o_lp;

  Cli() {
    app.footer(kFooter);
    app.set_version_flag("--version", version_line("raftbgpctl"), "print the version, git revision and frame format");
    app.require_subcommand(1);
    app.fallthrough();
    app.add_option(
        "--socket", socket_path,
        std::string("control socket (default: from ") + kDefaultConfigPath + ", else " + kDefaultSocketPath + ")");
    app.add_option("--timeout", timeout_ms, "milliseconds to wait for the answer (default 5000)")
        ->check(CLI::Range(std::uint64_t{1}, kMaxTimeoutMs));
    app.add_option("--client-id", client_id,
                   "client session id for writes and members/transfer-leader changes (default: unique per run)");
    app.add_option("--seq", seq, "sequence number of that session (default 1); retry with the same id and seq")
        ->check(CLI::PositiveNumber);
    status = app.add_subcommand("status", "role, term, leader, indexes, voters/learners, snapshots, transport");
    status->add_flag("--json", as_json, "JSON output");
    add_kv();
    add_policy();
    auto* debug = app.add_subcommand("debug", "internals");
    debug->require_subcommand(1);
    dump = debug->add_subcommand("dump", "hard state, log, snapshots, progress, pending requests, windows, routes");
    dump->add_flag("--json", as_json, "JSON output (one line)");
    add_admin();
  }

  void add_kv() {
    auto* kv = app.add_subcommand("kv", "the replicated key-value store");
    kv->require_subcommand(1);
    kv_get = kv->add_subcommand("get", "read KEY (linearizable, ReadIndex; exit 3 if missing)");
    kv_get->add_option("KEY", key)->required();
    kv_get->add_flag("--json", as_json, "JSON output");
    kv_put = kv->add_subcommand("put", "set KEY to VALUE; prints the log index once applied");
    kv_put->add_option("KEY", key)->required();
    kv_put->add_option("VALUE", value)->required();
    kv_del = kv->add_subcommand("delete", "remove KEY (exit 3 if missing)");
    kv_del->add_option("KEY", key)->required();
    kv_list = kv->add_subcommand("list", "every key and value (linearizable, ReadIndex)");
    kv_list->add_flag("--json", as_json, "JSON output");
  }

  void add_policy() {
    auto* policy = app.add_subcommand("policy", "the cluster's route policy");
    policy->require_subcommand(1);
    p_add = policy->add_subcommand("add", "announce PREFIX from every node (or --nodes)");
    p_add->add_option("PREFIX", prefix)->required();
    p_add->add_option("--next-hop", next_hop, "self (IPv4 only) or an address; default: each node's own");
    p_add->add_option("--community", communities, "A:B or a well-known name; repeatable");
    o_med = p_add->add_option("--med", med, "MULTI_EXIT_DISC");
    o_lp = p_add->add_option("--local-pref", local_pref, "LOCAL_PREF (iBGP only)");
    p_add->add_option("--large-community", large, "A:B:C; repeatable");
    p_add->add_option("--prepend", prepend, "extra copies of the node's local ASN (0..16)");
    p_add->add_option("--nodes", nodes, "comma-separated node ids that announce it (default all)")->delimiter(',');
    p_rm = policy->add_subcommand("remove", "withdraw PREFIX everywhere");
    p_rm->add_option("PREFIX", prefix)->required();
    p_show = policy->add_subcommand("show", "the policy table (linearizable, ReadIndex)");
    p_show->add_flag("--json", as_json, "JSON output");
  }

  void add_admin() {
    snapshot = app.add_subcommand("snapshot", "compact this node's log now (prints the snapshot index)");
    members = app.add_subcommand("members", "the configuration: voters and learners (changes go to the leader)");
    members->add_flag("--json", as_json, "JSON output");
    members->require_subcommand(0, 1);
    m_add = members->add_subcommand("add", "add ID as a voter (CONF_ADD_VOTER), or as a learner with --learner");
    m_add->add_option("ID", member_id)->required()->check(CLI::PositiveNumber);
    m_add->add_flag("--learner", learner, "add as a non-voting learner (promote it once caught up)");
    m_promote = members->add_subcommand("promote", "make learner ID a voter");
    m_promote->add_option("ID", member_id)->required()->check(CLI::PositiveNumber);
    m_remove = members->add_subcommand("remove", "remove ID (a leader removing itself steps down)");
    m_remove->add_option("ID", member_id)->required()->check(CLI::PositiveNumber);
    transfer =
        app.add_subcommand("transfer-leader", "hand leadership to voter ID; waits until it leads (exit 5: it did not)");
    transfer->add_option("ID", member_id)->required()->check(CLI::PositiveNumber);
    keygen = app.add_subcommand("keygen", "write a new cluster key file (mode 0600; no socket needed)");
    keygen->add_option("--out", key_out, "the key file to create")->required();
    keygen->add_option("--key-id", key_id, "key id (default 1); rotation uses a new id");
    keygen->add_flag("--force", force, "replace an existing file (atomically)");
    keygen->add_flag("--aes", aes, "AES-256-GCM instead of ChaCha20-Poly1305");
  }

  // The control request for the parsed command line.
  json request() const {
    json req{{"id", 1}, {"timeout_ms", timeout_ms}, {"args", json::object()}};
    if (status->parsed()) req["op"] = "status";
    if (dump->parsed()) req["op"] = "debug.dump";
    if (kv_get->parsed()) req["op"] = "kv.get", req["args"]["key"] = key;
    if (kv_list->parsed()) req["op"] = "kv.list";
    if (p_show->parsed()) req["op"] = "policy.show";
    if (snapshot->parsed()) req["op"] = "snapshot";
    if (members->parsed()) req["op"] = "members";
    if (m_add->parsed()) req["op"] = "members.add", req["args"] = {{"id", member_id}, {"learner", learner}};
    if (m_promote->parsed()) req["op"] = "members.promote", req["args"] = {{"id", member_id}};
    if (m_remove->parsed()) req["op"] = "members.remove", req["args"] = {{"id", member_id}};
    if (transfer->parsed()) req["op"] = "transfer_leader", req["args"] = {{"id", member_id}};
    if (kv_put->parsed()) req["op"] = "kv.put", req["args"] = {{"key", key}, {"value", value}};
    if (kv_del->parsed()) req["op"] = "kv.delete", req["args"] = {{"key", key}};
    if (p_rm->parsed()) req["op"] = "policy.remove", req["args"] = {{"prefix", prefix}};
    if (p_add->parsed()) {
      req["op"] = "policy.add";
      json a{{"prefix", prefix},
             {"communities", communities},
             {"large_communities", large},
             {"prepend", prepend},
             {"nodes", nodes}};
      if (!next_hop.empty()) a["next_hop"] = next_hop;
      if (o_med->count() > 0) a["med"] = med;
      if (o_lp->count() > 0) a["local_pref"] = local_pref;
      req["args"] = a;
    }
    if (op_is_exactly_once(req["op"].get<std::string>())) {
      req["client_id"] = client_id.empty() ? default_client_id() : client_id;
      req["seq"] = seq;
    }
    return req;
  }

  // Human output of `result` (JSON with --json). Throws json::exception on a wrong-typed answer.
  void print(json result) const {
    const bool admin = m_add->parsed() || m_promote->parsed() || m_remove->parsed() || transfer->parsed();
    if (as_json) {
      std::printf("%s\n", dump_json(result).c_str());
    } else if (status->parsed()) {
      print_status(result);
    } else if (dump->parsed()) {
      std::printf("%s\n", printable(dump_json(result, 2)).c_str());
    } else if (kv_get->parsed()) {
      std::printf("%s\n", printable(result["value"].get<std::string>()).c_str());
    } else if (kv_list->parsed()) {
      for (const auto& [k, v] : result["items"].items()) std::printf("%s\t%s\n", printable(k).c_str(), cell(v).c_str());
    } else if (p_show->parsed()) {
      print_policies(result["routes"]);
    } else if (snapshot->parsed()) {
      std::printf("%s at index %s; log starts at %s\n",
                  result.value("unchanged", false) ? "no new entries: snapshot" : "snapshot taken",
                  cell(result["index"]).c_str(), cell(result["first_index"]).c_str());
    } else if (transfer->parsed()) {
      std::printf("node %s is the leader\n", cell(result["leader"]).c_str());
    } else if (admin) {
      std::printf("%s at index %s\n", result.value("unchanged", false) ? "already in effect" : "applied",
                  cell(result["index"]).c_str());
    } else if (members->parsed()) {
      std::printf("voters %s  learners %s  leader %s\n", cell(result["voters"]).c_str(),
                  cell(result["learners"]).c_str(), cell(result["leader"]).c_str());
      print_members(result);
    } else {
      std::printf("applied at index %s\n", cell(result["index"]).c_str());
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  Cli cli;
  try {
    cli.app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = cli.app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (cli.keygen->parsed()) {
    KeygenOptions o{
        cli.key_out, cli.key_id, cli.force,
        cli.aes ? raftbgp::transport::AeadAlgorithm::kAes256Gcm : raftbgp::transport::AeadAlgorithm::kChaCha20Poly1305};
    if (auto err = generate_key_file(o)) {
      std::fprintf(stderr, "raftbgpctl: keygen: %s\n", err->c_str());
      return 1;
    }
    std::printf("wrote key id %u to %s (mode 0600)\n", cli.key_id, cli.key_out.c_str());
    return kExitOk;
  }
  if (cli.socket_path.empty()) cli.socket_path = default_socket();
  try {
    Reply r = call(cli.socket_path, cli.request(), cli.timeout_ms);
    if (r.exit_code != kExitOk) return r.exit_code;
    cli.print(r.response["result"]);
  } catch (const json::exception& e) {
    // A field of the wrong type: not an answer of this agent version (or not the agent at all).
    std::fflush(stdout);
    std::fprintf(stderr, "raftbgpctl: malformed answer from the agent (%s); outcome unknown\n", e.what());
    return kExitUnknown;
  }
  return kExitOk;
}
