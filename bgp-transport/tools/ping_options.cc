#include "ping_options.h"

#include <sstream>

namespace raftbgp::ping {

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

void add_options(CLI::App& app, Options& o) {
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
  app.add_option("--slot-ttl-ms", o.slot_ttl_ms,
                 "Withdraw a mailbox route this long after its last use (a multiple of the 100-ms tick, > 200)")
      ->capture_default_str();
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
}

std::variant<JobMode, std::string> finish_options(Options& o) {
  if (o.wrong_key) o.mode = "wrong-key";
  if (o.raw) o.mode = "raw";
  const std::optional<JobMode> mode = parse_mode(o.mode);
  if (!mode) return std::string("--mode: sealed, raw, wrong-key or both");
  if (o.attribute_code > 0xff || o.raw_code > 0xff) return std::string("--attribute-code/--raw-code: one byte");
  if (o.raw_code == o.attribute_code) return std::string("--raw-code must differ from --attribute-code");
  if (!o.state_dir.empty()) {
    if (o.epoch_file.empty()) o.epoch_file = o.state_dir + "/epoch";
    if (o.results.empty()) o.results = o.state_dir + "/ping.json";
    if (o.control.empty()) o.control = o.state_dir + "/ping.ctl";
  }
  if (o.epoch_file.empty())
    return std::string("need --state-dir or --epoch-file: the epoch must be persisted across restarts");
  if (o.count > 0 && o.to == 0) return std::string("--count needs --to");
  for (std::size_t s : o.sizes)
    if (s == 0 || s > 1024 * 1024) return std::string("--size: 1..1048576 bytes");
  return *mode;
}

std::variant<rt::TransportConfig, std::string> make_config(const Options& o, std::uint64_t epoch) {
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
    return std::string("--family: ipv4 or ipv6");
  }
  c.neighbor = o.neighbor;
  c.attribute_code = static_cast<std::uint8_t>(o.attribute_code);
  c.payload_budget = o.budget;
  c.compress = false;  // a probe of size=N puts N bytes on the wire, compressible or not (frame v2)
  c.slot_ttl_ticks = o.slot_ttl_ms / kTickMs;
  auto ring = rt::load_key_file(o.key_file);
  if (auto* e = std::get_if<rt::KeyFileError>(&ring)) return "--key-file: " + e->message;
  c.keys = std::move(std::get<rt::KeyRing>(ring));
  c.active_key_id = o.key_id;
  // Checked here, before wrong_key_config (which seals with this key) and Transport::create see it.
  if (!c.keys.contains(c.active_key_id))
    return "--key-id " + std::to_string(c.active_key_id) + ": not in " + o.key_file;
  c.epoch = epoch;
  return c;
}

rt::TransportConfig wrong_key_config(rt::TransportConfig c) {
  const rt::KeyEntry* real = c.keys.find(c.active_key_id);
  rt::Key k = real->key;
  for (auto& b : k) b = static_cast<std::uint8_t>(b ^ 0x5a);
  rt::KeyRing ring;
  ring.add(c.active_key_id, k, real->algorithm);
  c.keys = std::move(ring);
  return c;
}

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

}  // namespace raftbgp::ping
