#include <gtest/gtest.h>

#include "raftbgp/transport/send_queue.h"

namespace raftbgp::transport {
namespace {

Command announce(int i) { return {CommandKind::kAnnounce, "announce " + std::to_string(i)}; }
Command withdraw(int i) { return {CommandKind::kWithdraw, "withdraw " + std::to_string(i)}; }

TEST(SendQueue, Window_bounds_outstanding_commands_and_acks_release_more) {
  SendQueue q(2, 10);
  for (int i = 0; i < 5; ++i) q.push(announce(i));
  EXPECT_EQ(q.take_ready(), (std::vector<std::string>{"announce 0", "announce 1"}));
  EXPECT_TRUE(q.take_ready().empty());
  EXPECT_EQ(q.on_ack()->line, "announce 0");
  EXPECT_EQ(q.take_ready(), (std::vector<std::string>{"announce 2"}));
  EXPECT_EQ(q.outstanding(), 2u);
  EXPECT_EQ(q.waiting(), 2u);
}

TEST(SendQueue, Error_ack_maps_to_the_oldest_outstanding_command) {
  SendQueue q(4, 10);
  q.push(announce(1));
  q.push(withdraw(2));
  q.take_ready();
  EXPECT_EQ(q.on_ack()->line, "announce 1");
  EXPECT_EQ(q.on_ack()->line, "withdraw 2");
  EXPECT_FALSE(q.on_ack());
}

TEST(SendQueue, Bound_drops_the_oldest_waiting_announcement_first) {
  SendQueue q(1, 3);
  q.push(announce(0));
  q.take_ready();  // 0 outstanding: never dropped
  q.push(withdraw(1));
  q.push(announce(2));
  q.push(announce(3));
  q.push(announce(4));  // full: drops announce 2, keeps the withdraw
  EXPECT_EQ(q.dropped(), 1u);
  q.on_ack();
  EXPECT_EQ(q.take_ready(), (std::vector<std::string>{"withdraw 1"}));
  q.on_ack();
  EXPECT_EQ(q.take_ready(), (std::vector<std::string>{"announce 3"}));
  SendQueue w(1, 2);
  w.push(withdraw(1));
  w.push(withdraw(2));
  w.push(withdraw(3));  // no announcement waiting: the oldest withdraw goes
  EXPECT_EQ(w.take_ready(), (std::vector<std::string>{"withdraw 2"}));
}

TEST(SendQueue, Reset_forgets_everything) {
  SendQueue q(1, 3);
  q.push(announce(0));
  q.push(announce(1));
  q.take_ready();
  q.reset();
  EXPECT_FALSE(q.on_ack());
  EXPECT_TRUE(q.take_ready().empty());
}

}  // namespace
}  // namespace raftbgp::transport
