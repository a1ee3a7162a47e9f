#include "raftbgp/agent/quiescence.h"

namespace raftbgp::agent {

Quiescence::LeaderTick Quiescence::leader_tick(std::uint64_t now, bool idle) {
  if (quiet_) return now >= next_refresh_ ? LeaderTick::kQuiesce : LeaderTick::kQuiet;
  idle_ticks_ = idle ? idle_ticks_ + 1 : 0;
  return settings_.after_ticks != 0 && idle_ticks_ >= settings_.after_ticks ? LeaderTick::kQuiesce : LeaderTick::kTick;
}

void Quiescence::quiesced(std::uint64_t now) {
  quiet_ = true;
  idle_ticks_ = 0;
  next_refresh_ = now + settings_.refresh_ticks;
  ++quiesces_;
}

bool Quiescence::wake() {
  idle_ticks_ = 0;
  if (!quiet_) return false;
  quiet_ = false;
  ++wakes_;
  return true;
}

void Quiescence::on_quiesce_heartbeat(raft::NodeId from, raft::Term term, std::uint64_t now) {
  presence_[from] = {term, now};
}

void Quiescence::on_presence_withdrawn(raft::NodeId from) { presences_ended_ += presence_.erase(from); }

void Quiescence::on_session_down() {
  presences_ended_ += presence_.size();
  presence_.clear();
}

bool Quiescence::frozen(raft::NodeId leader, raft::Term term, std::uint64_t now) const {
  const auto it = presence_.find(leader);
  return it != presence_.end() && it->second.term == term && now <= it->second.fresh_tick + settings_.lease_ticks();
}

}  // namespace raftbgp::agent
