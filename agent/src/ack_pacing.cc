#include "raftbgp/agent/ack_pacing.h"

#include <algorithm>

namespace raftbgp::agent {
namespace {

bool is_ack(const raft::Message& m) { return m.type() == raft::MessageType::MSG_APP_RESP && !m.reject(); }

// A heartbeat answer that confirms no ReadIndex round: it tells the leader only that we are alive.
bool is_plain_heartbeat_answer(const raft::Message& m) {
  return m.type() == raft::MessageType::MSG_HEARTBEAT_RESP && m.context().empty();
}

// What a learner may hold back: its acknowledgements and its plain heartbeat answers (neither counts towards a
// commit, an election or a read).
bool holdable(const raft::Message& m, bool learner) { return is_ack(m) || (learner && is_plain_heartbeat_answer(m)); }

// `later` says everything `earlier` said: to the same leader in the same term, an acknowledgement at least as
// high, or anything after a plain heartbeat answer (which says only "alive").
bool supersedes(const raft::Message& later, const raft::Message& earlier) {
  if (later.to() != earlier.to() || later.term() != earlier.term()) return false;
  if (is_plain_heartbeat_answer(earlier)) return holdable(later, true);
  return is_ack(later) && is_ack(earlier) && later.index() >= earlier.index();
}

}  // namespace

bool AckPacer::filter(const std::vector<raft::Message>& messages, bool learner, std::uint64_t now,
                      std::vector<raft::Message>& out) {
  const std::size_t n = static_cast<std::size_t>(
      std::count_if(messages.begin(), messages.end(), [&](const raft::Message& m) { return holdable(m, learner); }));
  if (n == 0 || (n == 1 && !learner)) return false;
  out.clear();
  out.reserve(messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const raft::Message& m = messages[i];
    if (!holdable(m, learner)) {
      out.push_back(m);
      continue;
    }
    const bool superseded =
        std::any_of(messages.begin() + static_cast<std::ptrdiff_t>(i) + 1, messages.end(),
                    [&](const raft::Message& later) { return holdable(later, learner) && supersedes(later, m); });
    if (superseded) {
      ++coalesced_;
      continue;
    }
    if (!learner) {
      out.push_back(m);
      continue;
    }
    if (held_ && supersedes(*held_, m)) {  // a plain heartbeat answer behind a held acknowledgement
      ++coalesced_;
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
