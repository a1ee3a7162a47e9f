#include "raftbgp/transport/ack_router.h"

namespace raftbgp::transport {

bool AckRouter::line_is_safe(std::string_view line) {
  return line.find_first_of(std::string_view("\n\r\0", 3)) == std::string_view::npos;
}

std::string AckRouter::shown(std::string_view line) {
  std::string out;
  for (char ch : line.substr(0, 160))
    out += (ch == '\n' ? "\\n" : ch == '\r' ? "\\r" : ch == '\0' ? "\\0" : std::string(1, ch));
  return out;
}

bool AckRouter::refuse_if_unsafe(std::string_view line) {
  if (line_is_safe(line)) return false;
  ++refused_unsafe_;
  if (refusal_log_) refusal_log_(shown(line));
  return true;
}

bool AckRouter::transport_written(std::string_view line, std::uint8_t transport) {
  if (refuse_if_unsafe(line)) return false;
  outstanding_.push_back({LineOwner::kTransport, transport, {}});
  return true;
}

bool AckRouter::queue_agent(std::string line) {
  if (refuse_if_unsafe(line)) return false;
  waiting_.push_back(std::move(line));
  return true;
}

std::vector<std::string> AckRouter::take_agent_ready() {
  std::vector<std::string> out;
  while (!waiting_.empty() && agent_outstanding_ < agent_window_) {
    out.push_back(waiting_.front());
    outstanding_.push_back({LineOwner::kAgent, 0, std::move(waiting_.front())});
    waiting_.pop_front();
    ++agent_outstanding_;
  }
  return out;
}

std::optional<AckRouter::Acked> AckRouter::on_ack() {
  ticks_without_ack_ = 0;
  if (outstanding_.empty()) return std::nullopt;
  Acked a = std::move(outstanding_.front());
  outstanding_.pop_front();
  if (a.owner == LineOwner::kAgent) --agent_outstanding_;
  return a;
}

void AckRouter::tick() {
  if (outstanding_.empty()) {
    ticks_without_ack_ = 0;
    return;
  }
  ++ticks_without_ack_;
}

std::size_t AckRouter::reset() {
  std::size_t transport = 0;
  for (const Acked& a : outstanding_) transport += a.owner == LineOwner::kTransport ? 1 : 0;
  outstanding_.clear();
  waiting_.clear();
  agent_outstanding_ = 0;
  ticks_without_ack_ = 0;
  return transport;
}

}  // namespace raftbgp::transport
