#include "raftbgp/agent/latency_model.h"

#include <algorithm>
#include <boost/math/special_functions/erf.hpp>
#include <cmath>
#include <string>

namespace raftbgp::agent {
namespace {

using nlohmann::json;
using raft::MessageType;

// Never negative: an answer's arrival is an estimate (LatencyModel::arrival, the middle of a loop) and can fall before
// the send it answers was stamped.
double seconds_between(LatencyModel::Clock::time_point from, LatencyModel::Clock::time_point to) {
  return std::chrono::duration<double>(std::max(from, to) - from).count();
}

}  // namespace

double ModelHistogram::quantile(double q) const {
  if (count_ == 0) return 0;
  const double want = q * static_cast<double>(count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBounds; ++i) {
    seen += counts_[i];
    if (static_cast<double>(seen) >= want) return bound(i);
  }
  return bound(kBounds - 1);
}

double ModelHistogram::rank(double seconds) const {
  if (count_ == 0) return 0.5;
  const std::size_t i = bucket(seconds);
  std::uint64_t below = 0;
  for (std::size_t k = 0; k < i; ++k) below += counts_[k];
  return (static_cast<double>(below) + 0.5 * static_cast<double>(counts_[i])) / static_cast<double>(count_);
}

json ModelHistogram::to_json(std::size_t every) const {
  json bounds = json::array(), counts = json::array();
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBounds; ++i) {
    cumulative += counts_[i];
    if (every > 1 && i % every != 0) continue;
    bounds.push_back(bound(i));
    counts.push_back(cumulative);
  }
  return json{{"bounds", bounds}, {"counts", counts}, {"count", count_}, {"sum", sum_}};
}

void LatencyModel::Ring::push(std::uint64_t key, Clock::time_point at) {
  if (size == kRing) {  // full: forget the oldest (its answer was lost, or it is far behind)
    head = (head + 1) % kRing;
    --size;
  }
  slots[(head + size) % kRing] = Sent{key, at};
  ++size;
  unstamped = std::min(unstamped + 1, size);
}

void LatencyModel::Ring::stamp(Clock::time_point now) {
  for (std::size_t k = size - unstamped; k < size; ++k) slots[(head + k) % kRing].at = now;
  unstamped = 0;
}

void LatencyModel::set_voters(const std::vector<raft::NodeId>& sorted_voters) {
  voters_ = sorted_voters;
  voters_set_ = true;
  for (auto& [id, p] : peers_)
    if (!voter(id)) p.heartbeats = Ring{};  // their answers would be matched to the wrong heartbeat
}

bool LatencyModel::voter(raft::NodeId id) const {
  return !voters_set_ || std::binary_search(voters_.begin(), voters_.end(), id);
}

LatencyModel::Clock::time_point LatencyModel::arrival(Clock::time_point now) {
  if (!synced_set_ || now - synced_to_ > kQueuedWithin) return now;
  ++queued_answers_;
  return synced_from_ + (synced_to_ - synced_from_) / 2;
}

void LatencyModel::on_propose(std::uint64_t index, Clock::time_point now) {
  note_input(now);
  if (proposed_set_) return;  // timed from the oldest one waiting
  proposed_ = Sent{index, now};
  proposed_set_ = true;
}

void LatencyModel::stamp_sends(Clock::time_point now) {
  if (synced_) {
    synced_from_ = loop_from_set_ ? loop_from_ : now;
    synced_to_ = now;
    synced_set_ = true;
  }
  synced_ = loop_from_set_ = false;
  if (proposed_sent_) {
    propose_service_.observe(seconds_between(proposed_.at, now));
    proposed_set_ = proposed_sent_ = false;
  }
  for (auto& [id, p] : peers_) {
    if (p.appends.unstamped > 0) p.appends.stamp(now);
    if (p.heartbeats.unstamped > 0) p.heartbeats.stamp(now);
    if (p.votes.unstamped > 0) p.votes.stamp(now);
    if (p.acked) {
      service_.observe(seconds_between(p.appended.at, now));
      p.acked = p.appended_set = false;
    }
  }
}

bool LatencyModel::Ring::pop_front(Sent& out) {
  if (size == 0) return false;
  out = slots[head];
  head = (head + 1) % kRing;
  --size;
  return true;
}

void LatencyModel::on_send(const raft::Message& m, raft::NodeId to, Clock::time_point now) {
  switch (m.type()) {
    case MessageType::MSG_APP:
      // Only entries are answered (a commit-only AppendEntries is not, raft.proto), and only they are what a
      // quorum waits for.
      if (m.entries().empty()) return;
      peer(to).appends.push(m.entries(m.entries_size() - 1).index(), now);
      if (proposed_set_ && m.entries(m.entries_size() - 1).index() >= proposed_.key) proposed_sent_ = true;
      return;
    case MessageType::MSG_HEARTBEAT:
      if (voter(to)) peer(to).heartbeats.push(0, now);
      return;
    case MessageType::MSG_APP_RESP: {
      Peer& p = peer(to);
      if (!m.reject() && p.appended_set && m.index() >= p.appended.key) p.acked = true;
      return;
    }
    case MessageType::MSG_VOTE:
    case MessageType::MSG_PRE_VOTE: peer(to).votes.push(0, now); return;
    default: return;
  }
}

void LatencyModel::on_receive(const raft::Message& m, Clock::time_point delivered) {
  // Answers are timed to their arrival; the first input of a loop starts its busy time (both above, in the header).
  const bool answer = m.type() == MessageType::MSG_APP_RESP || m.type() == MessageType::MSG_HEARTBEAT_RESP ||
                      m.type() == MessageType::MSG_VOTE_RESP || m.type() == MessageType::MSG_PRE_VOTE_RESP;
  const Clock::time_point now = answer ? arrival(delivered) : delivered;
  note_input(delivered);
  if (m.type() == MessageType::MSG_APP && !m.entries().empty()) {  // as a follower: time our answer
    Peer& leader = peer(m.from());
    if (!leader.appended_set) leader.appended = Sent{m.entries(m.entries_size() - 1).index(), now};
    leader.appended.key = m.entries(m.entries_size() - 1).index();
    leader.appended_set = true;
    return;
  }
  const auto it = peers_.find(m.from());
  if (it == peers_.end()) return;  // we never sent it anything we time
  Peer& p = it->second;
  Sent s;
  switch (m.type()) {
    case MessageType::MSG_APP_RESP:
      if (m.reject()) return;
      // Every send now acknowledged, timed to this first answer that covers it. A learner's answers are paced
      // (ack_pacing.h): they would tell how the pacing moves, not the links.
      while (p.appends.size > 0 && p.appends.front().key <= m.index()) {
        p.appends.pop_front(s);
        const double rtt = seconds_between(s.at, now);
        if (voter(m.from())) co_observe(p.append_rtt, rtt, s.at);
        p.append_rtt.observe(rtt);
      }
      return;
    case MessageType::MSG_HEARTBEAT_RESP:
      if (voter(m.from()) && p.heartbeats.pop_front(s)) p.heartbeat_rtt.observe(seconds_between(s.at, now));
      return;
    case MessageType::MSG_VOTE_RESP:
    case MessageType::MSG_PRE_VOTE_RESP:
      if (p.votes.pop_front(s)) p.vote_rtt.observe(seconds_between(s.at, now));
      return;
    default: return;
  }
}

void LatencyModel::co_observe(const ModelHistogram& h, double rtt, Clock::time_point sent) {
  if (h.count() < kCoMinCount) return;
  // A normal score from the mid-rank, kept off the extremes (a sample past every earlier one is not infinitely far).
  const double u = std::clamp(h.rank(rtt), 0.001, 0.999);
  const double z = std::sqrt(2.0) * boost::math::erf_inv(2 * u - 1);
  for (std::size_t k = 0; k < co_size_; ++k) {
    const Scored& o = co_ring_[k];
    const double gap = std::chrono::duration<double>(sent > o.sent ? sent - o.sent : o.sent - sent).count();
    const std::size_t bin =
        static_cast<std::size_t>(std::upper_bound(kCoGapUpper.begin(), kCoGapUpper.end(), gap) - kCoGapUpper.begin());
    CoBin& b = co_bins_[bin];
    ++b.pairs;
    b.x += o.z, b.y += z, b.xx += o.z * o.z, b.yy += z * z, b.xy += o.z * z;
  }
  co_ring_[co_next_] = Scored{z, sent};
  co_next_ = (co_next_ + 1) % kCoRing;
  co_size_ = std::min(co_size_ + 1, kCoRing);
}

json LatencyModel::co_move_json() const {
  json out{{"gap_upper_seconds", kCoGapUpper}};
  json pairs = json::array(), x = json::array(), y = json::array(), xx = json::array(), yy = json::array(),
       xy = json::array();
  for (const CoBin& b : co_bins_) {
    pairs.push_back(b.pairs);
    x.push_back(b.x), y.push_back(b.y), xx.push_back(b.xx), yy.push_back(b.yy), xy.push_back(b.xy);
  }
  out["pairs"] = pairs;
  out["sum_x"] = x, out["sum_y"] = y, out["sum_xx"] = xx, out["sum_yy"] = yy, out["sum_xy"] = xy;
  return out;
}

void LatencyModel::on_soft_state(raft::NodeId leader, raft::Role role, Clock::time_point now) {
  if (role != last_role_ && (role == raft::Role::kPreCandidate || role == raft::Role::kCandidate) &&
      last_role_ != raft::Role::kPreCandidate)
    ++campaigns_;  // PreCandidate -> Candidate is one campaign
  if (role == raft::Role::kLeader && last_role_ != raft::Role::kLeader) ++won_;
  last_role_ = role;
  if (leader == last_leader_) return;
  if (leader == raft::kNoNode) {
    leaderless_since_ = now;
    leaderless_since_set_ = true;
  } else {
    ++leader_changes_;
    if (leaderless_since_set_) leaderless_.observe(seconds_between(leaderless_since_, now));
    leaderless_since_set_ = false;
  }
  last_leader_ = leader;
}

// status (every > 1) leaves out what has no sample yet: a 31-peer leader's status is built every tick when metrics
// are on (~0.5 ms with every histogram); the model file keeps them all.
json LatencyModel::peers_json(std::size_t every) const {
  json out = json::object();
  for (const auto& [id, p] : peers_) {
    json one = json::object();
    const std::pair<const char*, const ModelHistogram*> kinds[] = {{"append_rtt_seconds", &p.append_rtt},
                                                                   {"heartbeat_rtt_seconds", &p.heartbeat_rtt},
                                                                   {"vote_rtt_seconds", &p.vote_rtt}};
    for (const auto& [key, h] : kinds)
      if (every == 1 || h->count() > 0) one[key] = h->to_json(every);
    if (!one.empty()) out[std::to_string(id)] = std::move(one);
  }
  return out;
}

json LatencyModel::elections_json(std::size_t every) const {
  return json{{"campaigns", campaigns_},
              {"won", won_},
              {"leader_changes", leader_changes_},
              {"leaderless_seconds", leaderless_.to_json(every)}};
}

json LatencyModel::status_json() const {
  constexpr std::size_t kEvery = ModelHistogram::kPerDoubling;
  return json{{"fsync_seconds", fsync_.to_json(kEvery)},
              {"apply_seconds", apply_.to_json(kEvery)},
              {"append_service_seconds", service_.to_json(kEvery)},
              {"propose_service_seconds", propose_service_.to_json(kEvery)},
              {"peers", peers_json(kEvery)},
              {"elections", elections_json(kEvery)}};
}

json LatencyModel::model_json() const {
  return json{{"fsync_seconds", fsync_.to_json()},
              {"apply_seconds", apply_.to_json()},
              {"append_service_seconds", service_.to_json()},
              {"propose_service_seconds", propose_service_.to_json()},
              {"peers", peers_json(1)},
              {"elections", elections_json(1)},
              {"queued_answers", queued_answers_},
              {"rtt_co_move", co_move_json()}};
}

}  // namespace raftbgp::agent
