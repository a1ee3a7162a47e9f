// raftbgpctl: the operator's CLI for raftbgpd's control socket (protocol: agent/include/raftbgp/agent/
// control.h; README "Agent"). Habits of birdc / vtysh / gobgp: compact tables, -o json for scripts,
// a one-line reason and a meaningful exit code on failure.
//
// Every verb is one row of a table (Verb below: the CLI11 subcommand, the wire op, its arguments, its
// output); main finds the parsed leaf and runs its row. The socket client, the printers and the health
// verdict live in agent/cli/ (ctl.h).
// -o json (or --json) applies to every verb: a result is printed as its JSON object, a failure as
// {"error":{"code","message","from_agent"},"exit_code"} on stdout; the exit code is the same as in text mode.
// The socket: --socket, else $RAFTBGP_SOCKET, else control_socket.path of /etc/raftbgp/raftbgpd.yaml, else
// /run/raftbgp/raftbgpd.sock.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli/ctl.h"
#include "raftbgp/agent/config.h"
#include "raftbgp/agent/control.h"
#include "raftbgp/agent/keygen.h"
#include "raftbgp/agent/log.h"
#include "raftbgp/agent/metrics.h"
#include "raftbgp/agent/version.h"

namespace {

using nlohmann::json;
using namespace raftbgp::agent;
using namespace raftbgp::agent::ctl;

constexpr const char* kFooter =
    "Output: -o json (or --json) on every verb prints the result, or the failure as {\"error\":{\"code\",\n"
    "\"message\",\"from_agent\"},\"exit_code\"}, on stdout. Socket: --socket, $RAFTBGP_SOCKET, the config's\n"
    "control_socket.path, /run/raftbgp/raftbgpd.sock, in that order.\n"
    "Exit codes: 0 ok; 1 keygen could not write the file; 2 usage or config error; 3 not found; 4 definitely\n"
    "not applied (rejected, no leader known before anything was sent, another membership change pending,\n"
    "leader not ready, or the socket could not be reached); 5 outcome unknown (timed out after sending, or an\n"
    "unreadable or over-16-MiB answer: retry with the same --client-id and --seq to apply at most once;\n"
    "transfer-leader: the target did not take over in time; session_expired: that --client-id has no session\n"
    "any more, so the outcome of the seq is unknown and a retry cannot be made safe: start a new --client-id\n"
    "at --seq 1); 6 health: the node is unhealthy (the reasons are printed). kv/policy watch exit 0 on Ctrl-C,\n"
    "5 when the agent drops the watcher (too_slow) or stops. Human output shows control characters in server\n"
    "strings as \\xNN; JSON is exact.";

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

// Every option, filled by CLI11.
struct Options {
  std::string socket_path, client_id, output = "text";
  bool json_flag = false;
  std::uint64_t timeout_ms = 5000, seq = 1, member_id = 0;
  HealthLimits health;
  double max_lag_seconds = 10, max_ack_wait_seconds = 10;
  bool learner = false, force = false, aes = false;
  std::string key, value, prefix, next_hop, key_out, policy_file;
  bool dry_run = false;
  bool cluster = false;          // status --cluster
  std::string watch_prefix;      // kv watch PREFIX
  std::string record_action;     // debug record start|stop
  std::uint64_t from_index = 0;  // watch --from-index (0: live changes only)
  std::vector<std::string> communities, large;
  std::vector<std::uint64_t> nodes;
  std::uint32_t med = 0, local_pref = 0, prepend = 0, key_id = 1;
  CLI::Option *o_med = nullptr, *o_lp = nullptr;
  bool as_json() const { return json_flag || output == "json"; }
};

// Human output of a result; returns the exit code.
using Show = std::function<int(json& result, const Options&)>;
// Arguments of the request.
using Args = std::function<json(const Options&)>;

// One verb. `op` empty: a local verb (`local` runs it, no socket).
struct Verb {
  CLI::App* app = nullptr;
  std::string op;
  Args args;
  Show show;
  std::function<std::variant<json, Failure>(const Options&)> local;
  // Replaces the JSON output of the result (health prints its verdict, not the raw status).
  std::function<int(json& result, const Options&)> show_json;
  // The wire op when it depends on the options (status --cluster); else `op`.
  std::function<std::string(const Options&)> op_for;
};

json no_args(const Options&) { return json::object(); }

// A watch ends cleanly (exit 0) on SIGINT, SIGTERM or a closed stdout (SIGPIPE ignored: the write fails instead).
volatile std::sig_atomic_t g_stop = 0;
void stop_on_signals() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = 1; };
  ::sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int show_applied(json& r, const Options&) {
  std::printf("%s at index %s\n", r.value("unchanged", false) ? "already in effect" : "applied",
              cell(r["index"]).c_str());
  return kExitOk;
}

// The health verb: its verdict in both output modes; exit 6 when unhealthy.
int show_health(json& status, const Options& o, bool as_json) {
  HealthLimits limits = o.health;
  limits.max_lag_ms = static_cast<std::uint64_t>(o.max_lag_seconds * 1000);
  limits.max_ack_wait_ms = static_cast<std::uint64_t>(o.max_ack_wait_seconds * 1000);
  const Health h = judge_health(status, limits);
  if (as_json) {
    std::printf("%s\n", dump_json(h.to_json(status)).c_str());
  } else if (h.healthy) {
    std::printf("healthy: node %s %s, leader %s, term %s, applied %s of commit %s\n", cell(status["node_id"]).c_str(),
                cell(status["role"]).c_str(), cell(status["leader"]).c_str(), cell(status["term"]).c_str(),
                cell(status["applied"]).c_str(), cell(status["commit"]).c_str());
  } else {
    std::string why;
    for (const std::string& r : h.reasons) why += (why.empty() ? "" : "; ") + r;
    std::printf("unhealthy: node %s: %s\n", cell(status["node_id"]).c_str(), printable(why).c_str());
  }
  return h.healthy ? kExitOk : kExitUnhealthy;
}

std::variant<json, Failure> run_keygen(const Options& o) {
  KeygenOptions k{
      o.key_out, o.key_id, o.force,
      o.aes ? raftbgp::transport::AeadAlgorithm::kAes256Gcm : raftbgp::transport::AeadAlgorithm::kChaCha20Poly1305};
  if (auto err = generate_key_file(k)) return Failure{kExitKeygen, "keygen_failed", "keygen: " + *err};
  return json{{"key_id", o.key_id}, {"file", o.key_out}, {"mode", "0600"}};
}

class Cli {
 public:
  CLI::App app{"raftbgpctl: control a raftbgpd agent over its Unix socket"};
  Options opt;  // every option; the verbs' lambdas get it as their argument

  Cli() {
    app.footer(kFooter);
    app.set_version_flag("--version", version_line("raftbgpctl"), "print the version, git revision and frame format");
    app.require_subcommand(1);
    app.fallthrough();
    app.add_option("--socket", opt.socket_path,
                   std::string("control socket (default: $RAFTBGP_SOCKET, else from ") + kDefaultConfigPath +
                       ", else " + kDefaultSocketPath + ")")
        ->envname("RAFTBGP_SOCKET");
    app.add_option("--timeout", opt.timeout_ms, "milliseconds to wait for the answer (default 5000)")
        ->check(CLI::Range(std::uint64_t{1}, kMaxTimeoutMs));
    app.add_option("--client-id", opt.client_id,
                   "client session id for writes and members/transfer-leader changes (default: unique per run)");
    app.add_option("--seq", opt.seq, "sequence number of that session (default 1); retry with the same id and seq")
        ->check(CLI::PositiveNumber);
    app.add_option("-o,--output", opt.output, "output format: text (default) or json")
        ->check(CLI::IsMember({"text", "json"}));
    app.add_flag("--json", opt.json_flag, "the same as -o json");
    add_reads();
    add_kv();
    add_policy();
    add_admin();
  }

  // The verb whose subcommand was parsed and has no parsed subcommand of its own.
  const Verb* parsed() const {
    for (const Verb& v : verbs_)
      if (v.app->parsed() && v.app->get_subcommands().empty()) return &v;
    return nullptr;
  }

  // The request for verb `v` (a remote verb).
  json request(const Verb& v) const { return request(v.op_for ? v.op_for(opt) : v.op, v.args(opt)); }
  json request(const std::string& op, json args) const {
    json req{{"id", 1}, {"timeout_ms", opt.timeout_ms}, {"op", op}, {"args", std::move(args)}};
    if (op_is_exactly_once(op)) {
      req["client_id"] = opt.client_id.empty() ? default_client_id() : opt.client_id;
      req["seq"] = opt.seq;
    }
    return req;
  }

 private:
  CLI::App* add(CLI::App* parent, const std::string& name, const std::string& help, std::string op, Args args,
                Show show) {
    CLI::App* sub = parent->add_subcommand(name, help);
    verbs_.push_back(Verb{sub, std::move(op), std::move(args), std::move(show), {}, {}, {}});
    return sub;
  }
  CLI::App* group(const std::string& name, const std::string& help) {
    CLI::App* g = app.add_subcommand(name, help);
    g->require_subcommand(1);
    return g;
  }

  void add_reads() {
    add(&app, "status", "role, term, leader, indexes, voters/learners, snapshots, transport", "status", no_args,
        [](json& r, const Options& o) { return (o.cluster ? print_cluster(r) : print_status(r)), kExitOk; })
        ->add_flag("--cluster", opt.cluster,
                   "the leader's view from any node (forwarded to the leader): every member's match, lag, state "
                   "and last contact");
    verbs_.back().op_for = [](const Options& o) { return std::string(o.cluster ? "status.cluster" : "status"); };
    CLI::App* health =
        add(&app, "health",
            "exit 0 when this node knows a leader, is a member, keeps up with the leader, has a BGP session up and "
            "its ExaBGP acknowledges commands",
            "status", no_args, [](json& r, const Options& o) { return show_health(r, o, false); });
    health->add_option("--max-lag", opt.health.max_lag_entries,
                       "entries applied may trail commit and the leader's commit (default 100)");
    health
        ->add_option("--max-lag-seconds", opt.max_lag_seconds,
                     "seconds applied may trail the leader's commit, and the leader may stay silent (default 10)")
        ->check(CLI::NonNegativeNumber);
    health
        ->add_option("--max-ack-wait", opt.max_ack_wait_seconds,
                     "seconds ExaBGP may leave outstanding commands unacknowledged (default 10)")
        ->check(CLI::NonNegativeNumber);
    verbs_.back().show_json = [](json& r, const Options& o) { return show_health(r, o, true); };
    add(&app, "metrics", "this node's metrics in Prometheus text format (for node_exporter's textfile collector)",
        "status", no_args, [](json& r, const Options&) {
          return std::printf("%s", serialize_metrics(status_to_families(r)).c_str()), kExitOk;
        });
    CLI::App* debug = group("debug", "internals");
    add(debug, "dump", "hard state, log, snapshots, progress, pending requests, windows, routes", "debug.dump", no_args,
        [](json& r, const Options&) { return std::printf("%s\n", printable(dump_json(r, 2)).c_str()), kExitOk; });
    add(debug, "model",
        "this node's measured latency model (round trips per peer, fsync, apply, elections) as JSON, the input of "
        "raftbgp-predict --model",
        "debug.model", no_args,
        [](json& r, const Options&) { return std::printf("%s\n", printable(dump_json(r, 2)).c_str()), kExitOk; });
    add(
        debug, "record",
        "start or stop an on-demand flight recording (recorder.mode: on-demand): start rebuilds this node's Raft "
        "state from its WAL, as a restart does (a leader steps down), and records into <data_dir>/recorder.rec",
        "debug.record",
        [](const Options& o) {
          return json{{"action", o.record_action}};
        },
        [](json& r, const Options&) { return std::printf("%s\n", printable(dump_json(r, 2)).c_str()), kExitOk; })
        ->add_option("ACTION", opt.record_action, "start or stop")
        ->required()
        ->check(CLI::IsMember({"start", "stop"}));
  }

  void add_kv() {
    CLI::App* kv = group("kv", "the replicated key-value store");
    add(
        kv, "get", "read KEY (linearizable, ReadIndex; exit 3 if missing)", "kv.get",
        [](const Options& o) {
          return json{{"key", o.key}};
        },
        [](json& r, const Options&) {
          return std::printf("%s\n", printable(r["value"].get<std::string>()).c_str()), kExitOk;
        })
        ->add_option("KEY", opt.key)
        ->required();
    CLI::App* put = add(
        kv, "put", "set KEY to VALUE; prints the log index once applied", "kv.put",
        [](const Options& o) {
          return json{{"key", o.key}, {"value", o.value}};
        },
        show_applied);
    put->add_option("KEY", opt.key)->required();
    put->add_option("VALUE", opt.value)->required();
    add(
        kv, "delete", "remove KEY (exit 3 if missing)", "kv.delete",
        [](const Options& o) {
          return json{{"key", o.key}};
        },
        show_applied)
        ->alias("remove")
        ->add_option("KEY", opt.key)
        ->required();
    add(kv, "list", "every key and value (linearizable, ReadIndex)", "kv.list", no_args, [](json& r, const Options&) {
      for (const auto& [k, v] : r["items"].items()) std::printf("%s\t%s\n", printable(k).c_str(), cell(v).c_str());
      return kExitOk;
    })->alias("show");
    add_watch(kv, "kv.watch",
              "stream every change of keys starting with PREFIX as this node applies it (index, key, "
              "old, new) until Ctrl-C")
        ->add_option("PREFIX", opt.watch_prefix, "only keys that start with it (default: every key)");
  }

  // kv watch / policy watch (ctl_client.cc watch()): one line per change, or one JSON object per line with -o json.
  CLI::App* add_watch(CLI::App* parent, const std::string& op, const std::string& help) {
    CLI::App* w = add(parent, "watch", help, "", nullptr, [](json&, const Options&) { return kExitOk; });
    w->add_option("--from-index", opt.from_index,
                  "first replay the changes from this log index on (kept: the last 1024 changes on this node)")
        ->check(CLI::Range(std::uint64_t{1}, std::numeric_limits<std::uint64_t>::max()));
    verbs_.back().show_json = [](json&, const Options&) { return kExitOk; };  // everything printed while streaming
    verbs_.back().local = [this, op](const Options& o) -> std::variant<json, Failure> {
      json args = json::object();
      if (!o.watch_prefix.empty()) args["prefix"] = o.watch_prefix;
      if (o.from_index > 0) args["from_index"] = o.from_index;
      const std::string socket = o.socket_path.empty() ? default_socket() : o.socket_path;
      const bool as_json = o.as_json();
      stop_on_signals();
      auto failure = watch(
          socket, request(op, args), o.timeout_ms,
          WatchHandlers{[as_json](json& r) {
                          if (!as_json)
                            std::fprintf(
                                stderr, "watching %s changes%s on node %s from index %s\n", cell(r["watching"]).c_str(),
                                r.value("prefix", "").empty() ? "" : (" under " + cell(r["prefix"])).c_str(),
                                cell(r["node_id"]).c_str(),
                                r.contains("from_index") ? cell(r["from_index"]).c_str()
                                                         : (std::to_string(r.value("applied", 0ULL) + 1)).c_str());
                        },
                        [as_json](json& e) {
                          if (as_json)
                            std::printf("%s\n", dump_json(e).c_str());
                          else
                            print_watch_event(e);
                          return std::fflush(stdout) == 0;  // EPIPE: our reader went away
                        },
                        [] { return g_stop != 0; }});
      if (failure) return *failure;
      return json::object();
    };
    return w;
  }

  void add_policy() {
    CLI::App* policy = group("policy", "the cluster's route policy");
    CLI::App* p_add = add(
        policy, "add", "announce PREFIX from every node (or --nodes)", "policy.add",
        [](const Options& o) {
          json a{{"prefix", o.prefix},
                 {"communities", o.communities},
                 {"large_communities", o.large},
                 {"prepend", o.prepend},
                 {"nodes", o.nodes}};
          if (!o.next_hop.empty()) a["next_hop"] = o.next_hop;
          if (o.o_med->count() > 0) a["med"] = o.med;
          if (o.o_lp->count() > 0) a["local_pref"] = o.local_pref;
          return a;
        },
        show_applied);
    p_add->add_option("PREFIX", opt.prefix)->required();
    p_add->add_option("--next-hop", opt.next_hop, "self (IPv4 only) or an address; default: each node's own");
    p_add->add_option("--community", opt.communities, "A:B or a well-known name; repeatable");
    opt.o_med = p_add->add_option("--med", opt.med, "MULTI_EXIT_DISC");
    opt.o_lp = p_add->add_option("--local-pref", opt.local_pref, "LOCAL_PREF (iBGP only)");
    p_add->add_option("--large-community", opt.large, "A:B:C; repeatable");
    p_add->add_option("--prepend", opt.prepend, "extra copies of the node's local ASN (0..16)");
    p_add->add_option("--nodes", opt.nodes, "comma-separated node ids that announce it (default all)")->delimiter(',');
    add(
        policy, "remove", "withdraw PREFIX everywhere", "policy.remove",
        [](const Options& o) {
          return json{{"prefix", o.prefix}};
        },
        show_applied)
        ->alias("delete")
        ->add_option("PREFIX", opt.prefix)
        ->required();
    add(policy, "show", "the policy table (linearizable, ReadIndex)", "policy.show", no_args,
        [](json& r, const Options&) { return print_policies(r["routes"]), kExitOk; })
        ->alias("list");
    add_policy_as_code(policy);
  }

  // policy apply / export / history (ctl_policy.cc; file format: policy_file.h).
  void add_policy_as_code(CLI::App* policy) {
    CLI::App* apply = add(policy, "apply",
                          "make the cluster's policy exactly FILE's: shows the diff, applies it as one entry "
                          "(every error listed, nothing applied on any)",
                          "", nullptr, [](json& r, const Options&) { return show_policy_apply(r); });
    verbs_.back().local = [this](const Options& o) {
      const std::string socket = o.socket_path.empty() ? default_socket() : o.socket_path;
      return policy_apply(
          PolicyApplyRequest{o.policy_file, o.dry_run, [this, socket, &o](const std::string& op, json a) {
                               return call(socket, request(op, std::move(a)), o.timeout_ms);
                             }});
    };
    apply->add_option("-f,--file", opt.policy_file, "the policy file (YAML; `policy export` writes one)")->required();
    apply->add_flag("--dry-run", opt.dry_run, "show the diff and let the agent check every route; apply nothing");
    add(policy, "export", "the policy table as a policy file (for policy apply -f)", "policy.show", no_args,
        [](json& r, const Options&) { return show_policy_export(r); });
    add(policy, "history", "who changed the policy and when (the last 256 changes, replicated)", "policy.history",
        no_args, [](json& r, const Options&) { return print_history(r["changes"]), kExitOk; });
    add_watch(policy, "policy.watch",
              "stream every policy change as this node applies it (index, prefix, old route, new route) until "
              "Ctrl-C");
  }

  void add_admin() {
    add(&app, "snapshot", "compact this node's log now (prints the snapshot index)", "snapshot", no_args,
        [](json& r, const Options&) {
          std::printf("%s at index %s; log starts at %s\n",
                      r.value("unchanged", false) ? "no new entries: snapshot" : "snapshot taken",
                      cell(r["index"]).c_str(), cell(r["first_index"]).c_str());
          return kExitOk;
        });
    CLI::App* members = add(&app, "members", "the configuration: voters and learners (changes go to the leader)",
                            "members", no_args, [](json& r, const Options&) {
                              std::printf("voters %s  learners %s  leader %s\n", cell(r["voters"]).c_str(),
                                          cell(r["learners"]).c_str(), cell(r["leader"]).c_str());
                              return print_members(r), kExitOk;
                            });
    members->require_subcommand(0, 1);
    auto id = [](const Options& o) { return json{{"id", o.member_id}}; };
    CLI::App* m_add = add(
        members, "add", "add ID as a voter (CONF_ADD_VOTER), or as a learner with --learner", "members.add",
        [](const Options& o) {
          return json{{"id", o.member_id}, {"learner", o.learner}};
        },
        show_applied);
    m_add->add_option("ID", opt.member_id)->required()->check(CLI::PositiveNumber);
    m_add->add_flag("--learner", opt.learner, "add as a non-voting learner (promote it once caught up)");
    add(members, "promote", "make learner ID a voter", "members.promote", id, show_applied)
        ->add_option("ID", opt.member_id)
        ->required()
        ->check(CLI::PositiveNumber);
    add(members, "remove", "remove ID (a leader removing itself steps down)", "members.remove", id, show_applied)
        ->add_option("ID", opt.member_id)
        ->required()
        ->check(CLI::PositiveNumber);
    add(&app, "transfer-leader", "hand leadership to voter ID; waits until it leads (exit 5: it did not)",
        "transfer_leader", id,
        [](json& r, const Options&) {
          return std::printf("node %s is the leader\n", cell(r["leader"]).c_str()), kExitOk;
        })
        ->add_option("ID", opt.member_id)
        ->required()
        ->check(CLI::PositiveNumber);
    CLI::App* keygen =
        add(&app, "keygen", "write a new cluster key file (mode 0600; no socket needed)", "", nullptr,
            [](json& r, const Options&) {
              std::printf("wrote key id %s to %s (mode 0600)\n", cell(r["key_id"]).c_str(), cell(r["file"]).c_str());
              return kExitOk;
            });
    verbs_.back().local = run_keygen;
    keygen->add_option("--out", opt.key_out, "the key file to create")->required();
    keygen->add_option("--key-id", opt.key_id, "key id (default 1); rotation uses a new id");
    keygen->add_flag("--force", opt.force, "replace an existing file (atomically)");
    keygen->add_flag("--aes", opt.aes, "AES-256-GCM instead of ChaCha20-Poly1305");
  }

  std::vector<Verb> verbs_;
};

// True when argv asks for JSON output: a usage error is then reported as JSON too, although the
// command line did not parse.
bool wants_json(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json" || a == "-ojson" || a == "--output=json") return true;
    if ((a == "-o" || a == "--output") && i + 1 < argc && std::string(argv[i + 1]) == "json") return true;
  }
  return false;
}

// Runs the parsed verb: its request (or local action), then its output.
int run(Cli& cli, const Verb& v) {
  const Options& o = cli.opt;
  std::variant<json, Failure> outcome;
  if (v.local) {
    outcome = v.local(o);
  } else {
    if (cli.opt.socket_path.empty()) cli.opt.socket_path = default_socket();
    outcome = call(o.socket_path, cli.request(v), o.timeout_ms);
  }
  if (auto* f = std::get_if<Failure>(&outcome)) return report(*f, o.as_json());
  json& result = std::get<json>(outcome);
  try {
    if (o.as_json() && v.show_json) return v.show_json(result, o);
    if (o.as_json()) return std::printf("%s\n", dump_json(result).c_str()), kExitOk;
    return v.show(result, o);
  } catch (const json::exception& e) {
    // A field of the wrong type: not an answer of this agent version (or not the agent at all).
    std::fflush(stdout);
    return report(Failure{kExitUnknown, "malformed_answer",
                          std::string("malformed answer from the agent (") + e.what() + "); outcome unknown"},
                  o.as_json());
  }
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli;
  try {
    cli.app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0 && wants_json(argc, argv)) return report(Failure{kExitUsage, "usage", e.what()}, true);
    const int rc = cli.app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  const Verb* v = cli.parsed();
  if (v == nullptr) return report(Failure{kExitUsage, "usage", "no verb given"}, cli.opt.as_json());
  return run(cli, *v);
}
