// raftbgpd: the raftbgp agent, spawned by ExaBGP as a `process` (or run by hand against a pipe).
// The thin Asio shell around AgentCore (agent_core.h): ONE thread, ONE io_context (docs/architecture.md §4):
//   stdin  (ExaBGP's JSON events and acks)  -> AgentCore::on_exabgp_line, read continuously
//   stdout (ExaBGP commands ONLY)           <- AgentCore::take_output, written asynchronously
//   a steady_timer every tick_ms            -> AgentCore::tick
//   the control socket                      -> AgentCore::on_client_request
//   SIGTERM/SIGINT: clean exit; SIGHUP: re-read log_level from the config file.
// With metrics_listen set, prometheus-cpp's HTTP thread serves /metrics; it never touches AgentCore: each
// tick publishes a copy of the status JSON to it (metrics.h explains the hand-over).
// Exit codes (kFooter, also in --help): 0 clean stop (stdin EOF, SIGTERM), --help, --version, a clean
// --check-config; 1 runtime failure (WAL IO error, data dir, stdout write error, control socket in use by
// another process); 2 usage or config error.
// Hardening: non-dumpable from the first instruction of main (the key file is read later); the config
// and the key file are read once.
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "raftbgp/agent/agent_core.h"
#include "raftbgp/agent/config.h"
#include "raftbgp/agent/control_server.h"
#include "raftbgp/agent/log.h"
#include "raftbgp/agent/metrics.h"
#include "raftbgp/agent/version.h"
#include "raftbgp/raft/wal_storage.h"
#include "raftbgp/transport/line_splitter.h"

namespace {

namespace asio = boost::asio;
using namespace raftbgp::agent;

constexpr const char* kFooter =
    "Runs under ExaBGP:  process raftbgp { run /usr/bin/raftbgpd --config FILE; encoder json; }\n"
    "stdout carries ExaBGP commands only; logs go to stderr.\n"
    "Exit codes: 0 clean stop (stdin EOF, SIGTERM), --help, --version, or --check-config found no error\n"
    "(warnings allowed); 1 runtime failure (WAL IO error, data dir, stdout write error, control socket or\n"
    "metrics address in use); 2 usage or config error (--check-config: at least one error).";

// The Asio shell. Every handler runs on the one thread; AgentCore is never touched concurrently.
class Shell {
 public:
  Shell(asio::io_context& io, std::unique_ptr<AgentCore> core, std::string config_path,
        std::shared_ptr<StatusMetrics> metrics)
      : io_(io),
        core_(std::move(core)),
        config_path_(std::move(config_path)),
        metrics_(std::move(metrics)),
        in_(io, ::dup(STDIN_FILENO)),
        out_(io, ::dup(STDOUT_FILENO)),
        timer_(io),
        signals_(io, SIGTERM, SIGINT, SIGHUP),
        tick_(std::chrono::milliseconds(core_->config().tick_ms)) {
    core_->set_batching(true);
  }

  int run() {
    ControlServer::Limits limits;
    limits.idle_timeout = std::chrono::milliseconds(core_->config().socket_idle_timeout_ms);
    auto server = ControlServer::create(
        io_, core_->config().socket_path, core_->config().socket_mode,
        [this](ClientRequest req, ReplyFn reply) {
          guarded([&] { core_->on_client_request(std::move(req), std::move(reply)); });
        },
        limits);
    if (auto* e = std::get_if<std::string>(&server)) {
      LOG_ERROR(*e);
      return 1;
    }
    server_ = std::move(std::get<std::unique_ptr<ControlServer>>(server));
    LOG_INFO("control socket " + core_->config().socket_path);
    publish_metrics();
    // A leader's AppendEntries leave before its fsync (AgentCore::set_output_hook): flush() starts the write at once
    // (Asio writes speculatively when nothing else is in flight), and the fsync that follows overlaps ExaBGP's work.
    out_.non_blocking(true);
    core_->set_output_hook([this] { flush(); });
    read_stdin();
    next_tick_ = std::chrono::steady_clock::now() + tick_;
    arm_timer();
    wait_signal();
    flush();
    io_.run();
    return exit_code_;
  }

 private:
  // Runs one AgentCore input and writes what it produced. A WAL IO failure is fatal (wal_storage.h).
  template <class F>
  void guarded(F&& f) {
    if (stopping_) return;
    try {
      f();
    } catch (const raftbgp::raft::StorageIoError& e) {
      LOG_ERROR(std::string("wal: ") + e.what() + "; exiting (restart reopens the WAL)");
      return stop(1);
    }
    flush();
    schedule_ready();
  }

  // One ready loop for everything that arrived in this burst of handlers: the posted handler runs
  // after the ones already queued (other stdin chunks, control requests, the timer). Not part of the
  // template above: a lambda calling guarded() from inside guarded() would instantiate it without end.
  void schedule_ready() {
    if (!core_->ready_wanted() || ready_posted_) return;
    ready_posted_ = true;
    asio::post(io_, [this] {
      ready_posted_ = false;
      guarded([this] { core_->flush_ready(); });
    });
  }

  void read_stdin() {
    in_.async_read_some(asio::buffer(buf_), [this](boost::system::error_code ec, std::size_t n) {
      if (ec) {
        if (ec != asio::error::operation_aborted) LOG_INFO("stdin closed (" + ec.message() + "); exiting");
        if (const std::size_t lost = lines_.finish())
          LOG_WARN("stdin ended inside a line: its " + std::to_string(lost) + " bytes were not a command or event");
        return stop(0);
      }
      guarded([&] { split_lines(std::string_view(buf_.data(), n)); });
      // Re-armed at once: ExaBGP blocks on a full pipe and its BGP sessions then die (docs/exabgp.md §4.5).
      if (!stopping_) read_stdin();
    });
  }

  // ExaBGP's lines, whole (line_splitter.h): an over-long line is dropped up to its newline (the parser would
  // reject it too) and logged.
  void split_lines(std::string_view chunk) {
    if (lines_.feed(chunk, [this](std::string_view line) { core_->on_exabgp_line(line); }) > 0)
      LOG_WARN("dropped an over-long line from ExaBGP (" + std::to_string(lines_.overlong_lines()) + " so far)");
  }

  void arm_timer() {
    timer_.expires_at(next_tick_);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec || stopping_) return;
      guarded([&] { core_->tick(); });
      publish_metrics();
      // Fixed-rate ticks; after a stall (e.g. a slow fsync) skip ahead instead of bursting.
      next_tick_ += tick_;
      const auto now = std::chrono::steady_clock::now();
      if (next_tick_ + tick_ < now) next_tick_ = now + tick_;
      arm_timer();
    });
  }

  void publish_metrics() {
    if (metrics_ && !stopping_) metrics_->publish(core_->status_json());
  }

  void wait_signal() {
    signals_.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload_log_level();
        return wait_signal();
      }
      LOG_INFO(std::string("signal ") + ::strsignal(sig) + "; exiting");
      stop(0);
    });
  }

  void reload_log_level() {
    auto cfg = load_config(config_path_);
    if (auto* e = std::get_if<ConfigError>(&cfg)) {
      LOG_WARN("SIGHUP: config not reloaded: " + e->to_string());
      return;
    }
    set_log_level(std::get<AgentConfig>(cfg).log_level);
    LOG_INFO(std::string("SIGHUP: log level ") + log_level_name(std::get<AgentConfig>(cfg).log_level) +
             " (other changes need a restart)");
  }

  void flush() {
    for (std::string& line : core_->take_output()) {
      pending_ += line;
      pending_ += '\n';
    }
    if (writing_ || pending_.empty() || stopping_) return;
    // What the pipe takes now is written now (the descriptor is non-blocking), so a leader's AppendEntries are with
    // ExaBGP before the fsync that follows them (set_output_hook); only a full pipe leaves the rest to async_write.
    boost::system::error_code now_ec;
    const std::size_t n = out_.write_some(asio::buffer(pending_), now_ec);
    if (now_ec && now_ec != asio::error::would_block && now_ec != asio::error::try_again) {
      LOG_ERROR("stdout: " + now_ec.message() + "; exiting");
      return stop(1);
    }
    pending_.erase(0, n);
    if (pending_.empty()) return;
    writing_ = true;
    inflight_.swap(pending_);
    asio::async_write(out_, asio::buffer(inflight_), [this](boost::system::error_code ec, std::size_t) {
      writing_ = false;
      inflight_.clear();
      if (ec) {
        // Commands for ExaBGP were lost: a runtime failure (exit 1), not a clean stop.
        LOG_ERROR("stdout: " + ec.message() + "; exiting");
        return stop(1);
      }
      flush();
    });
  }

  void stop(int code) {
    if (stopping_) return;
    stopping_ = true;
    exit_code_ = code;
    core_->shutdown();  // pending clients learn the outcome is unknown
    if (server_) server_->close();
    boost::system::error_code ignored;
    timer_.cancel();
    signals_.cancel(ignored);
    in_.cancel(ignored);
    // Give the replies a moment to reach their sockets, then stop the loop. The WAL needs nothing: every
    // Ready was fsync'd before any message that promises something about our disk left (a leader's
    // AppendEntries promise nothing), and every small file is replaced atomically.
    io_.post([this] { io_.stop(); });
  }

  asio::io_context& io_;
  std::unique_ptr<AgentCore> core_;
  std::string config_path_;
  std::shared_ptr<StatusMetrics> metrics_;  // null without metrics_listen
  asio::posix::stream_descriptor in_;
  asio::posix::stream_descriptor out_;
  asio::steady_timer timer_;
  asio::signal_set signals_;
  std::chrono::milliseconds tick_;
  std::chrono::steady_clock::time_point next_tick_;
  std::unique_ptr<ControlServer> server_;
  std::array<char, 64 * 1024> buf_{};
  raftbgp::transport::LineSplitter lines_;
  std::string pending_;
  std::string inflight_;
  bool writing_ = false;
  bool stopping_ = false;
  bool ready_posted_ = false;  // a flush_ready() handler is queued
  int exit_code_ = 0;
};

struct Loaded {
  AgentConfig config;
  raftbgp::transport::KeyRing keys;
};

// Reads the config and the key file it names, once. A failure is printed; the exit code comes back.
std::variant<Loaded, int> load(const std::string& path) {
  auto cfg = load_config(path);
  if (auto* e = std::get_if<ConfigError>(&cfg)) {
    std::fprintf(stderr, "config error: %s: %s\n", path.c_str(), e->to_string().c_str());
    return 2;
  }
  auto env = check_environment(std::get<AgentConfig>(cfg));
  if (auto* e = std::get_if<ConfigError>(&env)) {
    std::fprintf(stderr, "config error: %s: %s\n", path.c_str(), e->to_string().c_str());
    return 2;
  }
  return Loaded{std::move(std::get<AgentConfig>(cfg)), std::move(std::get<raftbgp::transport::KeyRing>(env))};
}

// Prints "config error: FILE:LINE: field: why" for every error and "config warning: ..." for every
// warning; the key file is checked only when the text itself is valid (it names the key file).
void print_findings(const std::string& path, const std::vector<ConfigError>& list, const char* kind) {
  for (const ConfigError& e : list) {
    const std::string where = e.line > 0 ? path + ":" + std::to_string(e.line) : path;
    std::fprintf(stderr, "config %s: %s: %s\n", kind, where.c_str(), e.to_string().c_str());
  }
}

int check_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "config error: %s: cannot read it\n", path.c_str());
    return 2;
  }
  std::ostringstream text;
  text << in.rdbuf();
  ConfigReport report = validate_config(text.str());
  if (report.config) {
    auto env = check_environment(*report.config);
    if (auto* e = std::get_if<ConfigError>(&env)) report.errors.push_back(*e);
  }
  print_findings(path, report.errors, "error");
  print_findings(path, report.warnings, "warning");
  if (!report.errors.empty()) {
    std::fprintf(stderr, "%s: %zu error(s)\n", path.c_str(), report.errors.size());
    return 2;
  }
  std::fprintf(stderr, "config ok: %s%s\n", path.c_str(), report.warnings.empty() ? "" : " (with warnings)");
  return 0;
}

// Opens the node, retrying every kOpenRetryMs while the data dir cannot be written (a full disk, a directory not
// mounted yet): ExaBGP respawns an agent that exits and gives up for good after more than 5 deaths in 64 s, so an
// agent that died at once on a transient disk problem would take the router out until someone restarts ExaBGP
// (issue 18, nemesis finding F1). Meanwhile stdin is drained (ExaBGP must not block on a full pipe) and its EOF
// ends the wait (exit 0, as a running agent exits on EOF); the error is logged at the first attempt and every
// minute. Returns the core, or the exit code.
constexpr int kOpenRetryMs = 2000;

std::variant<std::unique_ptr<AgentCore>, int> open_with_retry(const AgentConfig& config,
                                                              const raftbgp::transport::KeyRing& keys) {
  for (int attempt = 0;; ++attempt) {
    std::string error;
    try {
      auto opened = AgentCore::open(config, keys);
      if (auto* core = std::get_if<std::unique_ptr<AgentCore>>(&opened)) return std::move(*core);
      error = "start: " + std::get<std::string>(opened);
    } catch (const raftbgp::raft::StorageIoError& e) {
      error = std::string("wal: ") + e.what();
    }
    if (attempt % (60000 / kOpenRetryMs) == 0)
      LOG_ERROR(error + "; retrying every " + std::to_string(kOpenRetryMs / 1000) + " s");
    for (auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kOpenRetryMs);;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd in{STDIN_FILENO, POLLIN, 0};
      if (::poll(&in, 1, static_cast<int>(left.count())) <= 0) continue;
      char sink[65536];
      if (::read(STDIN_FILENO, sink, sizeof sink) <= 0) {
        LOG_INFO("stdin closed before the node could start; exiting");
        return 0;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  // No core dumps and no ptrace/proc-mem access by other same-uid processes: the cluster key is read
  // into this process below. First thing, before any file is read.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    std::fprintf(stderr, "raftbgpd: prctl(PR_SET_DUMPABLE): %s\n", std::strerror(errno));
    return 1;
  }
  std::string config_path = kDefaultConfigPath, check_path;
  CLI::App app{"raftbgpd: the raftbgp agent (Raft over BGP), run by ExaBGP as a process"};
  app.footer(kFooter);
  app.set_version_flag("--version", version_line("raftbgpd"), "print the version, git revision and frame format");
  app.add_option("--config", config_path, std::string("node configuration (default ") + kDefaultConfigPath + ")");
  app.add_option("--check-config", check_path,
                 "validate FILE and its key file, print every error and warning, exit (0 ok, 2 errors)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help/version to stdout, errors to stderr
    return rc == 0 ? 0 : 2;
  }
  if (!check_path.empty()) return check_config(check_path);
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout or socket is an error value, not a death
  auto loaded = load(config_path);
  if (auto* rc = std::get_if<int>(&loaded)) return *rc;
  const AgentConfig config = std::move(std::get<Loaded>(loaded).config);
  auto keys = std::move(std::get<Loaded>(loaded).keys);
  set_log_level(config.log_level);
  set_log_tag("raftbgpd[" + std::to_string(config.node_id) + "]");
  auto opened = open_with_retry(config, keys);
  if (auto* rc = std::get_if<int>(&opened)) return *rc;
  std::unique_ptr<AgentCore> core = std::move(std::get<std::unique_ptr<AgentCore>>(opened));
  std::shared_ptr<StatusMetrics> metrics;
  std::unique_ptr<MetricsExposer> exposer;
  if (!config.metrics_listen.empty()) {
    metrics = std::make_shared<StatusMetrics>();
    auto started = MetricsExposer::start(config.metrics_listen, metrics);
    if (auto* e = std::get_if<std::string>(&started)) {
      LOG_ERROR(*e);
      return 1;
    }
    exposer = std::move(std::get<std::unique_ptr<MetricsExposer>>(started));
    LOG_INFO("metrics on http://" + config.metrics_listen + "/metrics");
  }
  asio::io_context io(1);
  Shell shell(io, std::move(core), config_path, metrics);
  return shell.run();
}
