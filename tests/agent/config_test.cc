// Config validation (issue 4): the shipped example parses, and every field's error names the field.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "raftbgp/agent/agent_core.h"
#include "raftbgp/agent/config.h"
#include "test_util.h"

namespace raftbgp::agent::test {
namespace {

const char* kMinimal = R"(node_id: 2
cluster_id: 7
members: [1, 2, 3]
data_dir: /var/lib/raftbgp
key_file: /etc/raftbgp/cluster.keys
next_hop: { ipv6: "fd00::2" }
)";

std::string error_field(const std::string& yaml) {
  auto r = parse_config(yaml);
  if (auto* e = std::get_if<ConfigError>(&r)) return e->field;
  return "(ok)";
}

TEST(Config, Example_config_in_configs_validates) {
  std::ifstream in(std::string(RAFTBGP_CONFIGS_DIR) + "/raftbgpd.example.yaml");
  ASSERT_TRUE(in) << "configs/raftbgpd.example.yaml missing";
  std::stringstream text;
  text << in.rdbuf();
  auto r = parse_config(text.str());
  ASSERT_TRUE(std::holds_alternative<AgentConfig>(r)) << std::get<ConfigError>(r).to_string();
  const AgentConfig& c = std::get<AgentConfig>(r);
  EXPECT_EQ(c.node_id, 1u);
  EXPECT_EQ(c.members, (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(c.socket_mode, 0660u);
  EXPECT_EQ(c.tick_ms, 100u);
  EXPECT_EQ(c.election_ticks, 10);
  EXPECT_EQ(c.heartbeat_ticks, 1);
  EXPECT_EQ(c.next_hop_ipv6, "fd00:255:1::1");
  EXPECT_EQ(c.local_asn, 65001u);
}

TEST(Config, Minimal_config_takes_the_defaults) {
  auto r = parse_config(kMinimal);
  ASSERT_TRUE(std::holds_alternative<AgentConfig>(r)) << std::get<ConfigError>(r).to_string();
  const AgentConfig& c = std::get<AgentConfig>(r);
  EXPECT_EQ(c.socket_path, kDefaultSocketPath);
  EXPECT_EQ(c.attribute_code, 0xff);
  EXPECT_EQ(c.payload_budget, 2900u);
  EXPECT_TRUE(c.compression);
  EXPECT_EQ(c.log_level, LogLevel::kInfo);
}

TEST(Config, Compression_off_keeps_the_transport_on_uncompressed_frames) {
  auto r = parse_config(std::string(kMinimal) + "compression: off\n");
  ASSERT_TRUE(std::holds_alternative<AgentConfig>(r)) << std::get<ConfigError>(r).to_string();
  EXPECT_FALSE(std::get<AgentConfig>(r).compression);
  EXPECT_FALSE(transport_config(std::get<AgentConfig>(r), {}, 1).compress);
  auto d = parse_config(std::string(kMinimal) + "compression: deflate\n");
  EXPECT_TRUE(transport_config(std::get<AgentConfig>(d), {}, 1).compress);
}

// Security: connect() on a Unix socket needs write permission, so "other" write (0666, 0777, 0602)
// would let any local user change the cluster. Refused with a message that says why; 0664 (read only,
// meaningless for connect) stays allowed. The idle timeout is configurable.
TEST(Config, Socket_mode_is_refused_when_it_grants_others_write) {
  for (const char* mode : {"0666", "0777", "0602"}) {
    auto r = parse_config(std::string(kMinimal) + "control_socket: { mode: \"" + mode + "\" }\n");
    ASSERT_TRUE(std::holds_alternative<ConfigError>(r)) << mode;
    EXPECT_EQ(std::get<ConfigError>(r).field, "control_socket.mode");
    EXPECT_NE(std::get<ConfigError>(r).message.find("write access to others"), std::string::npos);
  }
  auto ok = parse_config(std::string(kMinimal) + "control_socket: { mode: \"0664\", idle_timeout_ms: 5000 }\n");
  ASSERT_TRUE(std::holds_alternative<AgentConfig>(ok)) << std::get<ConfigError>(ok).to_string();
  EXPECT_EQ(std::get<AgentConfig>(ok).socket_mode, 0664u);
  EXPECT_EQ(std::get<AgentConfig>(ok).socket_idle_timeout_ms, 5000u);
  EXPECT_EQ(std::get<AgentConfig>(parse_config(kMinimal)).socket_idle_timeout_ms, 60000u);
}

struct Case {
  const char* extra;  // appended to (or replacing keys of) the minimal config
  const char* field;  // expected error field
};

TEST(Config, Every_field_error_names_the_field) {
  const Case cases[] = {
      {"node_id: 0\n", "node_id"},
      {"node_id: abc\n", "node_id"},
      {"node_id: 9\n", "members"},
      {"cluster_id: 0\n", "cluster_id"},
      {"cluster_id: -1\n", "cluster_id"},
      {"members: []\n", "members"},
      {"members: [1, 1, 2]\n", "members[1]"},
      {"members: [1, x]\n", "members[1]"},
      {"data_dir: relative/dir\n", "data_dir"},
      {"key_file: keys\n", "key_file"},
      {"active_key_id: -3\n", "active_key_id"},
      {"control_socket: { path: sock }\n", "control_socket.path"},
      {"control_socket: { mode: \"660\" }\n", "control_socket.mode"},
      {"control_socket: { mode: \"0999\" }\n", "control_socket.mode"},
      {"control_socket: { mode: \"0060\" }\n", "control_socket.mode"},
      {"control_socket: { mode: \"0666\" }\n", "control_socket.mode"},  // every local user could write
      {"control_socket: { mode: \"0777\" }\n", "control_socket.mode"},
      {"control_socket: { mode: \"0602\" }\n", "control_socket.mode"},
      {"control_socket: { idle_timeout_ms: 0 }\n", "control_socket.idle_timeout_ms"},
      {"control_socket: { bogus: 1 }\n", "control_socket.bogus"},
      {"mailbox: { family: ipx }\n", "mailbox.family"},
      {"mailbox: { ipv6: { base: 10.0.0.0/8 } }\n", "mailbox.ipv6.base"},
      {"mailbox: { ipv4: { base: 10.200.0.1/16 } }\n", "mailbox.ipv4.base"},
      {"mailbox: { ipv6: { src_bits: 0 } }\n", "mailbox.ipv6.src_bits"},
      {"mailbox: { ipv6: { slot_bits: 40 } }\n", "mailbox.ipv6.slot_bits"},
      {"mailbox: { ipv4: { src_bits: 20, dst_bits: 20 } }\n", "mailbox.ipv4"},
      {"mailbox: { family: ipv4, ipv4: { src_bits: 1, dst_bits: 1 } }\n", "node_id"},
      {"attribute_code: 254\n", "attribute_code"},
      {"attribute_code: 256\n", "attribute_code"},
      {"payload_budget: 100\n", "payload_budget"},
      {"payload_budget: 70000\n", "payload_budget"},
      {"compression: zstd\n", "compression"},
      {"compression: true\n", "compression"},
      {"next_hop: { ipv4: fd00::1 }\n", "next_hop.ipv4"},
      {"next_hop: { ipv6: self }\n", "next_hop.ipv6"},
      {"next_hop: { ipv4: self }\n", "next_hop.ipv6"},
      {"neighbor: not-an-ip\n", "neighbor"},
      {"local_asn: 0\n", "local_asn"},
      {"tick_ms: 5\n", "tick_ms"},
      {"election_ticks: 1\n", "election_ticks"},
      {"heartbeat_ticks: 0\n", "heartbeat_ticks"},
      {"election_ticks: 3\nheartbeat_ticks: 3\n", "heartbeat_ticks"},
      {"log_level: loud\n", "log_level"},
      {"colour: blue\n", "colour"},
      {"node_id: [1\n", "(yaml)"},
  };
  for (const Case& c : cases) {
    // Later keys replace earlier ones: rebuild the minimal config without the keys the case sets.
    std::string base = kMinimal;
    std::istringstream extra(c.extra);
    std::string line;
    while (std::getline(extra, line)) {
      const std::string key = line.substr(0, line.find(':') + 1);
      const std::size_t at = base.find("\n" + key);
      if (at != std::string::npos)
        base.erase(at + 1, base.find('\n', at + 1) - at);
      else if (base.rfind(key, 0) == 0)
        base.erase(0, base.find('\n') + 1);
    }
    EXPECT_EQ(error_field(base + c.extra), c.field) << "case: " << c.extra;
  }
  EXPECT_EQ(error_field("cluster_id: 7\nmembers: [1]\ndata_dir: /d\nkey_file: /k\n"), "node_id");
  EXPECT_EQ(error_field("node_id: 1\nmembers: [1]\ndata_dir: /d\nkey_file: /k\n"), "cluster_id");
  EXPECT_EQ(error_field("node_id: 1\ncluster_id: 7\ndata_dir: /d\nkey_file: /k\nnext_hop: {ipv6: \"fd00::1\"}\n"),
            "members");
}

TEST(Config, Yaml_guards_parse_canonically_and_bad_entries_name_their_field) {
  auto r = parse_config(std::string(kMinimal) +
                        "guards:\n  allowed_prefixes: [\"192.0.2.0/24\", \"2001:DB8::/32\"]\n"
                        "  max_prefix_length_v4: 24\n  max_prefix_length_v6: 48\n"
                        "  refused_communities: [BLACKHOLE, \"65000:0666\"]\n"
                        "  refused_next_hops: [\"2001:DB8::1\", self]\n  max_policy_routes: 100\n");
  ASSERT_TRUE(std::holds_alternative<AgentConfig>(r)) << std::get<ConfigError>(r).to_string();
  const RouteGuards& g = std::get<AgentConfig>(r).guards;
  ASSERT_EQ(g.allowed_prefixes.size(), 2u);
  EXPECT_EQ(g.allowed_prefixes[1].to_string(), "2001:db8::/32");
  EXPECT_EQ(g.max_prefix_length_v4, 24);
  EXPECT_EQ(g.refused_communities, (std::vector<std::string>{"blackhole", "65000:666"}));
  EXPECT_EQ(g.refused_next_hops, (std::vector<std::string>{"2001:db8::1", "self"}));
  EXPECT_EQ(g.max_policy_routes, 100u);
  // Defaults: every prefix, any length, blackhole refused.
  const RouteGuards d = std::get<AgentConfig>(parse_config(kMinimal)).guards;
  EXPECT_TRUE(d.allowed_prefixes.empty());
  EXPECT_EQ(d.refused_communities, std::vector<std::string>{"blackhole"});
  auto field = [](const std::string& extra) {
    auto e = parse_config(std::string(kMinimal) + extra);
    return std::holds_alternative<ConfigError>(e) ? std::get<ConfigError>(e).field : std::string("(ok)");
  };
  EXPECT_EQ(field("guards: {allowed_prefixes: [\"192.0.2.1/24\"]}\n"), "guards.allowed_prefixes[0]");
  EXPECT_EQ(field("guards: {refused_communities: [\"1:2:3\"]}\n"), "guards.refused_communities[0]");
  EXPECT_EQ(field("guards: {refused_next_hops: [x]}\n"), "guards.refused_next_hops[0]");
  EXPECT_EQ(field("guards: {max_prefix_length_v4: 33}\n"), "guards.max_prefix_length_v4");
  EXPECT_EQ(field("guards: {max_policy_routes: 10001}\n"), "guards.max_policy_routes");
  EXPECT_EQ(field("guards: {max_kv_bytes: 1}\n"), "guards.max_kv_bytes");  // cluster-wide, not a guard
}

TEST(Config, Check_environment_loads_the_key_file_and_finds_the_active_key) {
  TempDir dir;
  AgentConfig c = std::get<AgentConfig>(parse_config(kMinimal));
  c.key_file = dir.path() + "/missing.keys";
  auto missing = check_environment(c);
  ASSERT_TRUE(std::holds_alternative<ConfigError>(missing));
  EXPECT_EQ(std::get<ConfigError>(missing).field, "key_file");
  c.key_file = write_key_file(dir.path());
  EXPECT_TRUE(std::holds_alternative<transport::KeyRing>(check_environment(c)));
  c.active_key_id = 9;
  auto wrong = check_environment(c);
  ASSERT_TRUE(std::holds_alternative<ConfigError>(wrong));
  EXPECT_EQ(std::get<ConfigError>(wrong).field, "active_key_id");
}

// --check-config lists every error, each with its line, not just the first (validate_config keeps going
// after a bad value); parse_config still returns the first one.
TEST(Config, validate_lists_every_error_with_its_line) {
  const std::string yaml =
      "node_id: 0\n"  // line 1: out of range
      "cluster_id: 7\n"
      "members: [1, 2, 3]\n"
      "data_dir: relative\n"  // line 4: not absolute
      "key_file: /k\n"
      "tick_ms: 5\n"       // line 6: below 10
      "log_level: loud\n"  // line 7
      "bogus: 1\n";        // line 8: unknown key
  const ConfigReport r = validate_config(yaml);
  EXPECT_FALSE(r.config.has_value());
  std::vector<std::pair<std::string, int>> got;
  for (const ConfigError& e : r.errors) got.emplace_back(e.field, e.line);
  const std::vector<std::pair<std::string, int>> want = {
      {"bogus", 8}, {"node_id", 1}, {"data_dir", 4}, {"log_level", 7}, {"tick_ms", 6}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(error_field(yaml), "bogus");
}

// yaml-cpp keeps both copies of a repeated key and lookups see the first one: the second would be
// silently ignored. Refused, at every level, naming the line of the repeat.
TEST(Config, duplicate_keys_are_refused) {
  const ConfigReport top = validate_config(std::string(kMinimal) + "node_id: 3\n");
  ASSERT_EQ(top.errors.size(), 1u);
  EXPECT_EQ(top.errors[0].field, "node_id");
  EXPECT_NE(top.errors[0].message.find("duplicate key"), std::string::npos);
  EXPECT_EQ(top.errors[0].line, 7);
  const ConfigReport nested =
      validate_config(std::string(kMinimal) + "control_socket:\n  mode: \"0660\"\n  mode: \"0666\"\n");
  ASSERT_EQ(nested.errors.size(), 1u);
  EXPECT_EQ(nested.errors[0].field, "control_socket.mode");
  EXPECT_EQ(nested.errors[0].line, 9);
}

// Two voters need both for a majority, four need three: an even count tolerates no more failures than
// one fewer. A warning (the config is usable), not an error.
TEST(Config, an_even_voter_count_is_a_warning) {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("[1, 2, 3]"), 9, "[1, 2, 3, 4]");
  const ConfigReport r = validate_config(yaml);
  EXPECT_TRUE(r.errors.empty());
  ASSERT_TRUE(r.config.has_value());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].field, "members");
  EXPECT_NE(r.warnings[0].message.find("even"), std::string::npos);
  EXPECT_TRUE(validate_config(kMinimal).warnings.empty());
}

// metrics_listen: off unless set; ADDRESS:PORT with IPv6 in brackets.
// Issue 17: 5 voters + 27 learners must form from the YAML alone. A node listed as a learner needs no
// `joining`; an id in both lists, a duplicate or a zero is refused naming `learners`.
TEST(Config, bootstrap_learners_are_read_and_must_be_disjoint_from_members) {
  const std::string as_learner = std::string(kMinimal).replace(std::string(kMinimal).find("members: [1, 2, 3]"), 18,
                                                               "members: [1, 3, 5]\nlearners: [4, 2]");
  auto r = parse_config(as_learner);
  ASSERT_TRUE(std::holds_alternative<AgentConfig>(r)) << std::get<ConfigError>(r).to_string();
  EXPECT_EQ(std::get<AgentConfig>(r).learners, (std::vector<std::uint64_t>{2, 4}));
  EXPECT_TRUE(std::get<AgentConfig>(parse_config(kMinimal)).learners.empty());
  EXPECT_EQ(error_field(std::string(kMinimal) + "learners: [3]\n"), "learners");
  EXPECT_EQ(error_field(std::string(kMinimal) + "learners: [4, 4]\n"), "learners[1]");
  EXPECT_EQ(error_field(std::string(kMinimal) + "learners: [0]\n"), "learners[0]");
  EXPECT_EQ(error_field(std::string(kMinimal) + "learners: 4\n"), "learners");
  EXPECT_EQ(error_field(std::string(kMinimal) + "learners: [5000]\n"), "members/learners");
}

TEST(Config, quiesce_takes_after_and_refresh_ticks_and_refuses_anything_else) {
  auto r = parse_config(std::string(kMinimal) + "quiesce: { after_ticks: 0, refresh_ticks: 50 }\n");
  ASSERT_TRUE(std::holds_alternative<AgentConfig>(r)) << std::get<ConfigError>(r).to_string();
  EXPECT_EQ(std::get<AgentConfig>(r).quiesce.after_ticks, 0u);
  EXPECT_EQ(std::get<AgentConfig>(r).quiesce.lease_ticks(), 150u);
  EXPECT_EQ(std::get<AgentConfig>(parse_config(kMinimal)).quiesce.after_ticks, 10u);
  EXPECT_EQ(error_field(std::string(kMinimal) + "quiesce: { refresh_ticks: 0 }\n"), "quiesce.refresh_ticks");
  EXPECT_EQ(error_field(std::string(kMinimal) + "quiesce: { after_ticks: -1 }\n"), "quiesce.after_ticks");
  EXPECT_EQ(error_field(std::string(kMinimal) + "quiesce: { lease: 3 }\n"), "quiesce.lease");
  // The top 4 slots of a mailbox carry presence routes: the ring needs at least 4 more.
  EXPECT_EQ(error_field(std::string(kMinimal) + "mailbox: { ipv6: { slot_bits: 2 } }\n"), "mailbox.ipv6.slot_bits");
}

TEST(Config, mailbox_slot_ticks_reach_the_transport_and_the_ttl_must_exceed_the_reuse_time) {
  auto r = parse_config(std::string(kMinimal) + "mailbox: { slot_reuse_ticks: 4, slot_ttl_ticks: 30 }\n");
  ASSERT_TRUE(std::holds_alternative<AgentConfig>(r)) << std::get<ConfigError>(r).to_string();
  const transport::TransportConfig t = transport_config(std::get<AgentConfig>(r), test_keys(), 1);
  EXPECT_EQ(t.slot_reuse_ticks, 4u);
  EXPECT_EQ(t.slot_ttl_ticks, 30u);
  EXPECT_EQ(error_field(std::string(kMinimal) + "mailbox: { slot_reuse_ticks: 5, slot_ttl_ticks: 5 }\n"),
            "mailbox.slot_ttl_ticks");
  EXPECT_EQ(error_field(std::string(kMinimal) + "mailbox: { slot_reuse_ticks: 0 }\n"), "mailbox.slot_reuse_ticks");
}

TEST(Config, neighbor_is_one_address_or_one_per_family) {
  auto one = parse_config(std::string(kMinimal) + "neighbor: 10.0.0.2\n");
  ASSERT_TRUE(std::holds_alternative<AgentConfig>(one)) << std::get<ConfigError>(one).to_string();
  EXPECT_EQ(std::get<AgentConfig>(one).neighbor, (Neighbors{"10.0.0.2", "10.0.0.2"}));
  auto dual = parse_config(std::string(kMinimal) + "neighbor: { ipv4: 10.0.0.2, ipv6: \"fd00:1::2\" }\n");
  ASSERT_TRUE(std::holds_alternative<AgentConfig>(dual)) << std::get<ConfigError>(dual).to_string();
  EXPECT_EQ(std::get<AgentConfig>(dual).neighbor, (Neighbors{"10.0.0.2", "fd00:1::2"}));
  EXPECT_EQ(std::get<AgentConfig>(parse_config(kMinimal)).neighbor, Neighbors{});
  EXPECT_EQ(error_field(std::string(kMinimal) + "neighbor: { ipv4: bogus }\n"), "neighbor.ipv4");
  EXPECT_EQ(error_field(std::string(kMinimal) + "neighbor: { ipv5: 10.0.0.2 }\n"), "neighbor.ipv5");
  EXPECT_EQ(error_field(std::string(kMinimal) + "neighbor: [10.0.0.2]\n"), "neighbor");
}

TEST(Config, metrics_listen_takes_an_address_and_port) {
  EXPECT_EQ(std::get<AgentConfig>(parse_config(kMinimal)).metrics_listen, "");
  for (const char* ok : {"127.0.0.1:9464", "[::1]:9464", "0.0.0.0:1"}) {
    auto r = parse_config(std::string(kMinimal) + "metrics_listen: \"" + ok + "\"\n");
    ASSERT_TRUE(std::holds_alternative<AgentConfig>(r)) << ok << ": " << std::get<ConfigError>(r).to_string();
    EXPECT_EQ(std::get<AgentConfig>(r).metrics_listen, ok);
  }
  for (const char* bad : {"9464", "localhost:9464", "::1:9464", "127.0.0.1:0", "127.0.0.1:70000", "[1.2.3.4]:1"})
    EXPECT_EQ(error_field(std::string(kMinimal) + "metrics_listen: \"" + bad + "\"\n"), "metrics_listen") << bad;
}

// The flight recorder's key (recorder.h).
std::variant<AgentConfig, ConfigError> with_recorder(const std::string& yaml) {
  return parse_config(std::string(kMinimal) + yaml);
}

TEST(Config, Recorder_key_is_off_by_default_and_parses_mode_and_cap) {
  auto d = with_recorder("");
  ASSERT_TRUE(std::holds_alternative<AgentConfig>(d));
  EXPECT_FALSE(std::get<AgentConfig>(d).recorder_on);
  auto on = with_recorder("recorder: { mode: on, max_bytes: 1048576 }\n");
  ASSERT_TRUE(std::holds_alternative<AgentConfig>(on)) << std::get<ConfigError>(on).to_string();
  EXPECT_TRUE(std::get<AgentConfig>(on).recorder_on);
  EXPECT_EQ(std::get<AgentConfig>(on).recorder_max_bytes, 1048576u);
  auto demand = with_recorder("recorder: { mode: on-demand }\n");
  ASSERT_TRUE(std::holds_alternative<AgentConfig>(demand));
  EXPECT_FALSE(std::get<AgentConfig>(demand).recorder_on);
  EXPECT_TRUE(std::get<AgentConfig>(demand).recorder_on_demand);
}

TEST(Config, Bad_recorder_mode_or_tiny_cap_is_refused_with_its_field) {
  auto mode = with_recorder("recorder: { mode: always }\n");
  ASSERT_TRUE(std::holds_alternative<ConfigError>(mode));
  EXPECT_EQ(std::get<ConfigError>(mode).field, "recorder.mode");
  auto cap = with_recorder("recorder: { mode: on, max_bytes: 100 }\n");
  ASSERT_TRUE(std::holds_alternative<ConfigError>(cap));
  EXPECT_EQ(std::get<ConfigError>(cap).field, "recorder.max_bytes");
  auto unknown = with_recorder("recorder: { mode: on, size: 1 }\n");
  ASSERT_TRUE(std::holds_alternative<ConfigError>(unknown));
}

}  // namespace
}  // namespace raftbgp::agent::test
