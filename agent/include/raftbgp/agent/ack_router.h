// AckRouter: shares one ExaBGP command stream between the transport (mailbox frames) and the agent's
// own commands (policy routes), so each `done`/`error` reaches the owner of the command it answers.
//
// ExaBGP acks every command exactly once, in write order (facts §4.3). The router records the owner of
// every line in the order it is written; an ack pops the oldest record. Transport-owned acks go back to
// Transport::on_line (which pops its own FIFO, paced by its own window); agent-owned acks return the
// agent's command. The agent's commands have their own window, so a burst of policy changes cannot
// starve mailbox traffic and vice versa. Policy commands are never dropped (unlike mailbox frames, a lost
// policy command would not be retransmitted by Raft).
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace raftbgp::agent {

enum class LineOwner { kTransport, kAgent };

class AckRouter {
 public:
  explicit AckRouter(std::size_t agent_window = 16) : agent_window_(agent_window) {}

  // The caller wrote a transport line to ExaBGP (in this order relative to agent lines).
  void transport_written() { outstanding_.push_back({LineOwner::kTransport, {}}); }
  // Queues an agent command; take_agent_ready() releases it within the window.
  void queue_agent(std::string line) { waiting_.push_back(std::move(line)); }
  // Agent lines the window lets out now; they count as written when returned.
  std::vector<std::string> take_agent_ready();

  struct Acked {
    LineOwner owner = LineOwner::kTransport;
    std::string line;  // the agent's command (empty for transport lines)
  };
  // One ack arrived. nullopt: nothing outstanding (the caller lets the transport count it unexpected).
  std::optional<Acked> on_ack();

  std::size_t agent_outstanding() const { return agent_outstanding_; }
  std::size_t agent_waiting() const { return waiting_.size(); }
  std::size_t outstanding() const { return outstanding_.size(); }

 private:
  std::size_t agent_window_;
  std::size_t agent_outstanding_ = 0;
  std::deque<std::string> waiting_;
  std::deque<Acked> outstanding_;
};

}  // namespace raftbgp::agent
