// AckRouter: shares one ExaBGP command stream between the transport (mailbox frames) and the agent's
// own commands (policy routes), so each `done`/`error` reaches the owner of the command it answers.
// Users: AgentCore (agent/include/raftbgp/agent/agent_core.h) and raftbgp-ping (bgp-transport/tools/), which
// writes through two Transports (its real key and a wrong one) and its raw probes as "agent" lines. Pure: no
// IO, no clock (ticks come from the caller), no logging (set_refusal_log).
//
// ExaBGP acks every command exactly once, in write order (docs/exabgp.md §4.3). The router records the owner of
// every line in the order it is written; an ack pops the oldest record. Transport-owned acks go back to
// Transport::on_line (which pops its own FIFO, paced by its own window); agent-owned acks return the
// agent's command. The agent's commands have their own window, so a burst of policy changes cannot
// starve mailbox traffic and vice versa. Policy commands are never dropped (unlike mailbox frames, a lost
// policy command would not be retransmitted by Raft).
//
// The single choke point for ExaBGP's stdin: every line the agent writes passes transport_written() or
// queue_agent() first, and a line containing '\n', '\r' or NUL is refused there (counted in
// refused_unsafe(), reported to the refusal log, never written, never recorded as outstanding). ExaBGP reads one
// command per line, so such a line would smuggle extra commands past every validation (policy.h validate_policy_route
// keeps them out of the log; this is the last line of defence). A refused transport line (the hex codec never makes
// one) still holds a slot of the transport's own window until the watchdog below frees it.
//
// Watchdog: ticks_without_ack() counts ticks during which commands were outstanding and no ack came.
// AgentCore resets the window (reset()) when it passes its limit: see agent_core.h "ExaBGP watchdog".
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace raftbgp::transport {

enum class LineOwner { kTransport, kAgent };

class AckRouter {
 public:
  explicit AckRouter(std::size_t agent_window = 16) : agent_window_(agent_window) {}

  // No '\n', '\r' or NUL: the line is exactly one ExaBGP command.
  static bool line_is_safe(std::string_view line);
  // The first 160 bytes of `line` with '\n', '\r' and NUL spelled out: printable in one log line.
  static std::string shown(std::string_view line);

  // Called with shown(line) for every refused line (the caller logs it); none by default.
  void set_refusal_log(std::function<void(std::string_view shown)> log) { refusal_log_ = std::move(log); }

  // The caller is about to write a line of its transport number `transport` (0 unless it has several; in
  // this order relative to agent lines). false: the line is unsafe and refused (counted, reported): the
  // caller must not write it.
  bool transport_written(std::string_view line, std::uint8_t transport = 0);
  // Queues an agent command; take_agent_ready() releases it within the window. false: refused as unsafe.
  bool queue_agent(std::string line);
  // Agent lines the window lets out now; they count as written when returned.
  std::vector<std::string> take_agent_ready();

  struct Acked {
    LineOwner owner = LineOwner::kTransport;
    std::uint8_t transport = 0;  // for kTransport: the number given to transport_written
    std::string line;            // the agent's command (empty for transport lines)
  };
  // One ack arrived. nullopt: nothing outstanding (the caller lets the transport count it unexpected).
  std::optional<Acked> on_ack();

  // One tick passed (watchdog clock).
  void tick();
  std::uint64_t ticks_without_ack() const { return ticks_without_ack_; }
  // Forgets every outstanding and waiting command (ExaBGP will not ack them): returns how many of the
  // outstanding ones were the transport's, so the caller can release the transport's window as well.
  std::size_t reset();

  std::size_t agent_outstanding() const { return agent_outstanding_; }
  std::size_t agent_waiting() const { return waiting_.size(); }
  std::size_t outstanding() const { return outstanding_.size(); }
  std::uint64_t refused_unsafe() const { return refused_unsafe_; }

 private:
  bool refuse_if_unsafe(std::string_view line);

  std::size_t agent_window_;
  std::size_t agent_outstanding_ = 0;
  std::deque<std::string> waiting_;
  std::deque<Acked> outstanding_;
  std::uint64_t refused_unsafe_ = 0;
  std::uint64_t ticks_without_ack_ = 0;
  std::function<void(std::string_view)> refusal_log_;
};

}  // namespace raftbgp::transport
