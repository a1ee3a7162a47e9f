#include "raftbgp/agent/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <utility>

#include "raftbgp/agent/state_machine.h"
#include "raftbgp/transport/exabgp.h"
#include "raftbgp/transport/frame.h"

namespace raftbgp::agent {
namespace {

using transport::Family;
using transport::IpPrefix;
using transport::MailboxLayout;
using transport::MailboxPlan;

// Internal only: validate_config catches it and records its errors. Usually one error; only_keys throws
// every unknown or duplicate key of a mapping at once.
struct Fail {
  std::vector<ConfigError> errors;
};
[[noreturn]] void fail(std::string field, std::string why) {
  throw Fail{{ConfigError{std::move(field), std::move(why)}}};
}

// Runs one independent step of the validation; its error is recorded and the next step still runs, so
// --check-config lists every error, not just the first.
template <class F>
void attempt(std::vector<ConfigError>& errors, F&& step) {
  try {
    step();
  } catch (const Fail& f) {
    errors.insert(errors.end(), f.errors.begin(), f.errors.end());
  } catch (const YAML::Exception& e) {
    errors.push_back({"(yaml)", e.msg, e.mark.line + 1});
  }
}

std::string join(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

// Unsigned integer scalar in [lo, hi]. yaml-cpp's own as<> accepts "1.5" for integers in some versions
// and wraps negatives, so the text is parsed here.
std::uint64_t read_uint(const YAML::Node& n, const std::string& field, std::uint64_t lo, std::uint64_t hi) {
  if (!n.IsScalar()) fail(field, "must be an integer");
  const std::string s = n.Scalar();
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty())
    fail(field, "must be an integer, got \"" + s + "\"");
  if (v < lo || v > hi) fail(field, "must be in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + s);
  return v;
}

std::string read_string(const YAML::Node& n, const std::string& field) {
  if (!n.IsScalar()) fail(field, "must be a string");
  return n.Scalar();
}

std::string read_abs_path(const YAML::Node& n, const std::string& field) {
  std::string s = read_string(n, field);
  if (s.empty() || s.front() != '/') fail(field, "must be an absolute path, got \"" + s + "\"");
  return s;
}

// Checks that `map` has only keys in `known`, each once. yaml-cpp keeps both copies of a duplicate key and
// lookups see the first: a second `node_id:` further down would be silently ignored, so it is an error.
void only_keys(const YAML::Node& map, const std::string& parent, std::initializer_list<const char*> known) {
  if (!map.IsMap()) fail(parent.empty() ? "(document)" : parent, "must be a mapping");
  Fail all;
  std::set<std::string> seen;
  for (const auto& kv : map) {
    // A complex or empty key would otherwise give an error naming no field.
    if (!kv.first.IsScalar()) fail(parent.empty() ? "(document)" : parent, "has a key that is not a string");
    const std::string key = kv.first.Scalar();
    const std::string field = join(parent, key.empty() ? "\"\"" : key);
    const int line = kv.first.Mark().line + 1;
    if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; }))
      all.errors.push_back({field, "unknown key", line});
    else if (!seen.insert(key).second)
      all.errors.push_back({field, "duplicate key (the first one would win silently)", line});
  }
  if (!all.errors.empty()) throw all;
}

std::uint32_t read_mode(const YAML::Node& n, const std::string& field) {
  const std::string s = read_string(n, field);
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 8);
  if (s.size() < 2 || s.front() != '0' || ec != std::errc() || end != s.data() + s.size() || v > 0777)
    fail(field, "must be an octal mode like \"0660\", got \"" + s + "\"");
  if ((v & 0600) != 0600) fail(field, "the owner needs read and write (at least 0600)");
  // On Linux, connect() to a Unix socket needs write permission on it: "other" write would let every
  // local user write the replicated store, change membership and policy. Read and execute bits mean
  // nothing for connect() and are harmless.
  if ((v & 0002) != 0)
    fail(field, "must not grant write access to others (\"" + s +
                    "\" lets every local user connect); use a "
                    "group, e.g. \"0660\"");
  return v;
}

MailboxLayout read_layout(const YAML::Node& n, const std::string& field, MailboxLayout layout, Family family) {
  only_keys(n, field, {"base", "src_bits", "dst_bits", "slot_bits"});
  if (n["base"]) {
    const std::string text = read_string(n["base"], field + ".base");
    auto p = IpPrefix::parse(text);
    if (!p || p->family != family)
      fail(field + ".base", "must be an " + std::string(family == Family::kIpv6 ? "IPv6" : "IPv4") +
                                " prefix without host bits, got \"" + text + "\"");
    layout.base = *p;
  }
  if (n["src_bits"]) layout.src_bits = static_cast<std::uint8_t>(read_uint(n["src_bits"], field + ".src_bits", 1, 32));
  if (n["dst_bits"]) layout.dst_bits = static_cast<std::uint8_t>(read_uint(n["dst_bits"], field + ".dst_bits", 1, 32));
  if (n["slot_bits"])
    // 3 at least: the transport keeps the top kPresenceSlots (4) of every mailbox for presence routes.
    layout.slot_bits = static_cast<std::uint8_t>(read_uint(n["slot_bits"], field + ".slot_bits", 3, 16));
  auto plan = MailboxPlan::create(layout);
  if (auto* e = std::get_if<std::string>(&plan)) fail(field, *e);
  return layout;
}

void read_mailbox(const YAML::Node& n, AgentConfig& c) {
  only_keys(n, "mailbox", {"family", "ipv6", "ipv4", "slot_reuse_ticks", "slot_ttl_ticks"});
  if (n["family"]) {
    const std::string f = read_string(n["family"], "mailbox.family");
    if (f != "ipv6" && f != "ipv4") fail("mailbox.family", "must be ipv6 or ipv4, got \"" + f + "\"");
    c.mailbox_family = f == "ipv6" ? Family::kIpv6 : Family::kIpv4;
  }
  if (n["ipv6"]) c.mailbox_ipv6 = read_layout(n["ipv6"], "mailbox.ipv6", c.mailbox_ipv6, Family::kIpv6);
  if (n["ipv4"]) c.mailbox_ipv4 = read_layout(n["ipv4"], "mailbox.ipv4", c.mailbox_ipv4, Family::kIpv4);
  if (n["slot_reuse_ticks"]) c.slot_reuse_ticks = read_uint(n["slot_reuse_ticks"], "mailbox.slot_reuse_ticks", 1, 1000);
  if (n["slot_ttl_ticks"]) c.slot_ttl_ticks = read_uint(n["slot_ttl_ticks"], "mailbox.slot_ttl_ticks", 2, 100000);
  if (c.slot_ttl_ticks <= c.slot_reuse_ticks)
    fail("mailbox.slot_ttl_ticks",
         "must be greater than slot_reuse_ticks (" + std::to_string(c.slot_reuse_ticks) + ")");
}

// A list of distinct node ids under `key` (members, learners), sorted.
std::vector<std::uint64_t> read_ids(const YAML::Node& n, const std::string& key, bool may_be_empty) {
  if (!n.IsSequence() || (n.size() == 0 && !may_be_empty)) fail(key, "must be a non-empty list of node ids");
  std::set<std::uint64_t> seen;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const std::string field = key + "[" + std::to_string(i) + "]";
    const std::uint64_t id = read_uint(n[i], field, 1, std::numeric_limits<std::uint32_t>::max());
    if (!seen.insert(id).second) fail(field, "duplicate id " + std::to_string(id));
  }
  return {seen.begin(), seen.end()};
}

void read_next_hops(const YAML::Node& n, AgentConfig& c) {
  only_keys(n, "next_hop", {"ipv4", "ipv6"});
  if (n["ipv4"]) {
    c.next_hop_ipv4 = read_string(n["ipv4"], "next_hop.ipv4");
    if (auto e = transport::validate_next_hop(Family::kIpv4, c.next_hop_ipv4)) fail("next_hop.ipv4", *e);
  }
  if (n["ipv6"]) {
    c.next_hop_ipv6 = read_string(n["ipv6"], "next_hop.ipv6");
    if (auto e = transport::validate_next_hop(Family::kIpv6, c.next_hop_ipv6)) fail("next_hop.ipv6", *e);
  }
}

void read_control_socket(const YAML::Node& n, AgentConfig& c) {
  only_keys(n, "control_socket", {"path", "mode", "idle_timeout_ms"});
  if (n["path"]) c.socket_path = read_abs_path(n["path"], "control_socket.path");
  if (c.socket_path.size() >= 108) fail("control_socket.path", "longer than 107 bytes (sun_path)");
  if (n["mode"]) c.socket_mode = read_mode(n["mode"], "control_socket.mode");
  if (n["idle_timeout_ms"])
    c.socket_idle_timeout_ms = read_uint(n["idle_timeout_ms"], "control_socket.idle_timeout_ms", 100, 3600000);
}

// Each top-level scalar is checked on its own, so one bad value does not hide the next.
// `neighbor: ADDRESS` (every command) or `neighbor: {ipv4: ADDRESS, ipv6: ADDRESS}` (each family's commands to its
// session; a family left out goes to every neighbour). The address is the session's, of either family.
Neighbors read_neighbors(const YAML::Node& n) {
  const auto address = [](const YAML::Node& v, const std::string& field) {
    std::string a = read_string(v, field);
    if (!a.empty() && !transport::parse_address(a)) fail(field, "must be an IPv4 or IPv6 address, got \"" + a + "\"");
    return a;
  };
  if (!n.IsMap()) return Neighbors::both(address(n, "neighbor"));
  only_keys(n, "neighbor", {"ipv4", "ipv6"});
  Neighbors out;
  if (n["ipv4"]) out.ipv4 = address(n["ipv4"], "neighbor.ipv4");
  if (n["ipv6"]) out.ipv6 = address(n["ipv6"], "neighbor.ipv6");
  return out;
}

void read_scalars(const YAML::Node& root, AgentConfig& c, std::vector<ConfigError>& errs) {
  const auto u32 = std::numeric_limits<std::uint32_t>::max();
  attempt(errs, [&] {
    if (!root["node_id"]) fail("node_id", "required");
    c.node_id = read_uint(root["node_id"], "node_id", 1, u32);
  });
  attempt(errs, [&] {
    if (!root["cluster_id"]) fail("cluster_id", "required");
    c.cluster_id = static_cast<std::uint32_t>(read_uint(root["cluster_id"], "cluster_id", 1, u32));
  });
  attempt(errs, [&] {
    if (!root["data_dir"]) fail("data_dir", "required");
    c.data_dir = read_abs_path(root["data_dir"], "data_dir");
  });
  attempt(errs, [&] {
    if (!root["key_file"]) fail("key_file", "required");
    c.key_file = read_abs_path(root["key_file"], "key_file");
  });
  if (root["active_key_id"])
    attempt(errs, [&] {
      c.active_key_id = static_cast<std::uint32_t>(read_uint(root["active_key_id"], "active_key_id", 0, u32));
    });
  if (root["attribute_code"])
    attempt(errs, [&] {
      c.attribute_code = static_cast<std::uint8_t>(read_uint(root["attribute_code"], "attribute_code", 1, 255));
      if (auto e = transport::validate_attribute(c.attribute_code, 0xc0)) fail("attribute_code", *e);
    });
  if (root["payload_budget"])
    attempt(errs, [&] {
      c.payload_budget = read_uint(root["payload_budget"], "payload_budget", 512, transport::kMaxFrameBytes);
    });
  if (root["compression"])
    attempt(errs, [&] {
      const std::string s = read_string(root["compression"], "compression");
      if (s != "deflate" && s != "off") fail("compression", "must be deflate or off, got \"" + s + "\"");
      c.compression = s == "deflate";
    });
  if (root["neighbor"]) attempt(errs, [&] { c.neighbor = read_neighbors(root["neighbor"]); });
  if (root["local_asn"])
    attempt(errs, [&] { c.local_asn = static_cast<std::uint32_t>(read_uint(root["local_asn"], "local_asn", 1, u32)); });
  if (root["log_level"])
    attempt(errs, [&] {
      const std::string s = read_string(root["log_level"], "log_level");
      auto l = parse_log_level(s);
      if (!l) fail("log_level", "must be error, warn, info or debug, got \"" + s + "\"");
      c.log_level = *l;
    });
}

// "HOST:PORT" for the metrics exposer: an IPv4 address or a bracketed IPv6 address, and a port 1..65535.
// An empty string turns the exposer off.
std::string read_listen(const YAML::Node& n) {
  const std::string s = read_string(n, "metrics_listen");
  if (s.empty()) return s;
  const std::size_t colon = s.rfind(':');
  const std::string why = "must be \"ADDRESS:PORT\" (IPv6 in brackets, e.g. \"[::1]:9464\"), got \"" + s + "\"";
  if (colon == std::string::npos || colon == 0) fail("metrics_listen", why);
  std::string host = s.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') fail("metrics_listen", why);
    host = host.substr(1, host.size() - 2);
    if (host.find(':') == std::string::npos) fail("metrics_listen", why);
  } else if (host.find(':') != std::string::npos) {
    fail("metrics_listen", why);
  }
  if (!transport::parse_address(host)) fail("metrics_listen", why);
  const std::string port = s.substr(colon + 1);
  std::uint32_t p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535)
    fail("metrics_listen", why);
  return s;
}

// The 1-based line of the node a dotted field path ("mailbox.ipv6.base", "members[2]") names, as deep as
// the path resolves; 0 if not even its first part exists.
int line_of(const YAML::Node& root, const std::string& field) {
  YAML::Node node = root;
  int line = 0;
  std::size_t pos = 0;
  while (pos < field.size() && node.IsMap()) {
    std::size_t end = field.find_first_of(".[", pos);
    const std::string key = field.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    const YAML::Node next = std::as_const(node)[key];  // const: a lookup never inserts
    if (!next) break;
    node.reset(next);  // rebinds; operator= would overwrite the tree
    line = node.Mark().line + 1;
    if (end != std::string::npos && field[end] == '[' && node.IsSequence()) {
      const std::size_t i = std::strtoul(field.c_str() + end + 1, nullptr, 10);
      if (i < node.size()) line = node[i].Mark().line + 1;
      break;
    }
    pos = end == std::string::npos ? field.size() : end + 1;
  }
  return line;
}

bool read_bool(const YAML::Node& n, const std::string& field) {
  const std::string s = read_string(n, field);
  if (s != "true" && s != "false") fail(field, "must be true or false, got \"" + s + "\"");
  return s == "true";
}

void read_snapshot(const YAML::Node& n, AgentConfig& c) {
  only_keys(n, "snapshot", {"log_entries", "log_bytes"});
  if (n["log_entries"]) c.snapshot_log_entries = read_uint(n["log_entries"], "snapshot.log_entries", 16, 100000000);
  if (n["log_bytes"])
    c.snapshot_log_bytes = read_uint(n["log_bytes"], "snapshot.log_bytes", 65536, std::uint64_t{1} << 40);
}

void read_recorder(const YAML::Node& n, AgentConfig& c) {
  only_keys(n, "recorder", {"mode", "max_bytes"});
  if (n["mode"]) {
    const std::string mode = read_string(n["mode"], "recorder.mode");
    if (mode != "on" && mode != "off" && mode != "on-demand")
      fail("recorder.mode", "must be on, off or on-demand, got \"" + mode + "\"");
    c.recorder_on = mode == "on";
    c.recorder_on_demand = mode == "on-demand";
  }
  if (n["max_bytes"])
    c.recorder_max_bytes = read_uint(n["max_bytes"], "recorder.max_bytes", 65536, std::uint64_t{1} << 40);
}

void read_quiesce(const YAML::Node& n, AgentConfig& c) {
  only_keys(n, "quiesce", {"after_ticks", "refresh_ticks"});
  if (n["after_ticks"]) c.quiesce.after_ticks = read_uint(n["after_ticks"], "quiesce.after_ticks", 0, 100000);
  if (n["refresh_ticks"]) c.quiesce.refresh_ticks = read_uint(n["refresh_ticks"], "quiesce.refresh_ticks", 1, 100000);
}

void read_timing(const YAML::Node& root, AgentConfig& c) {
  if (root["tick_ms"]) c.tick_ms = static_cast<std::uint32_t>(read_uint(root["tick_ms"], "tick_ms", 10, 10000));
  if (root["election_ticks"])
    c.election_ticks = static_cast<int>(read_uint(root["election_ticks"], "election_ticks", 2, 1000));
  if (root["heartbeat_ticks"])
    c.heartbeat_ticks = static_cast<int>(read_uint(root["heartbeat_ticks"], "heartbeat_ticks", 1, 1000));
  if (c.heartbeat_ticks >= c.election_ticks)
    fail("heartbeat_ticks", "must be less than election_ticks (" + std::to_string(c.election_ticks) + ")");
}

// Rules that involve several fields.
void cross_check(AgentConfig& c) {
  for (std::uint64_t l : c.learners)
    if (std::binary_search(c.members.begin(), c.members.end(), l))
      fail("learners", "id " + std::to_string(l) + " is also in members (a node is a voter or a learner)");
  const bool listed = std::binary_search(c.members.begin(), c.members.end(), c.node_id) ||
                      std::binary_search(c.learners.begin(), c.learners.end(), c.node_id);
  if (!listed && !c.joining)
    fail("members", "must include node_id " + std::to_string(c.node_id) +
                        " (or learners must, or set joining: true for a router that joins a running cluster)");
  if (listed && c.joining)
    fail("joining", "node_id " + std::to_string(c.node_id) + " is already in members or learners");
  const MailboxLayout& send = c.mailbox_family == Family::kIpv6 ? c.mailbox_ipv6 : c.mailbox_ipv4;
  const MailboxPlan plan = std::get<MailboxPlan>(MailboxPlan::create(send));
  std::vector<std::uint64_t> ids = c.members;
  ids.insert(ids.end(), c.learners.begin(), c.learners.end());
  ids.push_back(c.node_id);
  for (std::uint64_t m : ids)
    if (!plan.fits(m))
      fail(m == c.node_id ? "node_id" : "members/learners",
           "id " + std::to_string(m) + " exceeds the mailbox layout's maximum " + std::to_string(plan.max_node_id()));
  if (c.mailbox_family == Family::kIpv6 && c.next_hop_ipv6.empty())
    fail("next_hop.ipv6",
         "required when mailbox.family is ipv6 (never `self` for IPv6 routes, docs/architecture.md §3)");
}

// A list of strings under `field`, each mapped through `canon` (nullopt: invalid, with `what` it must be).
template <class Canon>
std::vector<std::string> read_list(const YAML::Node& n, const std::string& field, const char* what, Canon canon) {
  if (!n.IsSequence()) fail(field, std::string("must be a list of ") + what);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const std::string item = field + "[" + std::to_string(i) + "]";
    const std::string text = read_string(n[i], item);
    std::optional<std::string> v = canon(text);
    if (!v) fail(item, std::string("must be ") + what + ", got \"" + text + "\"");
    out.push_back(*v);
  }
  return out;
}

void read_guards(const YAML::Node& n, AgentConfig& c) {
  only_keys(n, "guards",
            {"allowed_prefixes", "max_prefix_length_v4", "max_prefix_length_v6", "refused_communities",
             "refused_next_hops", "max_policy_routes"});
  RouteGuards& g = c.guards;
  if (n["allowed_prefixes"])
    for (const std::string& p :
         read_list(n["allowed_prefixes"], "guards.allowed_prefixes", "a prefix without host bits",
                   [](const std::string& t) -> std::optional<std::string> {
                     auto p = IpPrefix::parse(t);
                     return p ? std::optional(p->to_string()) : std::nullopt;
                   }))
      g.allowed_prefixes.push_back(*IpPrefix::parse(p));
  if (n["max_prefix_length_v4"])
    g.max_prefix_length_v4 =
        static_cast<std::uint8_t>(read_uint(n["max_prefix_length_v4"], "guards.max_prefix_length_v4", 0, 32));
  if (n["max_prefix_length_v6"])
    g.max_prefix_length_v6 =
        static_cast<std::uint8_t>(read_uint(n["max_prefix_length_v6"], "guards.max_prefix_length_v6", 0, 128));
  if (n["refused_communities"])
    g.refused_communities = read_list(n["refused_communities"], "guards.refused_communities",
                                      "A:B or a well-known community name", canonical_community);
  if (n["refused_next_hops"])
    g.refused_next_hops = read_list(n["refused_next_hops"], "guards.refused_next_hops", "an address or self",
                                    [](const std::string& t) -> std::optional<std::string> {
                                      if (t == "self") return t;
                                      auto a = transport::parse_address(t);
                                      if (!a) return std::nullopt;
                                      const std::string s = a->to_string();
                                      return s.substr(0, s.find('/'));
                                    });
  if (n["max_policy_routes"])
    g.max_policy_routes = read_uint(n["max_policy_routes"], "guards.max_policy_routes", 0, kMaxPolicyRoutes);
}

}  // namespace

ConfigReport validate_config(std::string_view yaml_text) {
  ConfigReport r;
  AgentConfig c;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    r.errors.push_back({"(yaml)", "line " + std::to_string(e.mark.line + 1) + ": " + e.msg, e.mark.line + 1});
    return r;
  }
  auto& errs = r.errors;
  attempt(errs, [&] {
    only_keys(root, "", {"node_id",         "cluster_id",    "members",   "data_dir",       "control_socket",
                         "key_file",        "active_key_id", "mailbox",   "attribute_code", "payload_budget",
                         "next_hop",        "neighbor",      "local_asn", "tick_ms",        "election_ticks",
                         "heartbeat_ticks", "log_level",     "joining",   "snapshot",       "guards",
                         "metrics_listen",  "learners",      "quiesce",   "recorder",       "compression"});
  });
  if (!root.IsMap()) return r;
  read_scalars(root, c, errs);
  attempt(errs, [&] {
    if (!root["members"]) fail("members", "required");
    c.members = read_ids(root["members"], "members", false);
  });
  if (root["learners"]) attempt(errs, [&] { c.learners = read_ids(root["learners"], "learners", true); });
  if (root["control_socket"]) attempt(errs, [&] { read_control_socket(root["control_socket"], c); });
  if (root["mailbox"]) attempt(errs, [&] { read_mailbox(root["mailbox"], c); });
  if (root["next_hop"]) attempt(errs, [&] { read_next_hops(root["next_hop"], c); });
  if (root["joining"]) attempt(errs, [&] { c.joining = read_bool(root["joining"], "joining"); });
  if (root["snapshot"]) attempt(errs, [&] { read_snapshot(root["snapshot"], c); });
  if (root["quiesce"]) attempt(errs, [&] { read_quiesce(root["quiesce"], c); });
  if (root["recorder"]) attempt(errs, [&] { read_recorder(root["recorder"], c); });
  if (root["guards"]) attempt(errs, [&] { read_guards(root["guards"], c); });
  if (root["metrics_listen"]) attempt(errs, [&] { c.metrics_listen = read_listen(root["metrics_listen"]); });
  attempt(errs, [&] { read_timing(root, c); });
  // The cross-field rules read fields that may have failed above: only on an otherwise clean config.
  if (errs.empty()) attempt(errs, [&] { cross_check(c); });
  for (ConfigError& e : errs)
    if (e.line == 0) e.line = line_of(root, e.field);
  if (!errs.empty()) return r;
  if (c.members.size() % 2 == 0)
    r.warnings.push_back({"members",
                          std::to_string(c.members.size()) +
                              " voters: an even count tolerates no more failures than one fewer "
                              "(a majority of " +
                              std::to_string(c.members.size() / 2 + 1) + " is needed); use an odd count",
                          line_of(root, "members")});
  r.config = std::move(c);
  return r;
}

std::variant<AgentConfig, ConfigError> parse_config(std::string_view yaml_text) {
  ConfigReport r = validate_config(yaml_text);
  if (!r.errors.empty()) return r.errors.front();
  return std::move(*r.config);
}

std::variant<AgentConfig, ConfigError> load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return ConfigError{"(file)", "cannot read " + path};
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str());
}

std::variant<transport::KeyRing, ConfigError> check_environment(const AgentConfig& config) {
  auto ring = transport::load_key_file(config.key_file);
  if (auto* e = std::get_if<transport::KeyFileError>(&ring)) return ConfigError{"key_file", e->message};
  auto& keys = std::get<transport::KeyRing>(ring);
  if (!keys.contains(config.active_key_id))
    return ConfigError{"active_key_id", std::to_string(config.active_key_id) + " is not in " + config.key_file};
  return std::move(keys);
}

}  // namespace raftbgp::agent
