#include "raftbgp/agent/ack_router.h"

namespace raftbgp::agent {

std::vector<std::string> AckRouter::take_agent_ready() {
  std::vector<std::string> out;
  while (!waiting_.empty() && agent_outstanding_ < agent_window_) {
    out.push_back(waiting_.front());
    outstanding_.push_back({LineOwner::kAgent, std::move(waiting_.front())});
    waiting_.pop_front();
    ++agent_outstanding_;
  }
  return out;
}

std::optional<AckRouter::Acked> AckRouter::on_ack() {
  if (outstanding_.empty()) return std::nullopt;
  Acked a = std::move(outstanding_.front());
  outstanding_.pop_front();
  if (a.owner == LineOwner::kAgent) --agent_outstanding_;
  return a;
}

}  // namespace raftbgp::agent
