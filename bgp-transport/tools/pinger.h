// The probe loop of raftbgp-ping (tools/ping.cc): answers pings with pongs, runs the ping jobs, keeps the
// application-level counters and RTT samples, and renders them as the results JSON. No IO of its own: ping.cc
// feeds it ExaBGP's lines and the clock and writes out() to ExaBGP; logf() writes the log file it was given.
//
// All commands share one ExaBGP stream: an AckRouter (raftbgp/transport/ack_router.h) hands each done/error to
// the Transport that wrote the command (the real one or the wrong-key one) or counts it for the raw probes.
#pragma once

#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "ping_options.h"
#include "ping_probe.h"
#include "raftbgp/transport/ack_router.h"
#include "raftbgp/transport/transport.h"

namespace raftbgp::ping {

std::int64_t mono_ns();   // CLOCK_MONOTONIC, ns
std::uint64_t wall_ns();  // CLOCK_REALTIME, ns (probes carry it: one-way times need synchronised clocks)

class Pinger {
 public:
  Pinger(Options opt, rt::Transport transport, rt::TransportConfig wrong_config, std::uint64_t epoch, FILE* log)
      : opt_(std::move(opt)),
        tr_(std::move(transport)),
        wrong_config_(std::move(wrong_config)),
        epoch_(epoch),
        log_(log),
        raw_family_(opt_.family == "ipv4" ? rt::Family::kIpv4 : rt::Family::kIpv6) {
    router_.set_refusal_log([this](std::string_view shown) {
      logf("refused an unsafe command: %.*s", static_cast<int>(shown.size()), shown.data());
    });
  }
  // The router's refusal log holds `this`.
  Pinger(const Pinger&) = delete;
  Pinger& operator=(const Pinger&) = delete;

  void add_job(Job j);

  // One line from ExaBGP (without '\n').
  void on_line(std::string_view line, std::int64_t now);

  // Sends what is due; finishes jobs. Returns the monotonic time of the next thing to do.
  std::int64_t run_jobs(std::int64_t now);

  void tick() { tr_.tick(++tick_); }
  void withdraw();
  void set_raw(bool on, unsigned code);

  std::string& out() { return out_; }
  const rt::Transport& transport() const { return tr_; }
  nlohmann::json results() const;

  __attribute__((format(printf, 2, 3))) void logf(const char* fmt, ...);

 private:
  // Who wrote a command: the ack goes back to it (router_). Numbers are AckRouter transport numbers.
  enum class Writer : std::uint8_t { kTransport = 0, kWrongKey = 1, kRaw };
  void write_line(Writer w, std::string line);

  void on_ack(std::string_view line);

  void send_ping(Job& j, std::int64_t now);

  // Attribute bytes of the sealed frame that would carry `p` (one fragment, one destination).
  std::size_t sealed_bytes(const Probe& p) const;

  void send_sealed(const Probe& p, bool wrong_key);

  rt::IpPrefix raw_prefix();

  void send_raw(const Probe& p);

  // Application-level duplicate check: the transport promises none for sealed probes.
  bool seen_before(const Probe& p, std::uint64_t from);

  void on_message(const raftbgp::v1::Message& m, std::int64_t now);

  void on_raw_line(std::string_view line, std::int64_t now);

  void on_probe(const Probe& p, std::int64_t now);

  void finish(const Job& j);

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
  // Who wrote each command ExaBGP has not acked: transport 0 (tr_), transport 1 (wrong_), or raw probes as
  // "agent" lines with no window of their own (they are paced by the job's interval).
  rt::AckRouter router_{SIZE_MAX};
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

}  // namespace raftbgp::ping
