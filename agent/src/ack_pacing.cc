#include "raftbgp/agent/ack_pacing.h"

#include <algorithm>

namespace raftbgp::agent {
namespace {

bool is_ack(const raft::Message& m) { return m.type() == raft::MessageType::MSG_APP_RESP && !m.reject(); }

// `later` says everything `earlier` said (both acknowledgements).
bool supersedes(const raft::Message& later, const raft::Message& earlier) {
  return later.to() == earlier.to() && later.term() == earlier.term() && later.index() >= earlier.index();
}

}  // namespace

bool AckPacer::filter(const std::vector<raft::Message>& messages, bool learner, std::uint64_t now,
                      std::vector<raft::Message>& out) {
  const std::size_t acks = static_cast<std::size_t>(std::count_if(messages.begin(), messages.end(), is_ack));
  if (acks == 0 || (acks == 1 && !learner)) return false;
  out.clear();
  out.reserve(messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const raft::Message& m = messages[i];
    if (!is_ack(m)) {
      out.push_back(m);
      continue;
    }
    const bool superseded = std::any_of(messages.begin() + static_cast<std::ptrdiff_t>(i) + 1, messages.end(),
                                        [&](const raft::Message& n) { return is_ack(n) && supersedes(n, m); });
    if (superseded) {
      ++coalesced_;
      continue;
    }
    if (!learner) {
      out.push_back(m);
      continue;
    }
    if (held_) {
      if (supersedes(m, *held_)) ++coalesced_;
    } else {
      held_since_ = now;
    }
    held_ = m;
    ++held_count_;
  }
  return true;
}

std::optional<raft::Message> AckPacer::take_due(std::uint64_t now) {
  if (!held_ || now - held_since_ < hold_ticks_) return std::nullopt;
  std::optional<raft::Message> m = std::move(held_);
  held_.reset();
  return m;
}

}  // namespace raftbgp::agent
