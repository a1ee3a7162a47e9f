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
// One thread, one poll() loop over stdin, stdout (non-blocking, buffered) and the control FIFO.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "ping_probe.h"
#include "raftbgp/agent/files.h"
#include "raftbgp/agent/replay_store.h"
#include "raftbgp/transport/hex.h"
#include "raftbgp/transport/transport.h"

namespace rt = raftbgp::transport;
using raftbgp::ping::Kind;
using raftbgp::ping::Mode;
using raftbgp::ping::Probe;

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

std::int64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
std::int64_t mono_ns() { return clock_ns(CLOCK_MONOTONIC); }
std::uint64_t wall_ns() { return static_cast<std::uint64_t>(clock_ns(CLOCK_REALTIME)); }

enum class JobMode { kSealed, kRaw, kWrongKey, kBoth };

std::optional<JobMode> parse_mode(const std::string& s) {
  if (s == "sealed") return JobMode::kSealed;
  if (s == "raw") return JobMode::kRaw;
  if (s == "wrong-key" || s == "wrong") return JobMode::kWrongKey;
  if (s == "both") return JobMode::kBoth;
  return std::nullopt;
}
const char* mode_name(JobMode m) {
  switch (m) {
    case JobMode::kSealed: return "sealed";
    case JobMode::kRaw: return "raw";
    case JobMode::kWrongKey: return "wrong-key";
    case JobMode::kBoth: return "both";
  }
  return "?";
}

struct Options {
  std::uint32_t cluster_id = 0;
  std::uint64_t id = 0;
  std::vector<std::uint64_t> members;
  std::string key_file;
  std::uint32_t key_id = 1;
  std::string family = "ipv6";
  std::string next_hop;
  std::string neighbor;
  unsigned attribute_code = 0xff;
  unsigned raw_code = 0xf0;
  std::size_t budget = 2900;
  std::string state_dir, epoch_file, results, control, log;
  std::uint64_t to = 0;
  std::uint64_t count = 0;
  std::vector<std::size_t> sizes{200};
  std::uint64_t interval_ms = 1000;
  std::string mode = "sealed";
  bool wrong_key = false;
  bool raw = false;
  std::uint64_t start_delay_ms = 2000;
  std::uint64_t linger_ms = 3000;
  bool no_wait_up = false;
};

// One run of pings to one peer.
struct Job {
  std::uint64_t to = 0;
  JobMode mode = JobMode::kSealed;
  std::uint64_t count = 0;
  std::vector<std::size_t> sizes{200};
  std::uint64_t interval_ms = 1000;
  bool pad_raw = false;  // raw probes as long as the sealed frame of the same probe (same bytes on the wire)
  // Progress.
  bool started = false;
  std::uint64_t sent = 0;
  std::int64_t next_due = 0;   // monotonic ns
  std::int64_t last_sent = 0;  // monotonic ns
  std::uint64_t first_id = 0;  // ids [first_id, first_id + count)
  std::uint64_t pongs = 0;
  std::uint64_t raw_pongs = 0;
  std::vector<double> rtt_ms, raw_rtt_ms;
};

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(rank, v.size() - 1)];
}

constexpr std::size_t kMaxSamples = 100000;
constexpr std::size_t kMaxSeen = 1000000;
void push_sample(std::vector<double>& v, double x) {
  if (v.size() < kMaxSamples) v.push_back(x);
}

class Pinger {
 public:
  Pinger(Options opt, rt::Transport transport, rt::TransportConfig wrong_config, std::uint64_t epoch, FILE* log)
      : opt_(std::move(opt)),
        tr_(std::move(transport)),
        wrong_config_(std::move(wrong_config)),
        epoch_(epoch),
        log_(log),
        raw_family_(opt_.family == "ipv4" ? rt::Family::kIpv4 : rt::Family::kIpv6) {}

  void add_job(Job j) {
    j.first_id = next_id_;
    next_id_ += j.count;
    jobs_.push_back(std::move(j));
  }

  // One line from ExaBGP (without '\n').
  void on_line(std::string_view line, std::int64_t now) {
    if (line == "done" || line == "error") return on_ack(line);
    if (raw_enabled_ && line.find(raw_key_) != std::string_view::npos) return on_raw_line(line, now);
    rt::Transport::Received r = tr_.on_line(line, tick_);
    for (std::string& l : r.lines) write_line('T', std::move(l));
    if (const auto* s = std::get_if<rt::StateEvent>(&r.event)) {
      logf("session %s %s %s", s->peer.c_str(), s->state.c_str(), s->reason.c_str());
      if (s->state == "up") {
        sessions_up_.insert(s->peer);
        up_since_ = now;
      } else if (s->state == "down") {
        sessions_up_.erase(s->peer);
      }
    }
    for (const raftbgp::v1::Message& m : r.messages) on_message(m, now);
  }

  // Sends what is due; finishes jobs. Returns the monotonic time of the next thing to do.
  std::int64_t run_jobs(std::int64_t now) {
    std::int64_t next = now + 1'000'000'000;
    while (!jobs_.empty()) {
      Job& j = jobs_.front();
      if (!j.started) {
        const bool up =
            opt_.no_wait_up ||
            (!sessions_up_.empty() && now - up_since_ >= static_cast<std::int64_t>(opt_.start_delay_ms) * 1'000'000);
        if (!up) return std::min(next, now + 100'000'000);
        j.started = true;
        j.next_due = now;
        logf("run: %" PRIu64 " %s pings to %" PRIu64 " every %" PRIu64 " ms", j.count, mode_name(j.mode), j.to,
             j.interval_ms);
      }
      while (j.sent < j.count && j.next_due <= now) {
        send_ping(j, now);
        j.next_due += static_cast<std::int64_t>(j.interval_ms) * 1'000'000;
      }
      if (j.sent < j.count) return std::min(next, j.next_due);
      const bool all_back = j.mode == JobMode::kWrongKey || j.pongs + j.raw_pongs >= j.count;
      const std::int64_t linger_end = j.last_sent + static_cast<std::int64_t>(opt_.linger_ms) * 1'000'000;
      if (!all_back && now < linger_end) return std::min(next, linger_end);
      finish(j);
      jobs_.pop_front();
    }
    return next;
  }

  void tick() {
    for (std::string& l : tr_.tick(++tick_)) write_line('T', std::move(l));
  }
  void withdraw() {
    for (std::string& l : tr_.withdraw_announced()) write_line('T', std::move(l));
    if (wrong_)
      for (std::string& l : wrong_->withdraw_announced()) write_line('W', std::move(l));
  }
  void set_raw(bool on, unsigned code) {
    raw_enabled_ = on;
    raw_code_ = static_cast<std::uint8_t>(code);
    char key[32];
    std::snprintf(key, sizeof key, "\"attribute-0x%02X-", code);
    raw_key_ = key;
  }

  std::string& out() { return out_; }
  const rt::Transport& transport() const { return tr_; }
  bool idle() const { return jobs_.empty(); }
  nlohmann::json results() const;

  __attribute__((format(printf, 2, 3))) void logf(const char* fmt, ...) {
    char ts[32];
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    std::strftime(ts, sizeof ts, "%H:%M:%S", localtime_r(&t, &tm));
    std::fprintf(log_, "%s raftbgp-ping[%" PRIu64 "] ", ts, opt_.id);
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(log_, fmt, ap);
    va_end(ap);
    std::fputc('\n', log_);
    std::fflush(log_);
  }

 private:
  void write_line(char owner, std::string line) {
    out_ += line;
    out_ += '\n';
    owners_.push_back(owner);
  }

  void on_ack(std::string_view line) {
    const char owner = owners_.empty() ? 'T' : owners_.front();
    if (!owners_.empty()) owners_.pop_front();
    if (owner == 'R') {
      ++(line == "done" ? raw_acks_done_ : raw_acks_error_);
      return;
    }
    rt::Transport& t = owner == 'W' && wrong_ ? *wrong_ : tr_;
    rt::Transport::Received r = t.on_line(line, tick_);
    if (line == "error") logf("ExaBGP refused a command: %.200s", t.last_error_command().c_str());
    for (std::string& l : r.lines) write_line(owner == 'W' ? 'W' : 'T', std::move(l));
  }

  void send_ping(Job& j, std::int64_t now) {
    const std::uint64_t id = j.first_id + j.sent;
    const std::size_t size = j.sizes[j.sent % j.sizes.size()];
    bool raw = j.mode == JobMode::kRaw;
    if (j.mode == JobMode::kBoth) raw = j.sent % 2 == 0;
    Probe p;
    p.kind = Kind::kPing;
    p.mode = raw ? Mode::kRaw : Mode::kSealed;
    p.src = opt_.id;
    p.dst = j.to;
    p.epoch = epoch_;
    p.id = id;
    p.size = static_cast<std::uint32_t>(size);
    p.t_send_ns = wall_ns();
    if (raw) {
      if (j.pad_raw) p.size = static_cast<std::uint32_t>(sealed_bytes(p));
      send_raw(p);
      ++sent_raw_pings_;
    } else if (j.mode == JobMode::kWrongKey) {
      send_sealed(p, true);
      ++sent_wrong_key_;
    } else {
      send_sealed(p, false);
      ++sent_pings_;
    }
    pending_[id] = j.first_id;
    ++j.sent;
    j.last_sent = now;
  }

  // Attribute bytes of the sealed frame that would carry `p` (one fragment, one destination).
  std::size_t sealed_bytes(const Probe& p) const {
    raftbgp::v1::Message m;
    m.set_from(opt_.id);
    m.set_to(p.dst);
    m.set_context(raftbgp::ping::encode_probe(p));
    return m.ByteSizeLong() + rt::frame_overhead(1);
  }

  void send_sealed(const Probe& p, bool wrong_key) {
    raftbgp::v1::Message m;
    m.set_from(opt_.id);
    m.set_to(p.dst);
    m.set_context(raftbgp::ping::encode_probe(p));
    const std::vector<std::uint64_t> to{p.dst};
    if (!wrong_key) {
      const std::uint64_t refused = tr_.counters().send_refused;
      for (std::string& l : tr_.send(m, to)) write_line('T', std::move(l));
      if (tr_.counters().send_refused != refused) logf("transport refused to send %u bytes to %" PRIu64, p.size, p.dst);
      return;
    }
    if (!wrong_) {
      auto w = rt::Transport::create(wrong_config_);
      wrong_.emplace(std::move(std::get<rt::Transport>(w)));
    }
    for (std::string& l : wrong_->send(m, to)) write_line('W', std::move(l));
  }

  rt::IpPrefix raw_prefix() {
    const std::uint32_t slot = raw_slot_;
    raw_slot_ = (raw_slot_ + 1) % 256;
    char text[64];
    if (raw_family_ == rt::Family::kIpv4) {
      std::snprintf(text, sizeof text, "10.201.%u.%u/32", static_cast<unsigned>(opt_.id & 0xff), slot);
    } else {
      std::snprintf(text, sizeof text, "fd72:6167:%x:%x::/64", static_cast<unsigned>(opt_.id & 0xffff), slot);
    }
    return *rt::IpPrefix::parse(text);
  }

  void send_raw(const Probe& p) {
    const std::string payload = raftbgp::ping::encode_probe(p);
    const rt::ByteView view(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size());
    const std::string& nh = raw_family_ == rt::Family::kIpv4 ? tr_.config().next_hop_ipv4 : tr_.config().next_hop_ipv6;
    write_line('R', rt::format_announce(opt_.neighbor, raw_prefix(), nh, raw_code_, 0xc0, view));
  }

  // Application-level duplicate check: the transport promises none for sealed probes.
  bool seen_before(const Probe& p, std::uint64_t from) {
    if (seen_.size() > kMaxSeen) seen_.erase(seen_.begin());  // bounded for long runs: forget the oldest ids
    return !seen_.insert({from, p.epoch, static_cast<int>(p.kind), static_cast<int>(p.mode), p.id}).second;
  }

  void on_message(const raftbgp::v1::Message& m, std::int64_t now) {
    ++delivered_;
    std::optional<Probe> p = raftbgp::ping::decode_probe(m.context());
    if (!p || p->mode != Mode::kSealed || p->src != m.from()) {
      ++not_probe_;
      return;
    }
    if (seen_before(*p, m.from())) {
      ++duplicates_;
      logf("DUPLICATE delivery: from %" PRIu64 " id %" PRIu64, m.from(), p->id);
      return;
    }
    on_probe(*p, now);
  }

  void on_raw_line(std::string_view line, std::int64_t now) {
    rt::ExabgpLine ev = rt::parse_exabgp_line(line, raw_code_);
    auto* u = std::get_if<rt::UpdateEvent>(&ev);
    if (!u || !u->payload) return;
    const std::string bytes(u->payload->begin(), u->payload->end());
    std::optional<Probe> p = raftbgp::ping::decode_probe(bytes);
    if (!p || p->mode != Mode::kRaw || p->src == opt_.id || p->dst != opt_.id) return;
    if (seen_before(*p, p->src)) {
      ++raw_duplicates_;  // expected after a session reset: raw probes have no replay protection
      return;
    }
    on_probe(*p, now);
  }

  void on_probe(const Probe& p, std::int64_t now) {
    const double ms = static_cast<double>(static_cast<std::int64_t>(wall_ns() - p.t_send_ns)) / 1e6;
    const bool raw = p.mode == Mode::kRaw;
    if (p.kind == Kind::kPing) {
      ++(raw ? recv_raw_pings_ : recv_pings_);
      push_sample(raw ? raw_oneway_ms_ : oneway_ms_, ms);
      max_ping_bytes_ = std::max<std::uint64_t>(max_ping_bytes_, p.size);
      if (p.size > opt_.budget) ++fragmented_pings_;
      Probe pong = p;
      pong.kind = Kind::kPong;
      pong.src = opt_.id;
      pong.dst = p.src;
      pong.size = 0;  // header only
      if (raw) {
        send_raw(pong);
        ++sent_raw_pongs_;
      } else {
        send_sealed(pong, false);
        ++sent_pongs_;
      }
      return;
    }
    // A pong: ours only if it carries our epoch.
    ++(raw ? recv_raw_pongs_ : recv_pongs_);
    if (p.epoch != epoch_) return;
    push_sample(raw ? raw_rtt_ms_ : rtt_ms_, ms);
    auto it = pending_.find(p.id);
    if (it == pending_.end()) return;
    for (Job& j : jobs_) {
      if (j.first_id != it->second) continue;
      if (raw) {
        ++j.raw_pongs;
        push_sample(j.raw_rtt_ms, ms);
      } else {
        ++j.pongs;
        push_sample(j.rtt_ms, ms);
      }
    }
    pending_.erase(it);
    (void)now;
  }

  void finish(const Job& j) {
    pending_.erase(pending_.lower_bound(j.first_id), pending_.lower_bound(j.first_id + j.count));
    const std::uint64_t back = j.pongs + j.raw_pongs;
    std::string line;
    char buf[512];
    std::snprintf(buf, sizeof buf, "%" PRIu64 " -> %" PRIu64 " %s: %" PRIu64 " sent", opt_.id, j.to, mode_name(j.mode),
                  j.sent);
    line += buf;
    if (j.mode != JobMode::kWrongKey) {
      const double loss =
          j.sent ? 100.0 * static_cast<double>(j.sent - std::min(back, j.sent)) / static_cast<double>(j.sent) : 0;
      std::snprintf(buf, sizeof buf, ", %" PRIu64 " answered, %.0f%% loss, %" PRIu64 " duplicates", back, loss,
                    duplicates_);
      line += buf;
      auto stats = [&](const char* name, const std::vector<double>& v) {
        if (v.empty()) return;
        std::snprintf(buf, sizeof buf, ", %srtt min/median/p90/max %.2f/%.2f/%.2f/%.2f ms", name,
                      *std::min_element(v.begin(), v.end()), percentile(v, 0.5), percentile(v, 0.9),
                      *std::max_element(v.begin(), v.end()));
        line += buf;
      };
      stats("", j.rtt_ms);
      stats("raw ", j.raw_rtt_ms);
    }
    std::snprintf(buf, sizeof buf, "; rejected: %" PRIu64 " (bad_tag %" PRIu64 ", replay %" PRIu64 ")",
                  tr_.counters().rejected_total(), tr_.counters().rejected_for(rt::RejectReason::kBadTag),
                  tr_.counters().rejected_for(rt::RejectReason::kReplay));
    line += buf;
    std::fprintf(stderr, "raftbgp-ping: %s\n", line.c_str());
    if (log_ != stderr) logf("%s", line.c_str());
    nlohmann::json r = {{"to", j.to},       {"mode", mode_name(j.mode)},    {"count", j.count}, {"sent", j.sent},
                        {"answered", back}, {"interval_ms", j.interval_ms}, {"sizes", j.sizes}, {"summary", line}};
    if (!j.rtt_ms.empty()) r["rtt_median_ms"] = percentile(j.rtt_ms, 0.5);
    if (!j.raw_rtt_ms.empty()) r["raw_rtt_median_ms"] = percentile(j.raw_rtt_ms, 0.5);
    finished_.push_back(std::move(r));
  }

  Options opt_;
  rt::Transport tr_;
  rt::TransportConfig wrong_config_;
  std::optional<rt::Transport> wrong_;
  std::uint64_t epoch_;
  FILE* log_;
  rt::Family raw_family_;
  bool raw_enabled_ = false;
  std::uint8_t raw_code_ = 0xf0;
  std::string raw_key_;
  std::uint32_t raw_slot_ = 0;

  std::string out_;
  std::deque<char> owners_;  // who wrote each command ExaBGP has not acked: T transport, W wrong key, R raw
  std::uint64_t tick_ = 0;
  std::set<std::string> sessions_up_;
  std::int64_t up_since_ = 0;

  std::deque<Job> jobs_;
  std::vector<nlohmann::json> finished_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::uint64_t> pending_;  // ping id -> its job's first id
  std::set<std::tuple<std::uint64_t, std::uint64_t, int, int, std::uint64_t>> seen_;

  std::uint64_t sent_pings_ = 0, sent_pongs_ = 0, sent_wrong_key_ = 0, sent_raw_pings_ = 0, sent_raw_pongs_ = 0;
  std::uint64_t recv_pings_ = 0, recv_pongs_ = 0, recv_raw_pings_ = 0, recv_raw_pongs_ = 0;
  std::uint64_t delivered_ = 0, not_probe_ = 0, duplicates_ = 0, raw_duplicates_ = 0;
  std::uint64_t raw_acks_done_ = 0, raw_acks_error_ = 0;
  std::uint64_t max_ping_bytes_ = 0, fragmented_pings_ = 0;
  std::vector<double> rtt_ms_, raw_rtt_ms_, oneway_ms_, raw_oneway_ms_;
};

nlohmann::json transport_counters(const rt::Counters& c) {
  nlohmann::json rejected = nlohmann::json::object();
  for (std::size_t i = 0; i < rt::kRejectReasonCount; ++i)
    rejected[std::string(rt::to_string(static_cast<rt::RejectReason>(i)))] = c.rejected[i];
  nlohmann::json line_errors = nlohmann::json::object();
  for (std::size_t i = 0; i < rt::kLineErrorCount; ++i)
    line_errors[std::string(rt::to_string(static_cast<rt::LineError>(i)))] = c.line_errors[i];
  return {{"messages_sent", c.messages_sent},
          {"frames_sent", c.frames_sent},
          {"frame_bytes_sent", c.frame_bytes_sent},
          {"withdrawals_sent", c.withdrawals_sent},
          {"send_refused", c.send_refused},
          {"queue_dropped", c.queue_dropped},
          {"queue_waiting", c.queue_waiting},
          {"queue_outstanding", c.queue_outstanding},
          {"acks_done", c.acks_done},
          {"acks_error", c.acks_error},
          {"acks_unexpected", c.acks_unexpected},
          {"lines", c.lines},
          {"line_errors", line_errors},
          {"updates", c.updates},
          {"eors", c.eors},
          {"not_mailbox", c.not_mailbox},
          {"frames_received", c.frames_received},
          {"rejected", rejected},
          {"rejected_total", c.rejected_total()},
          {"messages_delivered", c.messages_delivered},
          {"fragment_duplicates", c.fragment_duplicates},
          {"reassembly_expired", c.reassembly_expired},
          {"reassembly_evicted", c.reassembly_evicted_count},
          {"fragments_pending", c.fragments_pending},
          {"peer_connected", c.peer_connected},
          {"peer_up", c.peer_up},
          {"peer_down", c.peer_down},
          {"notifications", c.notifications}};
}

nlohmann::json Pinger::results() const {
  return {{"tool", "raftbgp-ping"},
          {"id", opt_.id},
          {"cluster_id", opt_.cluster_id},
          {"epoch", epoch_},
          {"pid", getpid()},
          {"updated_unix_ms", wall_ns() / 1'000'000},
          {"sessions_up", sessions_up_.size()},
          {"jobs_pending", jobs_.size()},
          {"sent",
           {{"pings", sent_pings_},
            {"pongs", sent_pongs_},
            {"wrong_key", sent_wrong_key_},
            {"raw_pings", sent_raw_pings_},
            {"raw_pongs", sent_raw_pongs_}}},
          {"received",
           {{"pings", recv_pings_},
            {"pongs", recv_pongs_},
            {"raw_pings", recv_raw_pings_},
            {"raw_pongs", recv_raw_pongs_},
            {"max_ping_bytes", max_ping_bytes_},
            {"fragmented_pings", fragmented_pings_}}},
          {"delivered", delivered_},
          {"not_probe", not_probe_},
          {"duplicates", duplicates_},
          {"raw_duplicates", raw_duplicates_},
          {"raw_acks", {{"done", raw_acks_done_}, {"error", raw_acks_error_}}},
          {"rtt_ms", rtt_ms_},
          {"raw_rtt_ms", raw_rtt_ms_},
          {"oneway_ms", oneway_ms_},
          {"raw_oneway_ms", raw_oneway_ms_},
          {"runs", finished_},
          {"transport", transport_counters(tr_.counters())},
          {"wrong_key_transport", wrong_ ? transport_counters(wrong_->counters()) : nlohmann::json(nullptr)}};
}

// --- start-up ----------------------------------------------------------------------------------------

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "raftbgp-ping: %s\n", why.c_str());
  std::exit(2);
}

bool write_atomically(const std::string& path, const std::string& text) {
  return !raftbgp::agent::atomic_write_file(path, text).has_value();
}

rt::TransportConfig make_config(const Options& o, std::uint64_t epoch) {
  rt::TransportConfig c;
  c.cluster_id = o.cluster_id;
  c.my_id = o.id;
  c.members = o.members;
  if (o.family == "ipv4") {
    c.family = rt::Family::kIpv4;
    c.next_hop_ipv4 = o.next_hop.empty() ? "self" : o.next_hop;
  } else if (o.family == "ipv6") {
    c.family = rt::Family::kIpv6;
    c.next_hop_ipv6 = o.next_hop;
  } else {
    die("--family: ipv4 or ipv6");
  }
  c.neighbor = o.neighbor;
  c.attribute_code = static_cast<std::uint8_t>(o.attribute_code);
  c.payload_budget = o.budget;
  auto ring = rt::load_key_file(o.key_file);
  if (auto* e = std::get_if<rt::KeyFileError>(&ring)) die("--key-file: " + e->message);
  c.keys = std::move(std::get<rt::KeyRing>(ring));
  c.active_key_id = o.key_id;
  c.epoch = epoch;
  return c;
}

// The same node with a key nobody else has, under the same key id: receivers see bad_tag.
// Precondition: the active key id is in the ring (main checks it first: a config error, exit 2).
rt::TransportConfig wrong_key_config(rt::TransportConfig c) {
  const rt::KeyEntry* real = c.keys.find(c.active_key_id);
  rt::Key k = real->key;
  for (auto& b : k) b = static_cast<std::uint8_t>(b ^ 0x5a);
  rt::KeyRing ring;
  ring.add(c.active_key_id, k, real->algorithm);
  c.keys = std::move(ring);
  return c;
}

// "ping to=3 count=10 size=200,20000 interval=100 mode=sealed" | "withdraw" | "dump"
std::optional<Job> parse_job(const std::string& line, std::string& err) {
  std::istringstream in(line);
  std::string verb, kv;
  in >> verb;
  Job j;
  j.count = 1;
  while (in >> kv) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) {
      err = "expected key=value: " + kv;
      return std::nullopt;
    }
    const std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
    try {
      if (k == "to") {
        j.to = std::stoull(v);
      } else if (k == "count") {
        j.count = std::stoull(v);
      } else if (k == "interval") {
        j.interval_ms = std::stoull(v);
      } else if (k == "size") {
        j.sizes.clear();
        std::istringstream s(v);
        for (std::string part; std::getline(s, part, ',');) j.sizes.push_back(std::stoull(part));
      } else if (k == "pad") {
        j.pad_raw = v == "1" || v == "yes" || v == "true";
      } else if (k == "mode") {
        auto m = parse_mode(v);
        if (!m) {
          err = "mode: sealed|raw|wrong-key|both";
          return std::nullopt;
        }
        j.mode = *m;
      } else {
        err = "unknown key " + k;
        return std::nullopt;
      }
    } catch (const std::exception&) {
      err = "bad number in " + kv;
      return std::nullopt;
    }
  }
  if (j.to == 0 || j.sizes.empty() || j.count == 0) {
    err = "need to=ID count>=1 size=N";
    return std::nullopt;
  }
  return j;
}

void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Splits complete lines off `buf`. A line longer than the transport's cap is cut off and dropped whole
// (it would be rejected anyway), so memory stays bounded whatever ExaBGP writes.
template <class F>
void drain_lines(std::string& buf, bool& skipping, F&& f) {
  std::size_t start = 0;
  for (std::size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view l(buf.data() + start, nl - start);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (skipping) {
      skipping = false;
      continue;
    }
    f(l);
  }
  buf.erase(0, start);
  if (buf.size() > 2 * rt::kMaxLineBytes) {
    buf.clear();
    skipping = true;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "raftbgp-ping: test a BGP path with the raftbgp transport before forming a cluster.\n"
      "Run it as ExaBGP's process (encoder json): it answers pings addressed to --id and, with --to/--count or a\n"
      "`ping to=ID count=N size=B[,B..] interval=MS mode=sealed|raw|wrong-key|both [pad=1]` line on its control\n"
      "FIFO (pad=1: raw probes as long as the sealed frames), sends pings and prints one summary line per run on "
      "stderr. stdout carries ExaBGP commands only.",
      "raftbgp-ping"};
  app.set_config("--config", "", "TOML/INI file with any of these options (key = value)");
  app.add_option("--cluster-id", o.cluster_id, "Cluster id (must match the peer's)")->required();
  app.add_option("--id", o.id, "This node's id (1..4095 for IPv6 mailboxes, 1..31 for IPv4)")->required();
  app.add_option("--members", o.members, "Member ids (optional; checked against the mailbox layout)")->delimiter(',');
  app.add_option("--key-file", o.key_file, "Cluster key file, mode 0600: `<id> <64 hex> [algorithm]` per line")
      ->required();
  app.add_option("--key-id", o.key_id, "Key id to seal with")->capture_default_str();
  app.add_option("--family", o.family, "Family of the mailbox prefixes: ipv6 or ipv4")->capture_default_str();
  app.add_option("--next-hop", o.next_hop,
                 "Next hop for announcements (an IPv6 address for ipv6; default self for ipv4)");
  app.add_option("--neighbor", o.neighbor, "Prefix every command with `neighbor <ip>`");
  app.add_option("--attribute-code", o.attribute_code, "Attribute type code of the frames")->capture_default_str();
  app.add_option("--raw-code", o.raw_code, "Attribute type code of raw (unsealed) probes")->capture_default_str();
  app.add_option("--budget", o.budget, "Attribute bytes per announcement (2900 fits BIRD)")->capture_default_str();
  app.add_option("--state-dir", o.state_dir,
                 "Directory for epoch, replay, ping.json, ping.ctl (defaults for the next four; replay: the "
                 "replay windows, loaded at start, saved every second and at exit)");
  app.add_option("--epoch-file", o.epoch_file, "Persisted boot counter, bumped at every start (required: nonces)");
  app.add_option("--results", o.results, "JSON results file, rewritten every second and at exit");
  app.add_option("--control", o.control, "Control FIFO: one `ping ...`, `withdraw` or `dump` per line");
  app.add_option("--log", o.log, "Log file (default stderr)");
  app.add_option("--to", o.to, "Send pings to this node id");
  app.add_option("--count", o.count, "Number of pings (0 = only answer)")->capture_default_str();
  app.add_option("--size", o.sizes, "Probe bytes, cycled: --size 200,20000")->delimiter(',')->capture_default_str();
  app.add_option("--interval-ms", o.interval_ms, "Time between pings")->capture_default_str();
  app.add_option("--mode", o.mode, "sealed | raw | wrong-key | both (raw and sealed alternately)")
      ->capture_default_str();
  app.add_flag("--wrong-key", o.wrong_key, "Seal with a key the receiver lacks (it must reject them: bad_tag)");
  app.add_flag("--raw", o.raw, "Send raw unsealed probes (the latency baseline)");
  app.add_option("--start-delay-ms", o.start_delay_ms, "Wait after the session comes up before pinging")
      ->capture_default_str();
  app.add_option("--linger-ms", o.linger_ms, "Wait for late pongs after the last ping")->capture_default_str();
  app.add_flag("--no-wait-up", o.no_wait_up, "Do not wait for a BGP session before pinging");
  CLI11_PARSE(app, argc, argv);

  if (o.wrong_key) o.mode = "wrong-key";
  if (o.raw) o.mode = "raw";
  const std::optional<JobMode> mode = parse_mode(o.mode);
  if (!mode) die("--mode: sealed, raw, wrong-key or both");
  if (o.attribute_code > 0xff || o.raw_code > 0xff) die("--attribute-code/--raw-code: one byte");
  if (o.raw_code == o.attribute_code) die("--raw-code must differ from --attribute-code");
  if (!o.state_dir.empty()) {
    if (o.epoch_file.empty()) o.epoch_file = o.state_dir + "/epoch";
    if (o.results.empty()) o.results = o.state_dir + "/ping.json";
    if (o.control.empty()) o.control = o.state_dir + "/ping.ctl";
  }
  if (o.epoch_file.empty()) die("need --state-dir or --epoch-file: the epoch must be persisted across restarts");
  if (o.count > 0 && o.to == 0) die("--count needs --to");
  for (std::size_t s : o.sizes)
    if (s == 0 || s > 1024 * 1024) die("--size: 1..1048576 bytes");

  FILE* log = stderr;
  if (!o.log.empty()) {
    log = std::fopen(o.log.c_str(), "a");
    if (!log) die(o.log + ": " + std::strerror(errno));
  }
  rt::TransportConfig config = make_config(o, 0);
  if (!config.keys.contains(config.active_key_id))
    die("--key-id " + std::to_string(config.active_key_id) + ": not in " + o.key_file);
  // The agent's boot counter (agent/include/raftbgp/agent/files.h): locked for our lifetime, fsync'd
  // bump; only once the rest of the configuration is known to be good.
  auto lease = raftbgp::agent::bump_epoch_file(o.epoch_file);
  if (auto* e = std::get_if<raftbgp::agent::FileError>(&lease)) die(e->message);
  const std::uint64_t epoch = std::get<raftbgp::agent::EpochLease>(lease).epoch();
  config.epoch = epoch;
  rt::TransportConfig wrong = wrong_key_config(config);
  auto created = rt::Transport::create(config);
  if (auto* e = std::get_if<std::string>(&created)) die("config: " + *e);
  // Replay windows across restarts, as raftbgpd keeps them (agent/include/raftbgp/agent/replay_store.h).
  // Saved with the results (every second) and at exit: a crash may forget the last second's marks.
  raftbgp::agent::ReplayStore replay_store;
  if (!o.state_dir.empty()) {
    replay_store = raftbgp::agent::ReplayStore(o.state_dir);
    if (auto e = replay_store.load(std::get<rt::Transport>(created))) die(e->message);
  }
  Pinger p(o, std::move(std::get<rt::Transport>(created)), std::move(wrong), epoch, log);
  p.set_raw(true, o.raw_code);
  p.logf("started: id %" PRIu64 " cluster %u epoch %" PRIu64 " family %s", o.id, o.cluster_id, epoch, o.family.c_str());
  if (o.count > 0) {
    Job j;
    j.to = o.to;
    j.mode = *mode;
    j.count = o.count;
    j.sizes = o.sizes;
    j.interval_ms = o.interval_ms;
    p.add_job(std::move(j));
  }

  int ctl = -1;
  if (!o.control.empty()) {
    if (mkfifo(o.control.c_str(), 0600) != 0 && errno != EEXIST) die(o.control + ": " + std::strerror(errno));
    ctl = open(o.control.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);  // RDWR: never sees EOF
    if (ctl < 0) die(o.control + ": " + std::strerror(errno));
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  set_nonblock(0);
  set_nonblock(1);

  auto dump = [&] {
    if (auto e = replay_store.save(p.transport())) p.logf("%s", e->message.c_str());
    if (!o.results.empty() && !write_atomically(o.results, p.results().dump(1) + "\n"))
      p.logf("cannot write %s: %s", o.results.c_str(), std::strerror(errno));
  };
  std::string in, ctl_in;
  bool skipping = false, ctl_skipping = false, eof = false;
  std::int64_t next_tick = mono_ns(), next_dump = mono_ns();
  char buf[65536];
  while (!g_stop && !eof) {
    const std::int64_t now = mono_ns();
    std::int64_t wake = std::min({p.run_jobs(now), next_tick, next_dump});
    if (now >= next_tick) {
      p.tick();
      next_tick = now + 100'000'000;
    }
    if (now >= next_dump) {
      dump();
      next_dump = now + 1'000'000'000;
    }
    pollfd fds[3] = {{0, POLLIN, 0}, {1, static_cast<short>(p.out().empty() ? 0 : POLLOUT), 0}, {ctl, POLLIN, 0}};
    const auto timeout_ms = static_cast<int>(std::clamp<std::int64_t>((wake - mono_ns()) / 1'000'000, 0, 1000));
    if (poll(fds, ctl >= 0 ? 3 : 2, p.out().empty() ? timeout_ms : std::min(timeout_ms, 100)) < 0 && errno != EINTR)
      break;
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      for (;;) {
        const ssize_t n = read(0, buf, sizeof buf);
        if (n > 0) {
          in.append(buf, static_cast<std::size_t>(n));
          continue;
        }
        if (n == 0) eof = true;
        break;
      }
      drain_lines(in, skipping, [&](std::string_view l) { p.on_line(l, mono_ns()); });
    }
    if (ctl >= 0 && (fds[2].revents & POLLIN)) {
      const ssize_t n = read(ctl, buf, sizeof buf);
      if (n > 0) ctl_in.append(buf, static_cast<std::size_t>(n));
      drain_lines(ctl_in, ctl_skipping, [&](std::string_view l) {
        const std::string line(l);
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
          dump();
        } else if (!line.empty()) {
          p.logf("control: unknown command: %s", line.c_str());
        }
      });
    }
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
  p.logf("exiting (%s)", g_stop ? "signal" : "stdin closed");
  dump();
  return 0;
}
