#include "raftbgp/transport/send_queue.h"

#include <algorithm>

#include "raftbgp/raft/types.h"

namespace raftbgp::transport {

SendQueue::SendQueue(std::size_t window, std::size_t max_queued) : window_(window), max_queued_(max_queued) {
  RAFT_ASSERT(window_ >= 1 && max_queued_ >= 1);
}

std::optional<Command> SendQueue::push(Command command) {
  std::optional<Command> dropped;
  if (waiting_.size() >= max_queued_) {
    auto victim = std::find_if(waiting_.begin(), waiting_.end(),
                               [](const Command& c) { return c.kind == CommandKind::kAnnounce; });
    if (victim == waiting_.end()) victim = waiting_.begin();
    dropped = std::move(*victim);
    waiting_.erase(victim);
    ++dropped_;
  }
  waiting_.push_back(std::move(command));
  return dropped;
}

std::vector<std::string> SendQueue::take_ready() {
  std::vector<std::string> lines;
  while (!waiting_.empty() && outstanding_.size() < window_) {
    lines.push_back(waiting_.front().line);
    outstanding_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
  return lines;
}

std::optional<Command> SendQueue::on_ack() {
  if (outstanding_.empty()) return std::nullopt;
  Command c = std::move(outstanding_.front());
  outstanding_.pop_front();
  return c;
}

void SendQueue::reset() {
  waiting_.clear();
  outstanding_.clear();
}

}  // namespace raftbgp::transport
