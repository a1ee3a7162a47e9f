// Replay protection: a per-sender sliding window keyed by the sender's epoch (shared/DESIGN.md §3).
//
// The window is applied to whole messages, (src, epoch, sequence): a message is marked when it is delivered
// (after reassembly), and every fragment is checked against the window before it is buffered, so a
// duplicate of an already delivered message, or of any of its fragments, is rejected as kReplay.
// Duplicate fragments of a message still being reassembled are absorbed by the Reassembler.
//
// Per sender: the highest sequence delivered and a kWindowBits-bit bitmap below it. A sequence above the
// highest is new; one at most kWindowBits-1 below is new only if its bit is clear; anything older is
// treated as a replay (it may be a genuine late message; Raft retransmits, and a duplicate is worse than
// a loss here). A higher epoch (the sender rebooted) resets that sender's window; a lower epoch is a
// replay. This absorbs the full re-send of every still-announced slot after a BGP session reset
// (facts §4.4): each of those messages was either delivered (bit set, or older than the window) or not.
//
// Only authenticated frames may reach mark(), so the number of senders tracked is bounded by the
// cluster's key holders.
#pragma once

#include <array>
#include <cstdint>
#include <map>

namespace raftbgp::transport {

class ReplayWindow {
 public:
  static constexpr std::uint64_t kWindowBits = 1024;

  bool is_replay(std::uint64_t epoch, std::uint64_t sequence) const;
  // Records (epoch, sequence) as delivered. Precondition: !is_replay(epoch, sequence).
  void mark(std::uint64_t epoch, std::uint64_t sequence);

  std::uint64_t epoch() const { return epoch_; }
  std::uint64_t highest() const { return highest_; }

 private:
  bool test(std::uint64_t sequence) const;
  void set(std::uint64_t sequence, bool on);

  std::uint64_t epoch_ = 0;    // 0 = nothing seen yet (real epochs start at 1)
  std::uint64_t highest_ = 0;  // highest sequence delivered in epoch_
  std::array<std::uint64_t, kWindowBits / 64> bits_{};  // bit (seq % kWindowBits) for seq in the window
};

class ReplayGuard {
 public:
  bool is_replay(std::uint64_t src, std::uint64_t epoch, std::uint64_t sequence) const;
  void mark(std::uint64_t src, std::uint64_t epoch, std::uint64_t sequence);
  std::size_t senders() const { return windows_.size(); }

 private:
  std::map<std::uint64_t, ReplayWindow> windows_;
};

}  // namespace raftbgp::transport
