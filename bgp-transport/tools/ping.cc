// raftbgp-ping: tests a BGP path with the raftbgp transport before a cluster is formed (issue 3).
//
// ExaBGP spawns it as its process (`process ping { run /path/raftbgp-ping --id 1 ...; encoder json; }`).
// It reads ExaBGP's stdin continuously (docs/exabgp.md §4.5: a reader that stalls longer than the hold time resets
// the session), writes ONLY ExaBGP commands on stdout, and logs to stderr or --log. It answers every ping
// addressed to it with a pong; given --to and --count (or a `ping` line on its control FIFO) it sends pings
// of the given sizes and records round-trip times. Every second, on each finished run and at exit it writes
// a JSON results file (atomically: write, rename) with application-level counters (duplicates are ids seen
// twice: the transport promises there are none), the Transport's counters by reason and the RTT lists.
//
// Modes: sealed (default; the Transport's frames), raw (the probe as a plain attribute, unsealed, on a prefix
// outside the mailbox plan: the latency baseline), wrong-key (sealed with a key the receiver lacks: it must
// be rejected as bad_tag) and both (raw and sealed alternately, for the latency comparison).
//
// Files: ping_options.{h,cc} (command line, control lines, TransportConfig), pinger.{h,cc} (the probe loop and
// the results JSON), ping_probe.h (the probe's bytes), this file (start-up and the IO loop).
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "ping_options.h"
#include "pinger.h"
#include "raftbgp/agent/files.h"
#include "raftbgp/agent/replay_store.h"
#include "raftbgp/transport/line_splitter.h"

namespace rt = raftbgp::transport;
using namespace raftbgp::ping;

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "raftbgp-ping: %s\n", why.c_str());
  std::exit(2);
}

void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

// A control FIFO line is short: anything longer is dropped (LineSplitter) and logged.
constexpr std::size_t kMaxControlLine = 4096;

// Everything the IO loop works on; built by start().
struct Run {
  Options o;
  FILE* log = stderr;
  std::unique_ptr<Pinger> pinger;
  raftbgp::agent::ReplayStore replay_store;
  raftbgp::agent::EpochLease lease;
  int ctl = -1;
};

// Configuration, epoch bump, replay windows, control FIFO: every failure here is a config error (exit 2).
void start(Run& run, JobMode mode) {
  Options& o = run.o;
  if (!o.log.empty()) {
    run.log = std::fopen(o.log.c_str(), "a");
    if (!run.log) die(o.log + ": " + std::strerror(errno));
  }
  auto made = make_config(o, 0);
  if (auto* e = std::get_if<std::string>(&made)) die(*e);
  rt::TransportConfig config = std::move(std::get<rt::TransportConfig>(made));
  // The agent's boot counter (agent/include/raftbgp/agent/files.h): locked for our lifetime, fsync'd
  // bump; only once the rest of the configuration is known to be good.
  auto lease = raftbgp::agent::bump_epoch_file(o.epoch_file);
  if (auto* e = std::get_if<raftbgp::agent::FileError>(&lease)) die(e->message);
  run.lease = std::move(std::get<raftbgp::agent::EpochLease>(lease));
  const std::uint64_t epoch = run.lease.epoch();
  config.epoch = epoch;
  rt::TransportConfig wrong = wrong_key_config(config);
  auto created = rt::Transport::create(config);
  if (auto* e = std::get_if<std::string>(&created)) die("config: " + *e);
  // Replay windows across restarts, as raftbgpd keeps them (agent/include/raftbgp/agent/replay_store.h).
  // Saved with the results (every second) and at exit: a crash may forget the last second's marks.
  if (!o.state_dir.empty()) {
    run.replay_store = raftbgp::agent::ReplayStore(o.state_dir);
    if (auto e = run.replay_store.load(std::get<rt::Transport>(created))) die(e->message);
  }
  run.pinger =
      std::make_unique<Pinger>(o, std::move(std::get<rt::Transport>(created)), std::move(wrong), epoch, run.log);
  Pinger& p = *run.pinger;
  p.set_raw(true, o.raw_code);
  p.logf("started: id %" PRIu64 " cluster %u epoch %" PRIu64 " family %s", o.id, o.cluster_id, epoch, o.family.c_str());
  if (o.count > 0) {
    Job j;
    j.to = o.to;
    j.mode = mode;
    j.count = o.count;
    j.sizes = o.sizes;
    j.interval_ms = o.interval_ms;
    p.add_job(std::move(j));
  }
  if (!o.control.empty()) {
    if (mkfifo(o.control.c_str(), 0600) != 0 && errno != EEXIST) die(o.control + ": " + std::strerror(errno));
    run.ctl = open(o.control.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);  // RDWR: never sees EOF
    if (run.ctl < 0) die(o.control + ": " + std::strerror(errno));
  }
}

// Results (with the line splitters' drops) and replay windows, each written atomically.
void dump(Run& run, const rt::LineSplitter& in, const rt::LineSplitter& ctl) {
  Pinger& p = *run.pinger;
  if (auto e = run.replay_store.save(p.transport())) p.logf("%s", e->message.c_str());
  if (run.o.results.empty()) return;
  nlohmann::json r = p.results();
  r["stdin"] = {{"overlong_lines", in.overlong_lines()}, {"truncated_at_eof", in.truncated_at_eof()}};
  r["control_overlong_lines"] = ctl.overlong_lines();
  if (auto e = raftbgp::agent::atomic_write_file(run.o.results, r.dump(1) + "\n"))
    p.logf("cannot write %s: %s", run.o.results.c_str(), e->message.c_str());
}

void on_control_line(Run& run, const rt::LineSplitter& in, const rt::LineSplitter& ctl, const std::string& line) {
  Pinger& p = *run.pinger;
  if (line.rfind("ping", 0) == 0) {
    std::string err;
    if (auto j = parse_job(line, err)) {
      p.add_job(std::move(*j));
    } else {
      p.logf("control: %s", err.c_str());
    }
  } else if (line == "withdraw") {
    p.withdraw();
  } else if (line == "dump") {
    dump(run, in, ctl);
  } else if (!line.empty()) {
    p.logf("control: unknown command: %s", line.c_str());
  }
}

// Reads what fd has (all of it: ExaBGP must never block on us, docs/exabgp.md §4.5) into `lines`. false: EOF.
template <class F>
bool read_lines(int fd, rt::LineSplitter& lines, Pinger& p, const char* what, F&& on_line) {
  char buf[65536];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return n != 0;
    if (lines.feed(std::string_view(buf, static_cast<std::size_t>(n)), on_line) > 0)
      p.logf("%s: dropped a line over %zu bytes", what, lines.max_line_bytes());
  }
}

// One thread, one poll() loop over stdin, stdout (non-blocking, buffered) and the control FIFO.
void loop(Run& run) {
  Pinger& p = *run.pinger;
  rt::LineSplitter in, ctl_in(kMaxControlLine);
  bool eof = false;
  std::int64_t next_tick = mono_ns(), next_dump = mono_ns();
  while (!g_stop && !eof) {
    const std::int64_t now = mono_ns();
    std::int64_t wake = std::min({p.run_jobs(now), next_tick, next_dump});
    if (now >= next_tick) {
      p.tick();
      next_tick = now + 100'000'000;
    }
    if (now >= next_dump) {
      dump(run, in, ctl_in);
      next_dump = now + 1'000'000'000;
    }
    pollfd fds[3] = {{0, POLLIN, 0}, {1, static_cast<short>(p.out().empty() ? 0 : POLLOUT), 0}, {run.ctl, POLLIN, 0}};
    const auto timeout_ms = static_cast<int>(std::clamp<std::int64_t>((wake - mono_ns()) / 1'000'000, 0, 1000));
    if (poll(fds, run.ctl >= 0 ? 3 : 2, p.out().empty() ? timeout_ms : std::min(timeout_ms, 100)) < 0 && errno != EINTR)
      break;
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
      eof = !read_lines(0, in, p, "stdin", [&](std::string_view l) { p.on_line(l, mono_ns()); });
    if (run.ctl >= 0 && (fds[2].revents & POLLIN))
      read_lines(run.ctl, ctl_in, p, "control",
                 [&](std::string_view l) { on_control_line(run, in, ctl_in, std::string(l)); });
    // Write as much as the pipe takes; the rest waits for POLLOUT (never block: ExaBGP may be blocked
    // writing to us, docs/exabgp.md §4.5).
    while (!p.out().empty()) {
      const ssize_t n = write(1, p.out().data(), p.out().size());
      if (n > 0) {
        p.out().erase(0, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EPIPE) eof = true;
      break;
    }
  }
  if (const std::size_t lost = in.finish()) p.logf("stdin ended inside a line: %zu bytes discarded", lost);
  p.logf("exiting (%s)", g_stop ? "signal" : "stdin closed");
  dump(run, in, ctl_in);
}

}  // namespace

int main(int argc, char** argv) {
  Run run;
  CLI::App app{
      "raftbgp-ping: test a BGP path with the raftbgp transport before forming a cluster.\n"
      "Run it as ExaBGP's process (encoder json): it answers pings addressed to --id and, with --to/--count or a\n"
      "`ping to=ID count=N size=B[,B..] interval=MS mode=sealed|raw|wrong-key|both [pad=1]` line on its control\n"
      "FIFO (pad=1: raw probes as long as the sealed frames), sends pings and prints one summary line per run on "
      "stderr. stdout carries ExaBGP commands only.",
      "raftbgp-ping"};
  add_options(app, run.o);
  CLI11_PARSE(app, argc, argv);
  auto mode = finish_options(run.o);
  if (auto* e = std::get_if<std::string>(&mode)) die(*e);
  start(run, std::get<JobMode>(mode));

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  set_nonblock(0);
  set_nonblock(1);
  loop(run);
  return 0;
}
