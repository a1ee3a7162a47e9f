// Security 5 (ReadIndex batching): a flood of linearizable reads must not crowd Raft out of the
// transport. Reads share ReadIndex rounds, one round in flight per node (agent_reads.cc), so 20000 reads
// cost a handful of heartbeat broadcasts instead of 20000, which would overflow the transport's bounded
// send queue (max_queued 4096) and drop heartbeats and AppendEntries.
#include <gtest/gtest.h>

#include <memory>

#include "agent_net.h"

namespace raftbgp::agent::test {
namespace {

TEST(AgentReadIndex, Flood_of_reads_shares_rounds_and_never_drops_raft_traffic) {
  AgentNet net(3, {1, 2, 3});
  net.start_all();
  ASSERT_GE(net.wait_leader(), 0);
  const auto l = static_cast<std::size_t>(net.leader());
  const std::size_t f = (l + 1) % 3;  // a follower
  ASSERT_TRUE(net.request(l, "kv.put", {{"key", "k"}, {"value", "v"}}, "c", 1).ok);
  net.settle(10);
  const raft::Term term = net.core(l).node().term();
  const std::uint64_t sends_before = net.core(l).send_json()["transport_sends"].get<std::uint64_t>();

  constexpr int kReads = 20000;
  auto answered = std::make_shared<int>(0);
  auto good = std::make_shared<int>(0);
  for (int i = 0; i < kReads; ++i) {
    const std::size_t node = i % 4 == 0 ? f : l;  // a quarter through a follower (MSG_READ_INDEX)
    net.core(node).on_client_request(ClientRequest{"kv.get", {{"key", "k"}}, "", 0, 20000},
                                     [answered, good](ClientResponse r) {
                                       ++*answered;
                                       if (r.ok && r.result["value"] == "v") ++*good;
                                     });
  }
  // A write in the middle of the flood commits: AppendEntries still leave.
  ClientResponse w = net.request(l, "kv.put", {{"key", "k2"}, {"value", "w"}}, "c", 2);
  EXPECT_TRUE(w.ok) << w.code << ": " << w.message;
  net.fabric().run_until([&] { return *answered == kReads; }, 400);
  EXPECT_EQ(*answered, kReads);
  EXPECT_EQ(*good, kReads);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(net.core(i).transport().counters().queue_dropped, 0u) << "node " << i + 1;
    EXPECT_EQ(net.core(i).node().term(), term) << "heartbeats were lost: an election happened";
  }
  const std::uint64_t sends = net.core(l).send_json()["transport_sends"].get<std::uint64_t>() - sends_before;
  EXPECT_LT(sends, 500u) << "reads did not share ReadIndex rounds";
}

}  // namespace
}  // namespace raftbgp::agent::test
