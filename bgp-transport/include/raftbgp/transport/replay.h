// Replay protection: a per-sender sliding window keyed by the sender's epoch (docs/architecture.md §3).
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
// (docs/exabgp.md §4.4): each of those messages was either delivered (bit set, or older than the window) or not.
//
// Only authenticated frames may reach mark(), so the number of senders tracked is bounded by the
// cluster's key holders.
//
// Restarts. The windows live in memory; a receiver that forgot them would deliver again every frame still
// announced in BGP (ExaBGP re-sends the whole RIB when the new process's session comes up). So the agent
// saves them (export_state) to its data dir before each Ready that syncs and at shutdown, and loads them
// (import_state) at start. The state file (version 1, all integers big-endian):
//   off  size  field
//     0     8  magic "RBGPRPLY"
//     8     2  version (kReplayStateVersion)
//    10     4  sender count n
//    14  152n  per sender, ascending non-zero src: src u64, epoch u64 (1..kMaxEpoch), highest sequence u64
//              (<= kMaxSequence), bitmap 16 x u64 (word i holds the bits of sequences = 64i..64i+63 mod 1024)
//  14+152n 32  SHA-256 of every byte before it
// The checksum detects a torn or corrupt file (the writer replaces it atomically, so either is a storage
// fault); it is not a MAC: whoever can write the data dir can rewrite the WAL too.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <variant>

#include "raftbgp/transport/crypto.h"

namespace raftbgp::transport {

class ReplayWindow {
 public:
  static constexpr std::uint64_t kWindowBits = 1024;

  bool is_replay(std::uint64_t epoch, std::uint64_t sequence) const;
  // Records (epoch, sequence) as delivered. Precondition: !is_replay(epoch, sequence).
  void mark(std::uint64_t epoch, std::uint64_t sequence);

  std::uint64_t epoch() const { return epoch_; }
  std::uint64_t highest() const { return highest_; }
  using Bits = std::array<std::uint64_t, kWindowBits / 64>;
  const Bits& bits() const { return bits_; }
  // A window as exported. Precondition: 1 <= epoch <= kMaxEpoch, highest <= kMaxSequence.
  static ReplayWindow restored(std::uint64_t epoch, std::uint64_t highest, const Bits& bits);

 private:
  bool test(std::uint64_t sequence) const;
  void set(std::uint64_t sequence, bool on);

  std::uint64_t epoch_ = 0;    // 0 = nothing seen yet (real epochs start at 1)
  std::uint64_t highest_ = 0;  // highest sequence delivered in epoch_
  Bits bits_{};                // bit (seq % kWindowBits) for seq in the window
};

inline constexpr std::uint16_t kReplayStateVersion = 1;

class ReplayGuard {
 public:
  bool is_replay(std::uint64_t src, std::uint64_t epoch, std::uint64_t sequence) const;
  void mark(std::uint64_t src, std::uint64_t epoch, std::uint64_t sequence);
  std::size_t senders() const { return windows_.size(); }
  // Number of mark() calls since construction: the state changed iff this moved (the agent saves then).
  std::uint64_t marks() const { return marks_; }

  // The state file's bytes (layout above).
  Bytes export_state() const;
  // Parses a state file. Any defect (short, long, bad magic, unknown version, checksum mismatch, unsorted
  // or zero src, epoch or sequence out of range) is an error saying what is wrong; never throws, and
  // allocates nothing before the length is known to match the sender count.
  static std::variant<ReplayGuard, std::string> import_state(ByteView bytes);

 private:
  std::map<std::uint64_t, ReplayWindow> windows_;
  std::uint64_t marks_ = 0;
};

}  // namespace raftbgp::transport
