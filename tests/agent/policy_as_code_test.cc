// Policy as code (issue 16): the policy file (every error listed, export/parse round trip, diff), the
// atomic whole-table replace and the replicated who/when history in the state machine and its snapshot,
// and policy.apply / policy.history through a 3-node AgentNet.
#include <gtest/gtest.h>

#include "agent_net.h"
#include "raftbgp/agent/policy_file.h"
#include "raftbgp/agent/state_machine.h"
#include "raftbgp/raft/wal_storage.h"

namespace raftbgp::agent::test {
namespace {

using nlohmann::json;

std::vector<v1::PolicyRoute> parse_ok(const std::string& text) {
  auto r = parse_policy_file(text);
  if (auto* errors = std::get_if<std::vector<ConfigError>>(&r)) {
    for (const auto& e : *errors) ADD_FAILURE() << e.line << ": " << e.to_string();
    return {};
  }
  return std::get<std::vector<v1::PolicyRoute>>(r);
}

TEST(PolicyFile, Parser_lists_every_error_with_its_line) {
  const std::string text =
      "routes:\n"                              // 1
      "  - prefix: 192.0.2.0/24\n"             // 2
      "    med: many\n"                        // 3  not a number
      "    colour: blue\n"                     // 4  unknown key
      "  - prefix: 198.51.100.1/24\n"          // 5  host bits
      "  - next_hop: self\n"                   // 6  no prefix
      "  - prefix: 203.0.113.0/24\n"           // 7
      "    communities: [65000:1, 70000:1]\n"  // 8  bad community
      "  - prefix: 2001:db8::/32\n"            // 9
      "  - prefix: 2001:db8:0::/32\n"          // 10 duplicate after canonicalization
      "    prepend: 99\n";                     // 11 over kMaxPrepend
  auto r = parse_policy_file(text);
  ASSERT_TRUE(std::holds_alternative<std::vector<ConfigError>>(r));
  const auto& errors = std::get<std::vector<ConfigError>>(r);
  std::vector<std::string> fields;
  for (const auto& e : errors) fields.push_back(std::to_string(e.line) + " " + e.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"4 routes[0].colour", "5 routes[1].prefix", "6 routes[2].prefix",
                                              "7 routes[3].communities[1]", "11 routes[5].prepend"}))
      << ::testing::PrintToString(fields);
  // A route with an unknown key is not read further; its bad med shows once the key is fixed.
  auto fixed = parse_policy_file("routes:\n  - prefix: 192.0.2.0/24\n    med: many\n    med: 2\n");
  ASSERT_TRUE(std::holds_alternative<std::vector<ConfigError>>(fixed));
  EXPECT_EQ(std::get<std::vector<ConfigError>>(fixed).at(0).field, "routes[0].med");
  EXPECT_EQ(std::get<std::vector<ConfigError>>(fixed).at(0).message, "duplicate key");
  // Duplicate prefixes.
  auto dup = parse_policy_file("routes:\n  - prefix: 2001:db8::/32\n  - prefix: 2001:db8:0::/32\n");
  ASSERT_TRUE(std::holds_alternative<std::vector<ConfigError>>(dup));
  EXPECT_NE(std::get<std::vector<ConfigError>>(dup).at(0).message.find("duplicate prefix"), std::string::npos);
  // Not YAML, no routes key, an empty file: refused, never read as "withdraw everything".
  for (const char* bad : {"routes: [", "route: []\n", "", "routes: 3\n"})
    EXPECT_TRUE(std::holds_alternative<std::vector<ConfigError>>(parse_policy_file(bad))) << bad;
  EXPECT_TRUE(parse_ok("routes: []\n").empty());
}

TEST(PolicyFile, Export_then_parse_gives_the_same_routes) {
  const auto routes = parse_ok(
      "routes:\n"
      "  - prefix: 203.0.113.0/24\n    next_hop: self\n    communities: [65000:2, 65000:1, no-export]\n"
      "    large_communities: [65000:1:2]\n    med: 10\n    local_pref: 200\n    prepend: 2\n    nodes: [3, 1]\n"
      "  - prefix: 2001:db8:0:0::/48\n");
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].prefix(), "2001:db8::/48");  // canonical and sorted
  const std::string text = export_policy_file(routes);
  const auto again = parse_ok(text);
  ASSERT_EQ(again.size(), routes.size()) << text;
  for (std::size_t i = 0; i < routes.size(); ++i)
    EXPECT_EQ(again[i].SerializeAsString(), routes[i].SerializeAsString()) << text;
  EXPECT_EQ(export_policy_file(again), text);
  // The JSON form of the control protocol round-trips too.
  for (const auto& r : routes)
    EXPECT_EQ(policy_route_from_json(policy_route_json(r)).SerializeAsString(), r.SerializeAsString());
}

TEST(PolicyFile, Diff_shows_added_removed_and_changed_prefixes) {
  const auto now = parse_ok("routes:\n  - prefix: 192.0.2.0/24\n    med: 10\n  - prefix: 198.51.100.0/24\n");
  const auto want = parse_ok("routes:\n  - prefix: 192.0.2.0/24\n    med: 20\n  - prefix: 203.0.113.0/24\n");
  const PolicyDiff d = diff_policy(now, want);
  EXPECT_EQ(format_policy_diff(d), "+ 203.0.113.0/24\n- 198.51.100.0/24\n~ 192.0.2.0/24 med 10 -> med 20\n");
  EXPECT_TRUE(diff_policy(want, want).empty());
}

v1::Command replace(const std::string& client, std::uint64_t seq, const std::vector<v1::PolicyRoute>& routes,
                    std::int64_t uid = 1000, std::int64_t ms = 1700000000000) {
  v1::Command c;
  c.set_client_id(client);
  c.set_seq(seq);
  c.mutable_author()->set_uid(uid);
  c.mutable_author()->set_hostname("r1");
  c.mutable_author()->set_unix_ms(ms);
  c.mutable_policy_replace();  // an empty table is a replace too (withdraw everything)
  for (const auto& r : routes) *c.mutable_policy_replace()->add_routes() = r;
  return c;
}

TEST(PolicyReplace, Replace_applies_the_whole_table_at_once_and_records_who_and_when) {
  StateMachine sm;
  v1::Command add;
  add.set_client_id("a");
  add.set_seq(1);
  add.mutable_policy_add()->mutable_route()->set_prefix("198.51.100.0/24");
  ASSERT_EQ(sm.apply(1, add).code(), v1::Result::OK);
  const std::uint64_t version = sm.policy_version();
  const auto want = parse_ok("routes:\n  - prefix: 192.0.2.0/24\n  - prefix: 203.0.113.0/24\n    med: 5\n");
  ASSERT_EQ(sm.apply(2, replace("ops", 1, want)).code(), v1::Result::OK);
  EXPECT_EQ(sm.policies().size(), 2u);
  EXPECT_EQ(sm.policies().count("198.51.100.0/24"), 0u);
  EXPECT_EQ(sm.policy_version(), version + 1);  // one change: the announcer re-diffs once
  ASSERT_EQ(sm.policy_history().size(), 2u);
  const v1::PolicyChange& c = sm.policy_history().back();
  EXPECT_EQ(c.index(), 2u);
  EXPECT_EQ(c.op(), "apply");
  EXPECT_EQ(c.client_id(), "ops");
  EXPECT_EQ(c.author().uid(), 1000);
  EXPECT_EQ(c.author().hostname(), "r1");
  EXPECT_EQ(c.author().unix_ms(), 1700000000000);
  EXPECT_EQ(std::vector<std::string>(c.added().begin(), c.added().end()),
            (std::vector<std::string>{"192.0.2.0/24", "203.0.113.0/24"}));
  EXPECT_EQ(std::vector<std::string>(c.removed().begin(), c.removed().end()),
            (std::vector<std::string>{"198.51.100.0/24"}));
  EXPECT_EQ(sm.policy_history().front().op(), "add");
}

TEST(PolicyReplace, Replace_with_one_bad_route_applies_nothing) {
  StateMachine sm;
  auto routes = parse_ok("routes:\n  - prefix: 192.0.2.0/24\n  - prefix: 203.0.113.0/24\n");
  routes[1].set_next_hop("192.0.2.1\nneighbor 10.0.0.1 teardown 2");  // not canonical
  const v1::Result r = sm.apply(1, replace("ops", 1, routes));
  EXPECT_EQ(r.code(), v1::Result::INVALID);
  EXPECT_TRUE(sm.policies().empty());
  EXPECT_TRUE(sm.policy_history().empty());
  // Unsorted (or duplicate) prefixes are refused as well: the table is keyed by prefix.
  auto swapped = parse_ok("routes:\n  - prefix: 192.0.2.0/24\n  - prefix: 203.0.113.0/24\n");
  std::swap(swapped[0], swapped[1]);
  EXPECT_EQ(sm.apply(2, replace("ops2", 1, swapped)).code(), v1::Result::INVALID);
  EXPECT_TRUE(sm.policies().empty());
}

TEST(PolicyReplace, History_is_bounded_and_travels_in_snapshots) {
  StateMachine sm;
  const auto one = parse_ok("routes:\n  - prefix: 192.0.2.0/24\n");
  raft::Index i = 0;
  for (std::size_t n = 0; n < kMaxPolicyHistory + 10; ++n)
    ASSERT_EQ(sm.apply(++i, replace("c" + std::to_string(n), 1, n % 2 ? one : std::vector<v1::PolicyRoute>{}, 7,
                                    static_cast<std::int64_t>(n)))
                  .code(),
              v1::Result::OK);
  ASSERT_EQ(sm.policy_history().size(), kMaxPolicyHistory);
  EXPECT_EQ(sm.policy_history().front().index(), 11u);  // the oldest ten were dropped
  StateMachine restored;
  ASSERT_EQ(restored.restore(sm.serialize(), i), std::nullopt);
  ASSERT_EQ(restored.policy_history().size(), kMaxPolicyHistory);
  EXPECT_EQ(restored.policy_history().back().SerializeAsString(), sm.policy_history().back().SerializeAsString());
  EXPECT_EQ(restored.serialize(), sm.serialize());
}

// One request with the credentials the control server would stamp; steps the fabric until answered.
ClientResponse ask(AgentNet& net, std::size_t i, const std::string& op, json args, const std::string& client = "",
                   std::uint64_t seq = 0) {
  auto out = std::make_shared<std::optional<ClientResponse>>();
  ClientRequest req{op, std::move(args), client, seq, 3000};
  req.peer_uid = 4242;
  req.hostname = "router-" + std::to_string(i + 1);
  req.received_unix_ms = 1700000000123;
  net.core(i).on_client_request(std::move(req), [out](ClientResponse r) { *out = std::move(r); });
  net.fabric().run_until([&] { return out->has_value(); }, 400);
  EXPECT_TRUE(out->has_value()) << op << " never answered";
  return out->value_or(ClientResponse{});
}

json routes_json(const std::string& file) {
  json a = json::array();
  for (const auto& r : parse_ok(file)) a.push_back(policy_route_json(r));
  return a;
}

TEST(PolicyApply, Apply_from_a_follower_is_one_entry_with_author_and_bad_routes_are_all_listed) {
  AgentNet net(3, {1, 2, 3});
  net.start_all();
  const int lead = net.wait_leader();
  ASSERT_GE(lead, 0);
  const std::size_t f = (static_cast<std::size_t>(lead) + 1) % 3;
  // Two node-local errors (a mailbox range, a node that is no member): both listed, nothing applied.
  json bad = routes_json(
      "routes:\n  - prefix: 192.0.2.0/24\n  - prefix: fd72:6166:1::/48\n"
      "  - prefix: 203.0.113.0/24\n    nodes: [9]\n");
  ClientResponse refused = ask(net, f, "policy.apply", {{"routes", bad}}, "ops", 1);
  EXPECT_EQ(refused.code, ErrorCode::kBadRequest);
  // (routes_json sends the file's routes sorted by prefix.)
  EXPECT_NE(refused.message.find("routes[1]: nodes"), std::string::npos) << refused.message;
  EXPECT_NE(refused.message.find("routes[2]: prefix"), std::string::npos) << refused.message;
  // A dry run of a good table proposes nothing.
  json good = routes_json("routes:\n  - prefix: 192.0.2.0/24\n  - prefix: 203.0.113.0/24\n    med: 7\n");
  ClientResponse dry = ask(net, f, "policy.apply", {{"routes", good}, {"dry_run", true}}, "ops", 1);
  ASSERT_TRUE(dry.ok) << dry.message;
  net.fabric().run_until([] { return false; }, 40);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(net.core(i).state().policies().empty());
  EXPECT_EQ(ask(net, f, "policy.apply", {{"routes", good}, {"dry_run", "yes"}}, "ops", 1).code, ErrorCode::kBadRequest);
  const raft::Index before = net.core(static_cast<std::size_t>(lead)).node().status().last_index;
  ClientResponse applied = ask(net, f, "policy.apply", {{"routes", good}}, "ops", 1);
  ASSERT_TRUE(applied.ok) << applied.message;
  EXPECT_EQ(applied.result["index"].get<std::uint64_t>(), before + 1);  // one entry for the whole table
  net.fabric().run_until([&] { return net.core(static_cast<std::size_t>(lead)).state().policies().size() == 2; }, 200);
  ClientResponse history = ask(net, static_cast<std::size_t>(lead), "policy.history", json::object());
  ASSERT_TRUE(history.ok) << history.message;
  ASSERT_EQ(history.result["changes"].size(), 1u) << history.result.dump();
  const json& c = history.result["changes"][0];
  EXPECT_EQ(c["uid"], 4242);
  EXPECT_EQ(c["hostname"], "router-" + std::to_string(f + 1));  // the node the operator talked to
  EXPECT_EQ(c["unix_ms"], 1700000000123);
  EXPECT_EQ(c["client_id"], "ops");
  EXPECT_EQ(c["added"].size(), 2u);
}

// Only policy changes keep an author (the policy history is its one reader): a key-value entry carries none, which
// keeps the uid, the hostname and the clock out of every replicated write (issue 13, bytes per write).
TEST(PolicyApply, Policy_entries_carry_their_author_and_kv_entries_do_not) {
  AgentNet net(3, {1, 2, 3});
  net.start_all();
  const int lead = net.wait_leader();
  ASSERT_GE(lead, 0);
  const auto l = static_cast<std::size_t>(lead);
  ASSERT_TRUE(ask(net, l, "kv.put", {{"key", "k"}, {"value", "v"}}, "kv-client", 1).ok);
  ASSERT_TRUE(ask(net, l, "policy.add", {{"prefix", "192.0.2.0/24"}}, "ops", 1).ok);
  const std::string dir = net.config(l).data_dir + "/wal";
  net.stop(l);
  raft::WalOpenResult wal = raft::WalStorage::open(dir);
  ASSERT_TRUE(wal.ok()) << wal.error().message();
  const raft::WalStorage& st = wal.storage();
  int kv = 0, policy = 0;
  for (const raft::Entry& e : st.entries(st.first_index(), st.last_index() + 1, UINT64_MAX)) {
    v1::Command c;
    if (e.type() != v1::ENTRY_NORMAL || e.data().empty() || !c.ParseFromString(e.data())) continue;
    if (c.has_kv_put()) {
      ++kv;
      EXPECT_FALSE(c.has_author()) << c.ShortDebugString();
    }
    if (c.has_policy_add()) {
      ++policy;
      EXPECT_EQ(c.author().hostname(), "router-" + std::to_string(l + 1));
      EXPECT_EQ(c.author().uid(), 4242);
    }
  }
  EXPECT_EQ(kv, 1);
  EXPECT_EQ(policy, 1);
}

}  // namespace
}  // namespace raftbgp::agent::test
