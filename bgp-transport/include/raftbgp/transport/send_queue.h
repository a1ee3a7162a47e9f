// Commands to ExaBGP paced by its acks (docs/exabgp.md §4.3).
//
// ExaBGP answers every command with exactly one "done" or "error", in order. The queue lets at most
// `window` commands be outstanding (written, not yet acked); each ack pops the oldest outstanding
// command, so an "error" maps back to the command that caused it. "done" only means "queued in ExaBGP's
// RIB", not "sent".
//
// Bound: at most `max_queued` commands wait behind the window. When a new command would exceed it, the
// OLDEST WAITING ANNOUNCEMENT is dropped (counted): mailbox traffic is lossy by design, Raft retransmits,
// and an old announcement is the one most likely already superseded (its slot is reused by a newer one).
// Withdrawals are only dropped when no announcement is waiting. Outstanding commands are never dropped:
// they are already in ExaBGP's pipe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace raftbgp::transport {

enum class CommandKind : std::uint8_t { kAnnounce, kWithdraw, kOther };

struct Command {
  CommandKind kind = CommandKind::kOther;
  std::string line;  // without '\n'
  // The owner's tag for the command (the transport: which mailbox slot an announcement fills), handed back
  // with it by on_ack() and push(); the queue never reads it.
  std::uint64_t tag = 0;
};

class SendQueue {
 public:
  explicit SendQueue(std::size_t window = 64, std::size_t max_queued = 4096);

  // Queues a command; returns the one it dropped to make room, if any (see above).
  std::optional<Command> push(Command command);
  // Moves waiting commands into the window and returns their lines, to be written in this order.
  std::vector<std::string> take_ready();
  // One ack arrived: pops and returns the oldest outstanding command; nullopt if none was outstanding
  // (an ack for a command written by someone else, or after reset()).
  std::optional<Command> on_ack();
  // Forgets outstanding and waiting commands (a new ExaBGP / pipe). Counts nothing.
  void reset();

  std::size_t outstanding() const { return outstanding_.size(); }
  std::size_t waiting() const { return waiting_.size(); }
  std::uint64_t dropped() const { return dropped_; }

 private:
  std::size_t window_;
  std::size_t max_queued_;
  std::deque<Command> waiting_;
  std::deque<Command> outstanding_;
  std::uint64_t dropped_ = 0;
};

}  // namespace raftbgp::transport
