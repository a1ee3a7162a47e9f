#include "raftbgp/transport/replay.h"

#include <openssl/evp.h>

#include <algorithm>

#include "raftbgp/raft/types.h"
#include "raftbgp/transport/big_endian.h"

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
  ++marks_;
}

ReplayWindow ReplayWindow::restored(std::uint64_t epoch, std::uint64_t highest, const Bits& bits) {
  RAFT_ASSERT(epoch >= 1 && epoch <= kMaxEpoch && highest <= kMaxSequence);
  ReplayWindow w;
  w.epoch_ = epoch;
  w.highest_ = highest;
  w.bits_ = bits;
  return w;
}

namespace {

constexpr std::uint64_t kMagic = 0x5242475052504c59;  // "RBGPRPLY"
constexpr std::size_t kPrefixBytes = 14;
constexpr std::size_t kSenderBytes = 24 + 8 * (ReplayWindow::kWindowBits / 64);
constexpr std::size_t kDigestBytes = 32;

std::array<std::uint8_t, kDigestBytes> sha256(ByteView bytes) {
  std::array<std::uint8_t, kDigestBytes> d{};
  unsigned int n = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), d.data(), &n, EVP_sha256(), nullptr) != 1 || n != d.size())
    RAFT_PANIC("EVP_Digest(SHA-256) failed");
  return d;
}

}  // namespace

Bytes ReplayGuard::export_state() const {
  Bytes out;
  out.reserve(kPrefixBytes + kSenderBytes * windows_.size() + kDigestBytes);
  put_be(out, kMagic, 8);
  put_be(out, kReplayStateVersion, 2);
  put_be(out, windows_.size(), 4);
  for (const auto& [src, w] : windows_) {
    put_be(out, src, 8);
    put_be(out, w.epoch(), 8);
    put_be(out, w.highest(), 8);
    for (std::uint64_t word : w.bits()) put_be(out, word, 8);
  }
  const auto digest = sha256(out);
  out.insert(out.end(), digest.begin(), digest.end());
  return out;
}

std::variant<ReplayGuard, std::string> ReplayGuard::import_state(ByteView bytes) {
  if (bytes.size() < kPrefixBytes + kDigestBytes) return "truncated (" + std::to_string(bytes.size()) + " bytes)";
  const std::uint8_t* p = bytes.data();
  if (get_be(p, 8) != kMagic) return "not a replay state file (bad magic)";
  if (get_be(p + 8, 2) != kReplayStateVersion)
    return "unknown version " + std::to_string(get_be(p + 8, 2)) + " (this build reads version 1)";
  const std::uint64_t n = get_be(p + 10, 4);
  const std::uint64_t want = kPrefixBytes + kSenderBytes * n + kDigestBytes;
  if (bytes.size() != want)
    return "length " + std::to_string(bytes.size()) + " does not match " + std::to_string(n) + " senders (" +
           std::to_string(want) + " bytes): truncated or corrupt";
  const ByteView body = bytes.first(bytes.size() - kDigestBytes);
  const auto digest = sha256(body);
  if (!std::equal(digest.begin(), digest.end(), bytes.begin() + static_cast<std::ptrdiff_t>(body.size())))
    return "checksum mismatch: corrupt";
  ReplayGuard g;
  std::uint64_t prev = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint8_t* s = p + kPrefixBytes + kSenderBytes * i;
    const std::uint64_t src = get_be(s, 8), epoch = get_be(s + 8, 8), highest = get_be(s + 16, 8);
    if (src <= prev) return "sender ids not strictly ascending and non-zero at entry " + std::to_string(i);
    if (epoch == 0 || epoch > kMaxEpoch || highest > kMaxSequence)
      return "sender " + std::to_string(src) + ": epoch or sequence out of range";
    ReplayWindow::Bits bits{};
    for (std::size_t w = 0; w < bits.size(); ++w) bits[w] = get_be(s + 24 + 8 * w, 8);
    g.windows_.emplace_hint(g.windows_.end(), src, ReplayWindow::restored(epoch, highest, bits));
    prev = src;
  }
  return g;
}

}  // namespace raftbgp::transport
