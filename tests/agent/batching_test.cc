// Batching (agent_core.h): raftbgpd runs one ready loop per burst of inputs, so concurrent client
// writes share one AppendEntries per follower, i.e. one ExaBGP announcement instead of one per write.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent_net.h"

namespace raftbgp::agent::test {
namespace {

using nlohmann::json;

// Three started agents; the index of their leader once it has settled (-1: none within the fabric's steps).
int settled_leader(AgentNet& net) {
  net.start_all();
  const int lead = net.wait_leader();
  if (lead >= 0) net.settle(10);
  return lead;
}

TEST(AgentBatching, Burst_of_writes_goes_out_in_one_append_and_all_of_them_commit) {
  AgentNet net(3, {1, 2, 3});
  const int lead_i = settled_leader(net);
  ASSERT_GE(lead_i, 0);
  const auto lead = static_cast<std::size_t>(lead_i);
  AgentCore& leader = net.core(lead);
  const std::uint64_t sends_before = leader.send_json()["transport_sends"].get<std::uint64_t>();
  const std::uint64_t last_before = leader.node().status().last_index;

  // Twenty clients' writes arrive in one burst, as raftbgpd sees them between two ready loops.
  constexpr int kWrites = 20;
  auto answers = std::make_shared<std::vector<std::optional<ClientResponse>>>(kWrites);
  leader.set_batching(true);
  for (int k = 0; k < kWrites; ++k) {
    ClientRequest req{"kv.put", json{{"key", "k" + std::to_string(k)}, {"value", "v"}}, "client" + std::to_string(k), 1,
                      3000};
    leader.on_client_request(std::move(req),
                             [answers, k](ClientResponse r) { (*answers)[static_cast<std::size_t>(k)] = r; });
  }
  EXPECT_TRUE(leader.ready_wanted());
  EXPECT_EQ(leader.send_json()["transport_sends"].get<std::uint64_t>(), sends_before)
      << "nothing leaves before the flush";
  leader.flush_ready();
  EXPECT_FALSE(leader.ready_wanted());
  EXPECT_EQ(leader.node().status().last_index, last_before + kWrites);
  // One AppendEntries carrying all twenty entries, to both followers in one frame (destination set).
  EXPECT_EQ(leader.send_json()["transport_sends"].get<std::uint64_t>(), sends_before + 1);

  leader.set_batching(false);
  net.fabric().run_until(
      [&] {
        for (const auto& a : *answers)
          if (!a) return false;
        return true;
      },
      400);
  for (int k = 0; k < kWrites; ++k) {
    const auto& a = (*answers)[static_cast<std::size_t>(k)];
    ASSERT_TRUE(a.has_value()) << "write " << k << " never answered";
    EXPECT_TRUE(a->ok) << a->code << " " << a->message;
  }
  net.settle(10);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(net.request(i, "kv.list", json::object()).result["items"].size(), static_cast<std::size_t>(kWrites))
        << "node " << i + 1;
  }
}

ClientRequest put_request(const std::string& key, const std::string& client) {
  return ClientRequest{"kv.put", json{{"key", key}, {"value", "v"}}, client, 1, 3000};
}

std::uint64_t send_field(const AgentCore& c, const char* name) { return c.send_json()[name].get<std::uint64_t>(); }

std::uint64_t fsyncs(const AgentCore& c) { return c.status_json()["wal_fsync_seconds"]["count"].get<std::uint64_t>(); }

// Parallel persistence (thesis §10.2.1): the leader's AppendEntries are handed to the driver through the output hook
// before the fsync of the entries they carry, so ExaBGP announces them while the WAL syncs. A follower's
// acknowledgement never is: it promises the entries are on its disk.
TEST(AgentBatching, A_leader_hands_out_its_appends_before_its_fsync_and_a_follower_its_acks_only_after) {
  AgentNet net(3, {1, 2, 3});
  const int lead_i = settled_leader(net);
  ASSERT_GE(lead_i, 0);
  const auto lead = static_cast<std::size_t>(lead_i);
  // The hook only looks: the fabric still takes the output after the input, as raftbgpd's flush would have.
  std::vector<std::uint64_t> seen;  // the leader's fsync count each time the hook ran
  AgentCore& leader = net.core(lead);
  leader.set_output_hook([&] {
    EXPECT_TRUE(leader.has_output());
    seen.push_back(fsyncs(leader));
  });
  const std::size_t f = (lead + 1) % 3;
  int follower_hooks = 0;
  AgentCore& follower = net.core(f);
  follower.set_output_hook([&] { ++follower_hooks; });
  const std::uint64_t before = fsyncs(leader);
  const std::uint64_t sends_before = send_field(leader, "transport_sends");
  auto answer = std::make_shared<std::optional<ClientResponse>>();
  leader.on_client_request(put_request("k", "c1"), [answer](ClientResponse r) { *answer = std::move(r); });
  ASSERT_EQ(seen.size(), 1u) << "the append is handed out mid-loop";
  EXPECT_EQ(seen[0], before) << "before the fsync of its entry";
  EXPECT_EQ(fsyncs(leader), before + 1);
  EXPECT_EQ(send_field(leader, "transport_sends"), sends_before + 1);
  net.fabric().run_until([&] { return answer->has_value(); }, 200);
  ASSERT_TRUE(answer->has_value());
  EXPECT_TRUE((*answer)->ok) << (*answer)->message;
  EXPECT_EQ(follower_hooks, 0) << "a follower's acknowledgement waits for its fsync and the end of the loop";
  leader.set_output_hook(nullptr);
  follower.set_output_hook(nullptr);
}

// Forwarded writes (agent_core.h): a follower sends its burst's writes to the leader as one MSG_FORWARD.
TEST(AgentBatching, A_follower_forwards_a_burst_of_writes_in_one_message_and_all_of_them_apply) {
  AgentNet net(3, {1, 2, 3});
  net.start_all();
  const int lead_i = net.wait_leader();
  ASSERT_GE(lead_i, 0);
  net.settle(10);
  const std::size_t f = (static_cast<std::size_t>(lead_i) + 1) % 3;
  AgentCore& follower = net.core(f);
  follower.set_batching(true);
  auto answered = std::make_shared<int>(0);
  const std::uint64_t forward_sends = send_field(follower, "forward_sends");
  const std::uint64_t sends = send_field(follower, "transport_sends");
  constexpr int kWrites = 12;
  for (int k = 0; k < kWrites; ++k)
    follower.on_client_request(put_request("f" + std::to_string(k), "fc" + std::to_string(k)),
                               [answered](ClientResponse r) { *answered += r.ok ? 1 : 0; });
  follower.flush_ready();
  EXPECT_EQ(send_field(follower, "forward_sends"), forward_sends + 1);
  EXPECT_EQ(send_field(follower, "transport_sends"), sends + 1);
  follower.set_batching(false);
  net.fabric().run_until([&] { return *answered == kWrites; }, 400);
  EXPECT_EQ(*answered, kWrites);
  net.settle(10);
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_EQ(net.request(i, "kv.list", json::object()).result["items"].size(), static_cast<std::size_t>(kWrites))
        << "node " << i + 1;
}

}  // namespace
}  // namespace raftbgp::agent::test
