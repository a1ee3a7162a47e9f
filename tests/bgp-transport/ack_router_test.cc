#include "raftbgp/transport/ack_router.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace raftbgp::transport {
namespace {

TEST(AckRouter, Routes_acks_in_write_order_to_the_transport_number_or_the_agent) {
  AckRouter r;
  EXPECT_TRUE(r.transport_written("announce a"));     // transport 0
  EXPECT_TRUE(r.transport_written("announce b", 1));  // a second transport (raftbgp-ping's wrong key)
  EXPECT_TRUE(r.queue_agent("announce policy"));
  EXPECT_EQ(r.take_agent_ready(), std::vector<std::string>{"announce policy"});
  auto a = r.on_ack();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->owner, LineOwner::kTransport);
  EXPECT_EQ(a->transport, 0);
  a = r.on_ack();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->owner, LineOwner::kTransport);
  EXPECT_EQ(a->transport, 1);
  a = r.on_ack();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->owner, LineOwner::kAgent);
  EXPECT_EQ(a->line, "announce policy");
  EXPECT_FALSE(r.on_ack());  // nothing outstanding: the caller lets the transport count it unexpected
}

TEST(AckRouter, Agent_window_holds_lines_back_until_acks_free_it) {
  AckRouter r(1);
  EXPECT_TRUE(r.queue_agent("one"));
  EXPECT_TRUE(r.queue_agent("two"));
  EXPECT_EQ(r.take_agent_ready(), std::vector<std::string>{"one"});
  EXPECT_TRUE(r.take_agent_ready().empty());
  EXPECT_EQ(r.agent_waiting(), 1u);
  ASSERT_TRUE(r.on_ack());
  EXPECT_EQ(r.take_agent_ready(), std::vector<std::string>{"two"});
}

TEST(AckRouter, Reports_a_refused_line_to_the_refusal_log_spelled_out) {
  AckRouter r;
  std::vector<std::string> log;
  r.set_refusal_log([&log](std::string_view shown) { log.emplace_back(shown); });
  EXPECT_FALSE(r.transport_written(std::string("a\nb\rc\0d", 7)));
  EXPECT_TRUE(r.transport_written("fine"));
  EXPECT_EQ(log, std::vector<std::string>{"a\\nb\\rc\\0d"});
  EXPECT_EQ(r.refused_unsafe(), 1u);
  EXPECT_EQ(r.outstanding(), 1u);  // only the safe line waits for an ack
}

TEST(AckRouter, Watchdog_counts_ticks_without_ack_and_reset_returns_the_transport_lines) {
  AckRouter r;
  r.tick();
  EXPECT_EQ(r.ticks_without_ack(), 0u);  // nothing outstanding: nothing to wait for
  EXPECT_TRUE(r.transport_written("x"));
  EXPECT_TRUE(r.queue_agent("y"));
  EXPECT_EQ(r.take_agent_ready().size(), 1u);
  r.tick();
  r.tick();
  EXPECT_EQ(r.ticks_without_ack(), 2u);
  EXPECT_EQ(r.reset(), 1u);
  EXPECT_EQ(r.outstanding(), 0u);
  EXPECT_EQ(r.agent_outstanding(), 0u);
}

}  // namespace
}  // namespace raftbgp::transport
