#include "pinger.h"

#include <unistd.h>
#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <ctime>

#include "raftbgp/transport/counter_table.h"

namespace raftbgp::ping {
namespace {

std::int64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

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

}  // namespace

std::int64_t mono_ns() { return clock_ns(CLOCK_MONOTONIC); }
std::uint64_t wall_ns() { return static_cast<std::uint64_t>(clock_ns(CLOCK_REALTIME)); }

void Pinger::add_job(Job j) {
  j.first_id = next_id_;
  next_id_ += j.count;
  jobs_.push_back(std::move(j));
}

void Pinger::on_line(std::string_view line, std::int64_t now) {
  if (line == "done" || line == "error") return on_ack(line);
  if (raw_enabled_ && line.find(raw_key_) != std::string_view::npos) return on_raw_line(line, now);
  rt::Transport::Received r = tr_.on_line(line, tick_);
  for (std::string& l : r.lines) write_line(Writer::kTransport, std::move(l));
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

std::int64_t Pinger::run_jobs(std::int64_t now) {
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

void Pinger::withdraw() {
  for (std::string& l : tr_.withdraw_announced()) write_line(Writer::kTransport, std::move(l));
  if (wrong_)
    for (std::string& l : wrong_->withdraw_announced()) write_line(Writer::kWrongKey, std::move(l));
}

void Pinger::set_raw(bool on, unsigned code) {
  raw_enabled_ = on;
  raw_code_ = static_cast<std::uint8_t>(code);
  char key[32];
  std::snprintf(key, sizeof key, "\"attribute-0x%02X-", code);
  raw_key_ = key;
}

void Pinger::logf(const char* fmt, ...) {
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

void Pinger::write_line(Writer w, std::string line) {
  if (w == Writer::kRaw) {
    if (!router_.queue_agent(std::move(line))) return;
    for (const std::string& l : router_.take_agent_ready()) (out_ += l) += '\n';
    return;
  }
  if (!router_.transport_written(line, static_cast<std::uint8_t>(w))) return;
  (out_ += line) += '\n';
}

void Pinger::on_ack(std::string_view line) {
  const std::optional<rt::AckRouter::Acked> acked = router_.on_ack();
  if (acked && acked->owner == rt::LineOwner::kAgent) {
    ++(line == "done" ? raw_acks_done_ : raw_acks_error_);
    return;
  }
  // Nothing outstanding: tr_ counts the ack as unexpected.
  const bool wrong = acked && acked->transport == static_cast<std::uint8_t>(Writer::kWrongKey) && wrong_;
  rt::Transport& t = wrong ? *wrong_ : tr_;
  rt::Transport::Received r = t.on_line(line, tick_);
  if (line == "error") logf("ExaBGP refused a command: %.200s", t.last_error_command().c_str());
  for (std::string& l : r.lines) write_line(wrong ? Writer::kWrongKey : Writer::kTransport, std::move(l));
}

void Pinger::send_ping(Job& j, std::int64_t now) {
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

std::size_t Pinger::sealed_bytes(const Probe& p) const {
  raftbgp::v1::Message m;
  m.set_from(opt_.id);
  m.set_to(p.dst);
  m.set_context(raftbgp::ping::encode_probe(p));
  return m.ByteSizeLong() + rt::frame_overhead(1);
}

void Pinger::send_sealed(const Probe& p, bool wrong_key) {
  raftbgp::v1::Message m;
  m.set_from(opt_.id);
  m.set_to(p.dst);
  m.set_context(raftbgp::ping::encode_probe(p));
  const std::vector<std::uint64_t> to{p.dst};
  if (!wrong_key) {
    const std::uint64_t refused = tr_.counters().send_refused;
    for (std::string& l : tr_.send(m, to)) write_line(Writer::kTransport, std::move(l));
    if (tr_.counters().send_refused != refused) logf("transport refused to send %u bytes to %" PRIu64, p.size, p.dst);
    return;
  }
  if (!wrong_) {
    auto w = rt::Transport::create(wrong_config_);
    wrong_.emplace(std::move(std::get<rt::Transport>(w)));
  }
  for (std::string& l : wrong_->send(m, to)) write_line(Writer::kWrongKey, std::move(l));
}

rt::IpPrefix Pinger::raw_prefix() {
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

void Pinger::send_raw(const Probe& p) {
  const std::string payload = raftbgp::ping::encode_probe(p);
  const rt::ByteView view(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size());
  const std::string& nh = raw_family_ == rt::Family::kIpv4 ? tr_.config().next_hop_ipv4 : tr_.config().next_hop_ipv6;
  write_line(Writer::kRaw, rt::format_announce(opt_.neighbor, raw_prefix(), nh, raw_code_, 0xc0, view));
}

bool Pinger::seen_before(const Probe& p, std::uint64_t from) {
  if (seen_.size() > kMaxSeen) seen_.erase(seen_.begin());  // bounded for long runs: forget the oldest ids
  return !seen_.insert({from, p.epoch, static_cast<int>(p.kind), static_cast<int>(p.mode), p.id}).second;
}

void Pinger::on_message(const raftbgp::v1::Message& m, std::int64_t now) {
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

void Pinger::on_raw_line(std::string_view line, std::int64_t now) {
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

void Pinger::on_probe(const Probe& p, std::int64_t now) {
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

void Pinger::finish(const Job& j) {
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
          {"transport", rt::counters_json(tr_.counters())},
          {"wrong_key_transport", wrong_ ? rt::counters_json(wrong_->counters()) : nlohmann::json(nullptr)}};
}

}  // namespace raftbgp::ping
