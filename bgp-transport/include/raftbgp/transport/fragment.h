// Fragmentation and reassembly of serialized Messages larger than one announcement's budget
// (docs/architecture.md §3 "Size").
//
// A message is cut into fragments that share (src, epoch, sequence) and differ in fragment index; each is
// sealed as its own frame and announced on its own mailbox slot. Fragment loss loses the message (Raft
// retransmits); duplicate and reordered fragments are fine. Buffers are bounded in number of messages,
// total bytes and age; age is measured in the caller's ticks (no clock here).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <tuple>
#include <vector>

#include "raftbgp/transport/frame.h"

namespace raftbgp::transport {

// Splits `message` into pieces of at most `max_fragment_bytes` (the last may be shorter; an empty message
// gives one empty piece). Precondition: max_fragment_bytes > 0.
std::vector<ByteView> split_message(ByteView message, std::size_t max_fragment_bytes);

// The largest fragment that fits `budget` bytes of attribute with n destinations; 0 if none fits.
constexpr std::size_t max_fragment_bytes(std::size_t budget, std::size_t n_destinations) {
  return budget > frame_overhead(n_destinations) ? budget - frame_overhead(n_destinations) : 0;
}

// The smallest fragment a sender cuts (Transport::create refuses a payload budget that leaves less than
// this for a fragment), so a message of at most M bytes never has more than ceil(M / kMinFragmentBytes)
// fragments; a header claiming more is refused before anything is allocated for it.
inline constexpr std::size_t kMinFragmentBytes = 256;

constexpr std::size_t max_fragment_count(std::size_t max_message_bytes) {
  return max_message_bytes == 0 ? 1 : (max_message_bytes + kMinFragmentBytes - 1) / kMinFragmentBytes;
}

struct ReassemblyLimits {
  std::size_t max_messages = 64;  // incomplete messages buffered at once
  // Bytes buffered at once: the fragments plus the per-message slot table (fragment count x a slot), so
  // no header can make the reassembler allocate outside this budget.
  std::size_t max_bytes = 4 * 1024 * 1024;
  std::uint64_t max_age_ticks = 50;             // an incomplete message older than this is dropped
  std::size_t max_message_bytes = 1024 * 1024;  // a reassembled message larger than this is kTooLarge
};

struct ReassemblyStats {
  std::uint64_t evicted_count = 0;  // dropped to make room (max_messages)
  std::uint64_t evicted_bytes = 0;  // dropped to make room (max_bytes)
  std::uint64_t expired = 0;        // dropped by age
  std::uint64_t duplicate_fragments = 0;
};

class Reassembler {
 public:
  explicit Reassembler(ReassemblyLimits limits = {}) : limits_(limits) {}

  enum class Status { kPending, kComplete, kDuplicate, kTooLarge, kInconsistent };
  struct Outcome {
    Status status = Status::kPending;
    Bytes message;  // set when kComplete
  };

  // Adds one authenticated fragment received at `now_tick`. A single-fragment message completes at once
  // without buffering. kInconsistent: the fragment count or the frame version disagrees with earlier fragments
  // of the message.
  // kTooLarge: the message would exceed max_message_bytes, or its fragment count exceeds
  // max_fragment_count(max_message_bytes) (nothing is allocated for it).
  Outcome add(const FrameHeader& header, Bytes fragment, std::uint64_t now_tick);

  // Drops incomplete messages first seen more than max_age_ticks before now_tick.
  void expire(std::uint64_t now_tick);
  // Drops every buffered fragment of `src` (e.g. when the sender's epoch changes).
  void forget(std::uint64_t src);

  std::size_t pending_messages() const { return pending_.size(); }
  std::size_t pending_bytes() const { return bytes_; }
  const ReassemblyStats& stats() const { return stats_; }

 private:
  using Id = std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>;  // src, epoch, sequence
  struct Pending {
    std::uint64_t first_tick = 0;
    std::size_t bytes = 0;       // fragment bytes received
    std::size_t slot_bytes = 0;  // the slot table's allocation, charged to bytes_ too
    std::size_t received = 0;
    std::uint8_t version = 0;  // every fragment of a message has its frame version (v3 = compressed, frame.h)
    std::vector<std::optional<Bytes>> fragments;
  };

  // Erases `it`, releases its charge, returns the next iterator.
  std::map<Id, Pending>::iterator erase(std::map<Id, Pending>::iterator it);
  // Evicts the oldest messages until bytes_ fits max_bytes; true if `self` was among them.
  bool evict_for_bytes(const Id& self);
  std::map<Id, Pending>::iterator oldest();  // precondition: !pending_.empty()
  Outcome complete(std::map<Id, Pending>::iterator it);

  ReassemblyLimits limits_;
  std::map<Id, Pending> pending_;
  std::size_t bytes_ = 0;  // sum of bytes + slot_bytes over pending_
  ReassemblyStats stats_;
};

}  // namespace raftbgp::transport
