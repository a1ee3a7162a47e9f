// raftbgp-ping's options (tools/ping.cc): the command line, the control FIFO's `ping ...` line, and the
// TransportConfig they make. No IO except reading the key file in make_config.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "raftbgp/transport/transport.h"

namespace raftbgp::ping {

namespace rt = raftbgp::transport;

enum class JobMode { kSealed, kRaw, kWrongKey, kBoth };

// "sealed", "raw", "wrong-key" (or "wrong"), "both"; nullopt for anything else.
std::optional<JobMode> parse_mode(const std::string& s);
const char* mode_name(JobMode m);

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

// Declares every command-line option of raftbgp-ping on `app`, bound to `o`.
void add_options(CLI::App& app, Options& o);

// After parsing: applies --wrong-key/--raw and the --state-dir defaults, then checks the combination.
// Returns the mode of the command-line run, or the message of a usage error (exit 2).
std::variant<JobMode, std::string> finish_options(Options& o);

// The Transport's configuration for `o` (the key file is read here). A string: the config error (exit 2).
std::variant<rt::TransportConfig, std::string> make_config(const Options& o, std::uint64_t epoch);

// The same node with a key nobody else has, under the same key id: receivers see bad_tag.
// Precondition: the active key id is in the ring (main checks it first: a config error, exit 2).
rt::TransportConfig wrong_key_config(rt::TransportConfig c);

// A control FIFO line "ping to=3 count=10 size=200,20000 interval=100 mode=sealed [pad=1]" as a Job;
// nullopt with `err` set when a key or value is wrong.
std::optional<Job> parse_job(const std::string& line, std::string& err);

}  // namespace raftbgp::ping
