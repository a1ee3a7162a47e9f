// In-process scenario tests (issue 4 "Proof"): three AgentCores on real WalStorage in temp dirs, their
// ExaBGP lines carried by SimFabric (acks, loss, coalescing, session reset, echo), driven by ticks.
#include <gtest/gtest.h>

#include <iostream>
#include <memory>
#include <optional>

#include "raftbgp/agent/agent_core.h"
#include "sim_exabgp.h"
#include "test_util.h"

namespace raftbgp::agent::test {
namespace {

using nlohmann::json;

class Cluster {
 public:
  explicit Cluster(std::uint64_t seed = 1) : fabric_(3, seed) {
    write_key_file(dir_.path());
    for (std::size_t i = 0; i < 3; ++i) start(i);
  }

  void start(std::size_t i) {
    AgentConfig c = node_config(i + 1, dir_.path());
    set_log_level(LogLevel::kError);
    auto r = AgentCore::open(c, test_keys(), AgentCore::Options{0x5eed + i});
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<AgentCore>>(r)) << std::get<std::string>(r);
    cores_[i] = std::move(std::get<std::unique_ptr<AgentCore>>(r));
    fabric_.attach(i, cores_[i].get());
  }
  void stop(std::size_t i) {
    fabric_.detach(i);
    cores_[i].reset();
  }

  AgentCore& core(std::size_t i) { return *cores_[i]; }
  bool alive(std::size_t i) const { return cores_[i] != nullptr; }
  SimFabric& fabric() { return fabric_; }

  // Index of the one leader every live node agrees on, or -1.
  int leader() const {
    int lead = -1;
    for (std::size_t i = 0; i < 3; ++i) {
      if (!cores_[i]) continue;
      if (cores_[i]->node().role() == raft::Role::kLeader) lead = static_cast<int>(i);
    }
    if (lead < 0) return -1;
    for (std::size_t i = 0; i < 3; ++i)
      if (cores_[i] && cores_[i]->node().leader() != static_cast<std::uint64_t>(lead + 1)) return -1;
    return lead;
  }
  int wait_leader(int max_steps = 400) {
    fabric_.run_until([&] { return leader() >= 0; }, max_steps);
    return leader();
  }

  // Sends one request to node i and runs the fabric until it is answered.
  ClientResponse request(std::size_t i, const std::string& op, json args, const std::string& client_id = "",
                         std::uint64_t seq = 0, std::uint64_t timeout_ms = 3000) {
    auto out = std::make_shared<std::optional<ClientResponse>>();
    ClientRequest req{op, std::move(args), client_id, seq, timeout_ms};
    cores_[i]->on_client_request(std::move(req), [out](ClientResponse r) { *out = std::move(r); });
    fabric_.run_until([&] { return out->has_value(); }, 200);
    EXPECT_TRUE(out->has_value()) << op << " never answered";
    return out->value_or(ClientResponse{});
  }

  // Like request(), but retries with the same (client_id, seq) while the outcome is unknown, as a client
  // must on a lossy path (the forward or the entry may be lost); exactly-once makes that safe.
  ClientResponse request_retrying(std::size_t i, const std::string& op, json args, const std::string& client_id,
                                  std::uint64_t seq) {
    ClientResponse r;
    for (int attempt = 0; attempt < 8; ++attempt) {
      r = request(i, op, args, client_id, seq);
      if (r.code != ErrorCode::kTimeout && r.code != ErrorCode::kNoLeader && r.code != ErrorCode::kNotLeader) break;
    }
    return r;
  }

  // Runs until every live node applied everything the leader committed.
  void settle(int steps = 60) {
    for (int s = 0; s < steps; ++s) fabric_.step();
  }

 private:
  TempDir dir_;
  SimFabric fabric_;
  std::unique_ptr<AgentCore> cores_[3];
};

std::size_t follower_of(int leader) { return static_cast<std::size_t>((leader + 1) % 3); }
std::size_t follower_of(std::size_t leader) { return (leader + 1) % 3; }

TEST(AgentCluster, Cluster_elects_a_leader_and_applies_a_write_forwarded_from_a_follower) {
  Cluster c;
  const int lead = c.wait_leader();
  ASSERT_GE(lead, 0);
  const std::size_t f = follower_of(lead);
  ClientResponse r = c.request(f, "kv.put", {{"key", "color"}, {"value", "blue"}}, "client-a", 1);
  ASSERT_TRUE(r.ok) << r.code << ": " << r.message;
  EXPECT_GT(r.result["index"].get<std::uint64_t>(), 0u);
  c.settle();
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(c.core(i).state().kv().at("color"), "blue") << "node " << i + 1;
  // A linearizable read on another follower sees it.
  ClientResponse g =
      c.request((f + 1) % 3 == static_cast<std::size_t>(lead) ? f : (f + 1) % 3, "kv.get", {{"key", "color"}});
  ASSERT_TRUE(g.ok) << g.message;
  EXPECT_EQ(g.result["value"], "blue");
  EXPECT_EQ(c.request(f, "kv.get", {{"key", "nope"}}).code, ErrorCode::kNotFound);
}

TEST(AgentCluster, Retried_command_applies_exactly_once_also_across_a_leader_change) {
  Cluster c(2);
  int lead = c.wait_leader();
  ASSERT_GE(lead, 0);
  const std::size_t f = follower_of(lead);
  ClientResponse first = c.request(f, "kv.put", {{"key", "k"}, {"value", "v1"}}, "c1", 1);
  ASSERT_TRUE(first.ok) << first.message;
  // Another client overwrites the key; a retry of (c1, 1) must not set it back.
  ASSERT_TRUE(c.request(static_cast<std::size_t>(lead), "kv.put", {{"key", "k"}, {"value", "v2"}}, "c2", 1).ok);
  ClientResponse retry = c.request(static_cast<std::size_t>(lead), "kv.put", {{"key", "k"}, {"value", "v1"}}, "c1", 1);
  ASSERT_TRUE(retry.ok);
  EXPECT_EQ(retry.result["index"], first.result["index"]);
  c.settle();
  EXPECT_EQ(c.core(f).state().kv().at("k"), "v2");
  // Out of order: seq 3 then seq 2 -> stale sequence, not applied.
  ASSERT_TRUE(c.request(f, "kv.put", {{"key", "n"}, {"value", "3"}}, "c1", 3).ok);
  EXPECT_EQ(c.request(f, "kv.put", {{"key", "n"}, {"value", "2"}}, "c1", 2).code, ErrorCode::kStaleSequence);

  // Leader change: submit on the leader, crash it before anything reaches the fabric, retry elsewhere.
  auto lost = std::make_shared<std::optional<ClientResponse>>();
  c.core(static_cast<std::size_t>(lead))
      .on_client_request({"kv.put", {{"key", "k"}, {"value", "v3"}}, "c3", 1, 3000},
                         [lost](ClientResponse r) { *lost = std::move(r); });
  c.stop(static_cast<std::size_t>(lead));
  const int lead2 = c.wait_leader();
  ASSERT_GE(lead2, 0);
  ASSERT_NE(lead2, lead);
  ClientResponse again;
  for (int attempt = 0; attempt < 5 && !again.ok; ++attempt)
    again = c.request(
        follower_of(lead2) == static_cast<std::size_t>(lead) ? static_cast<std::size_t>(lead2) : follower_of(lead2),
        "kv.put", {{"key", "k"}, {"value", "v3"}}, "c3", 1);
  ASSERT_TRUE(again.ok) << again.code << ": " << again.message;
  ASSERT_TRUE(c.request(static_cast<std::size_t>(lead2), "kv.put", {{"key", "k"}, {"value", "v4"}}, "c4", 1).ok);
  ClientResponse late = c.request(static_cast<std::size_t>(lead2), "kv.put", {{"key", "k"}, {"value", "v3"}}, "c3", 1);
  ASSERT_TRUE(late.ok);
  EXPECT_EQ(late.result["index"], again.result["index"]);
  // The crashed leader comes back from its WAL and catches up to the same state.
  c.start(static_cast<std::size_t>(lead));
  c.settle(120);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(c.core(i).state().kv().at("k"), "v4") << "node " << i + 1;
}

TEST(AgentCluster, Policy_is_announced_identically_and_diffs_on_change_and_removal) {
  Cluster c(3);
  c.fabric().set_loss(0.1);
  const int lead_i = c.wait_leader();
  ASSERT_GE(lead_i, 0);
  const std::size_t lead = static_cast<std::size_t>(lead_i);
  const std::size_t f = follower_of(lead);
  ClientResponse r = c.request_retrying(f, "policy.add",
                                        {{"prefix", "192.0.2.0/24"},
                                         {"communities", {"65000:2", "65000:1"}},
                                         {"large_communities", {"65000:1:2"}},
                                         {"med", 10},
                                         {"prepend", 2}},
                                        "ops", 1);
  ASSERT_TRUE(r.ok) << r.code << ": " << r.message;
  ASSERT_TRUE(c.request_retrying(f, "policy.add", {{"prefix", "2001:db8:1::/48"}}, "ops", 2).ok);
  ASSERT_TRUE(c.request_retrying(f, "policy.add", {{"prefix", "198.51.100.0/24"}, {"nodes", {1, 2}}}, "ops", 3).ok);
  EXPECT_EQ(c.request_retrying(f, "policy.add", {{"prefix", "fd72:6166:1::/48"}}, "ops", 4).code,
            ErrorCode::kBadRequest);
  c.fabric().reset_session(f);  // a flap with a full re-send in the middle changes nothing
  c.settle(100);
  for (std::size_t i = 0; i < 3; ++i) {
    auto rib = c.fabric().policy_rib(i);
    EXPECT_EQ(rib.count("192.0.2.0/24"), 1u) << "node " << i + 1;
    EXPECT_EQ(rib.count("2001:db8:1::/48"), 1u);
    EXPECT_EQ(rib.count("198.51.100.0/24"), i < 2 ? 1u : 0u);
    EXPECT_EQ(c.core(i).announcer().announced().size(), rib.size());
    const std::string asn = std::to_string(65001 + i);
    EXPECT_EQ(rib["192.0.2.0/24"], "announce route 192.0.2.0/24 next-hop self med 10 as-path [ " + asn + " " + asn +
                                       " " + asn + " ] community [ 65000:1 65000:2 ] large-community [ 65000:1:2 ]");
    EXPECT_EQ(rib["2001:db8:1::/48"], "announce route 2001:db8:1::/48 next-hop fd00:255::" + std::to_string(i + 1));
  }
  // Change (MED) and removal: only the difference is sent.
  ClientResponse change = c.request_retrying(f, "policy.add", {{"prefix", "192.0.2.0/24"}, {"med", 20}}, "ops", 5);
  ASSERT_TRUE(change.ok) << change.code << ": " << change.message;
  ASSERT_TRUE(c.request_retrying(f, "policy.remove", {{"prefix", "2001:db8:1::/48"}}, "ops", 6).ok);
  EXPECT_EQ(c.request_retrying(f, "policy.remove", {{"prefix", "2001:db8:1::/48"}}, "ops", 7).code,
            ErrorCode::kNotFound);
  c.settle(100);
  for (std::size_t i = 0; i < 3; ++i) {
    auto rib = c.fabric().policy_rib(i);
    EXPECT_EQ(rib["192.0.2.0/24"], "announce route 192.0.2.0/24 next-hop self med 20");
    EXPECT_EQ(rib.count("2001:db8:1::/48"), 0u);
  }
  ClientResponse show = c.request_retrying(lead, "policy.show", json::object(), "", 0);
  ASSERT_TRUE(show.ok);
  EXPECT_EQ(show.result["routes"].size(), 2u);
}

TEST(AgentCluster, Restarted_agent_recovers_from_its_wal_and_reannounces) {
  Cluster c(4);
  const int lead_i = c.wait_leader();
  ASSERT_GE(lead_i, 0);
  const std::size_t lead = static_cast<std::size_t>(lead_i);
  ASSERT_TRUE(c.request(lead, "policy.add", {{"prefix", "203.0.113.0/24"}}, "ops", 1).ok);
  ASSERT_TRUE(c.request(lead, "kv.put", {{"key", "a"}, {"value", "1"}}, "ops", 2).ok);
  c.settle();
  const std::size_t victim = follower_of(lead);
  const auto kv_before = c.core(victim).state().kv();
  const auto policies_before = c.core(victim).state().policies().size();
  const raft::Index applied_before = c.core(victim).state().applied_index();
  const std::uint64_t epoch_before = c.core(victim).epoch();
  c.stop(victim);
  c.start(victim);
  EXPECT_EQ(c.core(victim).epoch(), epoch_before + 1);
  EXPECT_GE(c.core(victim).state().applied_index(), applied_before);
  EXPECT_EQ(c.core(victim).state().kv(), kv_before);
  EXPECT_EQ(c.core(victim).state().policies().size(), policies_before);
  // Its first output re-announces the policy route from the applied state, before any network input.
  std::vector<std::string> out = c.core(victim).take_output();
  EXPECT_NE(std::find(out.begin(), out.end(), "announce route 203.0.113.0/24 next-hop self"), out.end());
  c.fabric().write_from(victim, out);
  c.settle(100);
  ASSERT_TRUE(c.request(victim, "kv.put", {{"key", "b"}, {"value", "2"}}, "ops", 3).ok);
}

// docs/architecture.md §3 broadcast: in steady state the leader's heartbeats (and appends to caught-up followers) are
// identical but for `to`, so each round goes out as one frame to both followers.
TEST(AgentCluster, Leader_sends_one_frame_per_round_when_followers_are_caught_up) {
  Cluster c(4);
  const int lead_i = c.wait_leader();
  ASSERT_GE(lead_i, 0);
  const auto lead = static_cast<std::size_t>(lead_i);
  ASSERT_TRUE(c.request(lead, "kv.put", {{"key", "warm"}, {"value", "up"}}, "w", 1).ok);
  c.settle();
  const json idle0 = c.core(lead).send_json();
  c.settle(60);  // heartbeats only
  const json idle1 = c.core(lead).send_json();
  const auto delta = [](const json& a, const json& b, const char* k) {
    return b[k].get<std::uint64_t>() - a[k].get<std::uint64_t>();
  };
  ASSERT_GT(delta(idle0, idle1, "raft_messages"), 0u);
  EXPECT_EQ(delta(idle0, idle1, "raft_messages"), 2 * delta(idle0, idle1, "transport_sends"));
  EXPECT_LT(delta(idle0, idle1, "frames"), delta(idle0, idle1, "raft_messages"));

  // Writes: commands written to ExaBGP (all three nodes) per committed write.
  constexpr std::uint64_t kWrites = 40;
  std::uint64_t commands0 = 0;
  for (std::size_t i = 0; i < 3; ++i) commands0 += c.fabric().commands(i);
  const json w0 = c.core(lead).send_json();
  for (std::uint64_t n = 1; n <= kWrites; ++n)
    ASSERT_TRUE(c.request(lead, "kv.put", {{"key", "k" + std::to_string(n)}, {"value", "v"}}, "w", n + 1).ok);
  const json w1 = c.core(lead).send_json();
  std::uint64_t commands1 = 0;
  for (std::size_t i = 0; i < 3; ++i) commands1 += c.fabric().commands(i);
  EXPECT_LT(delta(w0, w1, "frames"), delta(w0, w1, "raft_messages"));
  std::cout << "[ broadcast ] leader raft_messages " << delta(w0, w1, "raft_messages") << " frames "
            << delta(w0, w1, "frames") << "; exabgp commands per committed write "
            << static_cast<double>(commands1 - commands0) / kWrites << '\n';
}

}  // namespace
}  // namespace raftbgp::agent::test
