#include "raftbgp/agent/health_signals.h"

#include <algorithm>

namespace raftbgp::agent {

using nlohmann::json;

void HealthSignals::on_event(const transport::ExabgpLine& event) {
  if (const auto* st = std::get_if<transport::StateEvent>(&event); st != nullptr && !st->peer.empty())
    peers_[st->peer] = st->state;
  else if (const auto* up = std::get_if<transport::UpdateEvent>(&event); up != nullptr && !up->peer.empty())
    peers_[up->peer] = "up";
}

void HealthSignals::on_message(const raft::Message& m, std::uint64_t now) {
  Heard& h = heard_[m.from()];
  if (m.term() != h.term) h.commit = 0;  // another term: another leader's numbers
  h.tick = now;
  h.term = m.term();
  if (m.type() == raft::MessageType::MSG_APP || m.type() == raft::MessageType::MSG_HEARTBEAT)
    h.commit = std::max(h.commit, m.commit());
}

raft::Index HealthSignals::leader_commit(const View& v) const {
  if (v.leader == 0 || v.leader == v.self) return v.commit;
  auto it = heard_.find(v.leader);
  if (it == heard_.end() || it->second.term != v.term) return v.commit;
  return std::max(v.commit, it->second.commit);
}

void HealthSignals::on_tick(std::uint64_t now, const View& v) {
  const raft::Index lc = leader_commit(v);
  if (v.leader == 0 || v.applied >= lc) return behind_.clear();
  while (!behind_.empty() && behind_.front().second <= v.applied) behind_.pop_front();
  if ((behind_.empty() || behind_.back().second < lc) && behind_.size() < kMaxMarks) behind_.emplace_back(now, lc);
}

std::size_t HealthSignals::sessions_up() const {
  return static_cast<std::size_t>(
      std::count_if(peers_.begin(), peers_.end(), [](const auto& p) { return p.second == "up"; }));
}

json HealthSignals::to_json(const View& v, std::uint64_t now, std::uint64_t tick_ms) const {
  const raft::Index lc = leader_commit(v);
  json contact = nullptr;
  if (v.leader != 0 && v.leader == v.self) {
    contact = 0;
  } else if (auto it = heard_.find(v.leader); v.leader != 0 && it != heard_.end() && it->second.term == v.term) {
    contact = (now - it->second.tick) * tick_ms;
  }
  json stall = nullptr;
  if (last_ack_stall_) stall = (now - *last_ack_stall_) * tick_ms;
  return json{{"bgp_sessions_up", sessions_up()},
              {"bgp_peers", peers_},
              {"leader_commit", lc},
              {"lag_entries", lc > v.applied ? lc - v.applied : 0},
              {"behind_ms", behind_.empty() ? 0 : (now - std::min(now, behind_.front().first)) * tick_ms},
              {"leader_contact_ms", contact},
              {"last_ack_stall_ms_ago", stall}};
}

}  // namespace raftbgp::agent
