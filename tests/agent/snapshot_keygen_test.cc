// State machine snapshots (Raft §7: serialize -> restore is the identity, with deterministic bytes),
// `raftbgpctl keygen` (a 0600 key file the transport loads), the config keys and control framing of
// the issue-6 operations.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "raftbgp/agent/config.h"
#include "raftbgp/agent/control.h"
#include "raftbgp/agent/keygen.h"
#include "raftbgp/agent/state_machine.h"
#include "raftbgp/transport/crypto.h"
#include "test_util.h"

namespace raftbgp::agent::test {
namespace {

v1::Command put(const std::string& client, std::uint64_t seq, const std::string& key, const std::string& value) {
  return put_command(client, seq, key, value);
}

v1::Command policy(const std::string& client, std::uint64_t seq, const std::string& prefix) {
  v1::Command c;
  c.set_client_id(client);
  c.set_seq(seq);
  c.mutable_policy_add()->mutable_route()->set_prefix(prefix);
  c.mutable_policy_add()->mutable_route()->set_med(5);
  return c;
}

TEST(StateMachineSnapshot, Round_trip_restores_equal_state_with_deterministic_bytes) {
  StateMachine a;
  a.apply(1, put("z", 1, "k2", "v2"));
  a.apply(2, put("a", 1, "k1", std::string("\0bin", 4)));
  a.skip(3);  // a no-op or configuration change
  a.apply(4, policy("m", 1, "192.0.2.0/24"));
  a.apply(5, policy("m", 2, "2001:db8::/32"));
  const std::string bytes = a.serialize();
  EXPECT_EQ(bytes, a.serialize());

  StateMachine b;
  b.apply(1, put("other", 1, "x", "y"));  // replaced wholesale
  const std::uint64_t version = b.policy_version();
  ASSERT_EQ(b.restore(bytes, 5), std::nullopt);
  EXPECT_EQ(b.serialize(), bytes) << "restore then serialize is the identity";
  EXPECT_EQ(b.kv(), a.kv());
  EXPECT_EQ(b.applied_index(), 5u);
  EXPECT_EQ(b.sessions().size(), 3u);
  EXPECT_EQ(b.session("m")->seq, 2u);
  EXPECT_EQ(b.policies().at("192.0.2.0/24").med(), 5u);
  EXPECT_GT(b.policy_version(), version) << "the announcer must re-diff";
  // Sessions survive: a retry after the snapshot is answered from the restored table.
  EXPECT_EQ(b.apply(6, put("a", 1, "k1", "again")).index(), 2u);

  // The same state reached in another order of insertion gives the same bytes.
  StateMachine c;
  c.apply(1, put("z", 1, "k2", "v2"));
  c.apply(2, put("a", 1, "k1", std::string("\0bin", 4)));
  c.skip(3);
  c.apply(4, policy("m", 1, "192.0.2.0/24"));
  c.apply(5, policy("m", 2, "2001:db8::/32"));
  EXPECT_EQ(c.serialize(), bytes);
}

TEST(StateMachineSnapshot, Restore_refuses_garbage_and_a_wrong_index_leaving_state_unchanged) {
  StateMachine a;
  a.apply(1, put("a", 1, "k", "v"));
  const std::string bytes = a.serialize();
  StateMachine b;
  b.apply(1, put("b", 1, "mine", "x"));
  EXPECT_NE(b.restore(bytes, 2), std::nullopt);
  EXPECT_NE(b.restore("\xff\xff\xff", 1), std::nullopt);
  EXPECT_EQ(b.kv().count("mine"), 1u);
}

TEST(Keygen, Keygen_writes_a_0600_key_file_the_transport_loads_and_never_overwrites_without_force) {
  TempDir dir;
  const std::string path = dir.path() + "/cluster.keys";
  ASSERT_EQ(generate_key_file({path, 5, false, transport::AeadAlgorithm::kChaCha20Poly1305}), std::nullopt);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto ring = transport::load_key_file(path);
  ASSERT_TRUE(std::holds_alternative<transport::KeyRing>(ring)) << std::get<transport::KeyFileError>(ring).message;
  EXPECT_TRUE(std::get<transport::KeyRing>(ring).contains(5));
  const transport::Key first = std::get<transport::KeyRing>(ring).find(5)->key;

  auto again = generate_key_file({path, 5, false, transport::AeadAlgorithm::kChaCha20Poly1305});
  ASSERT_TRUE(again.has_value());
  EXPECT_NE(again->find("--force"), std::string::npos);
  ASSERT_EQ(generate_key_file({path, 6, true, transport::AeadAlgorithm::kAes256Gcm}), std::nullopt);
  ring = transport::load_key_file(path);
  ASSERT_TRUE(std::holds_alternative<transport::KeyRing>(ring));
  const transport::KeyEntry* e = std::get<transport::KeyRing>(ring).find(6);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->algorithm, transport::AeadAlgorithm::kAes256Gcm);
  EXPECT_NE(e->key, first);
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(Keygen, Key_file_text_is_the_transport_format) {
  transport::Key k{};
  k.fill(0xab);
  const std::string text = key_file_text(3, k, transport::AeadAlgorithm::kChaCha20Poly1305);
  std::string hex;
  for (int i = 0; i < 32; ++i) hex += "ab";
  EXPECT_NE(text.find("\n3 " + hex + " chacha20-poly1305\n"), std::string::npos);
  auto ring = transport::parse_key_file(text, "test");
  ASSERT_TRUE(std::holds_alternative<transport::KeyRing>(ring));
  EXPECT_EQ(std::get<transport::KeyRing>(ring).find(3)->key, k);
}

std::string base_config() {
  return "node_id: 4\ncluster_id: 7\nmembers: [1, 2, 3]\ndata_dir: /d\nkey_file: /k\n"
         "next_hop: {ipv6: \"fd00::1\"}\n";
}

TEST(Config, Joining_and_snapshot_keys_parse_and_bad_values_name_their_field) {
  auto r = parse_config(base_config());
  ASSERT_TRUE(std::holds_alternative<ConfigError>(r));
  EXPECT_EQ(std::get<ConfigError>(r).field, "members");
  r = parse_config(base_config() + "joining: true\nsnapshot: {log_entries: 500, log_bytes: 1048576}\n");
  ASSERT_TRUE(std::holds_alternative<AgentConfig>(r)) << std::get<ConfigError>(r).to_string();
  EXPECT_TRUE(std::get<AgentConfig>(r).joining);
  EXPECT_EQ(std::get<AgentConfig>(r).snapshot_log_entries, 500u);
  EXPECT_EQ(std::get<AgentConfig>(r).snapshot_log_bytes, 1048576u);
  auto field = [](const std::string& text) {
    auto e = parse_config(text);
    return std::holds_alternative<ConfigError>(e) ? std::get<ConfigError>(e).field : std::string("(ok)");
  };
  EXPECT_EQ(field(base_config() + "joining: maybe\n"), "joining");
  EXPECT_EQ(field(base_config() + "joining: true\nsnapshot: {log_entries: 1}\n"), "snapshot.log_entries");
  EXPECT_EQ(field(base_config() + "joining: true\nsnapshot: {log_bytes: 10}\n"), "snapshot.log_bytes");
  EXPECT_EQ(field(base_config() + "joining: true\nsnapshot: {entries: 10}\n"), "snapshot.entries");
  EXPECT_EQ(field("node_id: 1\ncluster_id: 7\nmembers: [1]\ndata_dir: /d\nkey_file: /k\n"
                  "next_hop: {ipv6: \"fd00::1\"}\njoining: true\n"),
            "joining");
}

TEST(ParseRequest, Admin_operations_frame_like_any_other_request) {
  for (const char* line : {R"({"id":1,"op":"members.add","args":{"id":4,"learner":true}})",
                           R"({"id":2,"op":"members.promote","args":{"id":4}})",
                           R"({"id":3,"op":"members.remove","args":{"id":4},"timeout_ms":10000})",
                           R"({"id":4,"op":"transfer_leader","args":{"id":2}})", R"({"id":5,"op":"members"})",
                           R"({"id":6,"op":"snapshot"})"}) {
    auto r = parse_request(line);
    ASSERT_TRUE(std::holds_alternative<ParsedRequest>(r)) << line;
  }
  auto r = std::get<ParsedRequest>(parse_request(R"({"id":1,"op":"members.add","args":{"id":4,"learner":true}})"));
  EXPECT_EQ(r.request.op, "members.add");
  EXPECT_EQ(r.request.args["id"], 4);
  EXPECT_TRUE(r.request.args["learner"].get<bool>());
  ClientResponse pending;
  pending.code = ErrorCode::kConfChangePending;
  pending.message = "another configuration change is not committed yet; retry shortly";
  EXPECT_EQ(format_response(1, pending),
            R"({"error":{"code":"conf_change_pending","message":"another configuration change is not committed yet; )"
            R"(retry shortly"},"id":1,"ok":false})");
}

}  // namespace
}  // namespace raftbgp::agent::test
