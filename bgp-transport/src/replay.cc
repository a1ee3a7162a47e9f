#include "raftbgp/transport/replay.h"

#include "raftbgp/raft/types.h"

namespace raftbgp::transport {

bool ReplayWindow::test(std::uint64_t sequence) const {
  const std::uint64_t bit = sequence % kWindowBits;
  return (bits_[bit / 64] >> (bit % 64)) & 1U;
}

void ReplayWindow::set(std::uint64_t sequence, bool on) {
  const std::uint64_t bit = sequence % kWindowBits;
  const std::uint64_t mask = std::uint64_t{1} << (bit % 64);
  if (on) {
    bits_[bit / 64] |= mask;
  } else {
    bits_[bit / 64] &= ~mask;
  }
}

bool ReplayWindow::is_replay(std::uint64_t epoch, std::uint64_t sequence) const {
  if (epoch != epoch_) return epoch < epoch_;
  if (sequence > highest_) return false;
  if (highest_ - sequence >= kWindowBits) return true;
  return test(sequence);
}

void ReplayWindow::mark(std::uint64_t epoch, std::uint64_t sequence) {
  RAFT_ASSERT(!is_replay(epoch, sequence));
  if (epoch > epoch_) {
    epoch_ = epoch;
    highest_ = 0;
    bits_.fill(0);
  }
  if (sequence > highest_) {
    // Slide: the slots of the sequences we skip over now stand for sequences not yet seen.
    if (sequence - highest_ >= kWindowBits) {
      bits_.fill(0);
    } else {
      for (std::uint64_t s = highest_ + 1; s < sequence; ++s) set(s, false);
    }
    highest_ = sequence;
  }
  set(sequence, true);
}

bool ReplayGuard::is_replay(std::uint64_t src, std::uint64_t epoch, std::uint64_t sequence) const {
  auto it = windows_.find(src);
  return it != windows_.end() && it->second.is_replay(epoch, sequence);
}

void ReplayGuard::mark(std::uint64_t src, std::uint64_t epoch, std::uint64_t sequence) {
  windows_[src].mark(epoch, sequence);
}

}  // namespace raftbgp::transport
