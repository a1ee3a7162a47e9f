#include "raftbgp/transport/fragment.h"

#include <algorithm>

#include "raftbgp/raft/types.h"

namespace raftbgp::transport {

std::vector<ByteView> split_message(ByteView message, std::size_t max_fragment_bytes) {
  RAFT_ASSERT(max_fragment_bytes > 0);
  std::vector<ByteView> out;
  std::size_t off = 0;
  do {
    const std::size_t n = std::min(max_fragment_bytes, message.size() - off);
    out.push_back(message.subspan(off, n));
    off += n;
  } while (off < message.size());
  return out;
}

std::map<Reassembler::Id, Reassembler::Pending>::iterator Reassembler::erase(std::map<Id, Pending>::iterator it) {
  bytes_ -= it->second.bytes + it->second.slot_bytes;
  return pending_.erase(it);
}

bool Reassembler::evict_for_bytes(const Id& self) {
  while (bytes_ > limits_.max_bytes && !pending_.empty()) {
    auto victim = oldest();
    const bool is_self = victim->first == self;
    erase(victim);
    ++stats_.evicted_bytes;
    if (is_self) return true;
  }
  return false;
}

std::map<Reassembler::Id, Reassembler::Pending>::iterator Reassembler::oldest() {
  return std::min_element(pending_.begin(), pending_.end(),
                          [](const auto& a, const auto& b) { return a.second.first_tick < b.second.first_tick; });
}

Reassembler::Outcome Reassembler::complete(std::map<Id, Pending>::iterator it) {
  Outcome out{Status::kComplete, {}};
  out.message.reserve(it->second.bytes);
  for (auto& piece : it->second.fragments) out.message.insert(out.message.end(), piece->begin(), piece->end());
  erase(it);
  return out;
}

Reassembler::Outcome Reassembler::add(const FrameHeader& header, Bytes fragment, std::uint64_t now_tick) {
  if (header.fragment_count == 1) {
    if (fragment.size() > limits_.max_message_bytes) return {Status::kTooLarge, {}};
    return {Status::kComplete, std::move(fragment)};
  }
  const Id id{header.src, header.epoch, header.sequence};
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    // A count no sender produces for a message within max_message_bytes (fragments are at least
    // kMinFragmentBytes), or whose slot table alone exceeds the byte budget, is refused before it takes
    // any buffer space.
    const std::size_t slot_bytes = header.fragment_count * sizeof(std::optional<Bytes>);
    if (header.fragment_count > max_fragment_count(limits_.max_message_bytes) || slot_bytes > limits_.max_bytes)
      return {Status::kTooLarge, {}};
    while (pending_.size() >= limits_.max_messages && !pending_.empty()) {
      erase(oldest());
      ++stats_.evicted_count;
    }
    Pending p;
    p.first_tick = now_tick;
    p.slot_bytes = slot_bytes;
    p.version = header.version;
    p.fragments.resize(header.fragment_count);
    bytes_ += slot_bytes;
    it = pending_.emplace(id, std::move(p)).first;
  }
  Pending& p = it->second;
  if (p.fragments.size() != header.fragment_count || p.version != header.version) {
    erase(it);
    return {Status::kInconsistent, {}};
  }
  if (p.fragments[header.fragment_index]) {
    ++stats_.duplicate_fragments;
    return {Status::kDuplicate, {}};
  }
  if (p.bytes + fragment.size() > limits_.max_message_bytes) {
    erase(it);
    return {Status::kTooLarge, {}};
  }
  p.bytes += fragment.size();
  bytes_ += fragment.size();
  p.fragments[header.fragment_index] = std::move(fragment);
  ++p.received;
  if (p.received == p.fragments.size()) return complete(it);
  // Over the byte bound: drop the oldest messages (possibly this one) until the buffers fit again.
  evict_for_bytes(id);
  return {Status::kPending, {}};
}

void Reassembler::expire(std::uint64_t now_tick) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now_tick > it->second.first_tick && now_tick - it->second.first_tick > limits_.max_age_ticks) {
      ++stats_.expired;
      it = erase(it);
    } else {
      ++it;
    }
  }
}

void Reassembler::forget(std::uint64_t src) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (std::get<0>(it->first) == src) {
      it = erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace raftbgp::transport
