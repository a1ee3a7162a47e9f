// The cluster's latency model, measured by the agent from the traffic it already sends (issue 14 item 3), for
// raftbgp-predict (predictor/) and for operators (status "latency_model", metrics raftbgp_model_*,
// `raftbgpctl debug model`):
//
//   append_rtt       per peer: an AppendEntries carrying entries up to index i leaves (the Ready's send) ->
//                    the first MSG_APP_RESP from that peer acknowledging >= i arrives. What the leader waits for
//                    to count the peer in a quorum: two transport traversals (ExaBGP, BGP transits, ExaBGP) plus
//                    the peer's queue, persist and fsync.
//   heartbeat_rtt    per peer: MSG_HEARTBEAT -> MSG_HEARTBEAT_RESP (FIFO matched: heartbeats carry no index, and
//                    the transport keeps a peer's order). The same path without the peer's fsync (a heartbeat
//                    syncs nothing), so it is the network's round trip; the predictor halves it for a one-way.
//                    Voters only (set_voters): a learner holds its plain heartbeat answers and drops those behind a
//                    newer one (ack_pacing.h), so FIFO matching would pair an answer with an older heartbeat.
//   vote_rtt         per peer: MSG_VOTE/MSG_PREVOTE -> its response (FIFO matched; rare: elections only).
//   append_service   on a follower: an AppendEntries with entries delivered -> its acknowledgement handed to ExaBGP
//                    (this agent's queue, persist, fsync, apply and sealing), what the leader's append_rtt holds
//                    besides the two traversals.
//   propose_service  on a leader: a proposal accepted at index i -> the first AppendEntries carrying i handed to
//                    ExaBGP: the leader's work before its AppendEntries leave (the Ready, the replay state's save
//                    with its own fsync, sealing). Its WAL fsync comes after (the output hook), so it is not in here;
//                    the predictor draws this whole, sends, then draws the fsync (predictor/.../model.h, work(n)).
//   fsync            one Ready made durable (WAL append + fsync), only Readys that sync.
//   apply            the committed entries of one Ready applied to the state machine.
//   elections        how often this node campaigned and won, and how long it was without a known leader each
//                    time it lost one (from the Ready's soft state: leader -> none -> some leader).
//   rtt_co_move      how append_rtt samples move together (model file only): each voter's sample's normal score
//                    within its peer's append_rtt so far (Phi^-1 of its mid-bucket rank; from kCoMinCount samples
//                    on) is paired with the last kCoRing such samples (a learner's answers are paced, and left out),
//                    and the pair's sums (x, y, xx, yy, xy) are added to the bin of the gap between their sends
//                    (kCoGapUpper). Two peers' answers to one AppendEntries are a pair at gap 0. raftbgp-predict fits
//                    rho * exp(-gap / tau) to the bins' correlations (predictor/.../model.h, co_move): its links'
//                    delays then move together as these did. Sums, not correlations, so that two dumps can be
//                    subtracted (predict_validate.py).
//
// An answer is timed to when it arrived, as far as this agent can tell. Its one thread reads nothing while a ready loop
// persists (fsync, sealing), so an answer that came during such a loop is delivered only after it: on star3 under
// load about a third of the leader's AppendEntries answers were, and their round trips held 8-10 ms of the leader's
// own loop against 1.5 ms for the rest (bench/lab/predict_validate.py traces, docs/architecture.md §7). The
// predictor simulates that wait itself (an input waits while the agent is busy), so a round trip that held it made
// every link too slow and the simulation counted the wait twice. An answer delivered within kQueuedWithin of the end
// of a loop that synced is taken to have arrived during it, at the middle of that loop (from the first input the
// loop handled: a proposal or a delivered message; uniform arrival is the assumption). `queued_answers` counts them.
//
// Cheap: fixed buckets, observe() is O(1) (one log2), and the pending sends are fixed rings per peer (a peer's
// entry is made once, on its first send); nothing is allocated per message. Wall-clock only (steady_clock, passed
// in by AgentCore): nothing the core decides depends on it. A send is timed from when its line is handed to the
// shell for writing (stamp_sends, from AgentCore::take_output), not from the Ready that made it: raftbgpd writes
// the lines of a ready loop after the whole loop, its fsync included, except a leader's AppendEntries, which the
// output hook takes before the fsync (AgentCore::set_output_hook).
//
// Buckets (ModelHistogram): 4 per doubling from 50 us to ~13 s, fine enough (+-9%) for the predictor to sample
// from. status and Prometheus show every 4th bound (a doubling), which keeps a 32-member leader's status small;
// `debug.model` (model_json) gives every bucket.
#pragma once

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "raftbgp/raft/node.h"

namespace raftbgp::agent {

class ModelHistogram {
 public:
  static constexpr double kFirstBound = 50e-6;  // seconds
  static constexpr std::size_t kPerDoubling = 4;
  static constexpr std::size_t kBounds = 73;  // 50 us * 2^(72/4) = 13.1 s
  static double bound(std::size_t i) { return kFirstBound * std::exp2(static_cast<double>(i) / kPerDoubling); }

  // The bucket `seconds` falls in (kBounds: +Inf).
  static std::size_t bucket(double seconds) {
    if (seconds <= kFirstBound) return 0;
    const double b = std::ceil(std::log2(seconds / kFirstBound) * kPerDoubling - 1e-9);
    return b >= static_cast<double>(kBounds) ? kBounds : static_cast<std::size_t>(b);
  }
  void observe(double seconds) {
    ++counts_[bucket(seconds)];  // counts_[kBounds] is +Inf
    ++count_;
    sum_ += seconds;
  }
  std::uint64_t count() const { return count_; }
  // The fraction of samples below `seconds`' bucket plus half of those in it (a mid-rank; 0.5 when empty).
  double rank(double seconds) const;
  double sum() const { return sum_; }
  // The q-quantile's upper bucket bound (seconds); 0 when empty.
  double quantile(double q) const;
  // {"bounds": [s...], "counts": [cumulative per bound], "count": n, "sum": s}, the shape of
  // LatencyHistogram::to_json (metrics.cc turns either into a Prometheus histogram). `every` > 1 keeps every
  // every-th bound only (cumulative counts stay exact at the kept bounds).
  nlohmann::json to_json(std::size_t every = 1) const;

 private:
  std::array<std::uint64_t, kBounds + 1> counts_{};
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

class LatencyModel {
 public:
  using Clock = std::chrono::steady_clock;

  // The voters of the applied configuration (AgentCore keeps it: at open, on a snapshot and on every applied
  // membership change). Heartbeats are timed to these only, and only their round trips go into rtt_co_move; a
  // peer's pending heartbeats are forgotten when it leaves them. Until the first call every peer counts (tests of
  // the matching alone).
  void set_voters(const std::vector<raft::NodeId>& sorted_voters);
  // A message handed to the transport for peer `to` at `now`.
  void on_send(const raft::Message& m, raft::NodeId to, Clock::time_point now);
  // The lines of every send since the last call are being written now (AgentCore::take_output).
  void stamp_sends(Clock::time_point now);
  // A message delivered from the transport (before it is stepped).
  void on_receive(const raft::Message& m, Clock::time_point now);
  // A proposal the core accepted at `index` (as leader).
  void on_propose(std::uint64_t index, Clock::time_point now);
  void on_fsync(double seconds) {
    fsync_.observe(seconds);
    synced_ = true;
  }
  void on_apply(double seconds) { apply_.observe(seconds); }
  // A Ready's soft state (leader, role) change.
  void on_soft_state(raft::NodeId leader, raft::Role role, Clock::time_point now);

  // status "latency_model": doubling buckets, per peer.
  nlohmann::json status_json() const;
  // The model file (`raftbgpctl debug model`): every bucket. The caller adds the node's identity and timers.
  nlohmann::json model_json() const;

 private:
  static constexpr std::size_t kRing = 32;
  static constexpr std::size_t kCoRing = 64;        // scored samples a new one is paired with
  static constexpr std::uint64_t kCoMinCount = 50;  // a peer's samples before its ranks are trusted
  static constexpr std::array<double, 7> kCoGapUpper{0.0005, 0.002, 0.008, 0.032, 0.128, 0.512, 2.048};  // s
  static constexpr std::chrono::microseconds kQueuedWithin{300};
  struct Sent {
    std::uint64_t key = 0;  // AppendEntries: the last entry index; FIFO rings: unused
    Clock::time_point at{};
  };
  // A fixed ring of sends waiting for their answer; the oldest is overwritten when full.
  struct Ring {
    std::array<Sent, kRing> slots{};
    std::size_t head = 0, size = 0;
    std::size_t unstamped = 0;  // the newest this many were sent since the last stamp_sends()
    void stamp(Clock::time_point now);
    void push(std::uint64_t key, Clock::time_point at);
    bool pop_front(Sent& out);
    const Sent& front() const { return slots[head]; }
  };
  struct Peer {
    Ring appends, heartbeats, votes;
    ModelHistogram append_rtt, heartbeat_rtt, vote_rtt;
    // This peer as our leader: its latest AppendEntries with entries (last index, delivery), and whether our
    // acknowledgement of it was sent and waits for its stamp.
    Sent appended{};
    bool appended_set = false, acked = false;
  };
  struct Scored {
    double z = 0;
    Clock::time_point sent{};
  };
  struct CoBin {
    std::uint64_t pairs = 0;
    double x = 0, y = 0, xx = 0, yy = 0, xy = 0;
  };
  Peer& peer(raft::NodeId id) { return peers_[id]; }
  // One append_rtt sample of a peer whose histogram is `h` (before the sample is added): rtt_co_move's pairs.
  void co_observe(const ModelHistogram& h, double rtt, Clock::time_point sent);
  nlohmann::json co_move_json() const;
  nlohmann::json peers_json(std::size_t every) const;
  nlohmann::json elections_json(std::size_t every) const;

  // A voter of the applied configuration, or any peer before set_voters: whose heartbeats are timed and whose round
  // trips go into rtt_co_move.
  bool voter(raft::NodeId id) const;
  // When an answer delivered at `now` arrived (see "An answer is timed to when it arrived" above).
  Clock::time_point arrival(Clock::time_point now);
  void note_input(Clock::time_point now) {
    if (!loop_from_set_) loop_from_ = now, loop_from_set_ = true;
  }

  std::map<raft::NodeId, Peer> peers_;
  std::vector<raft::NodeId> voters_;  // sorted (set_voters)
  bool voters_set_ = false;
  ModelHistogram fsync_, apply_, leaderless_, service_, propose_service_;
  // The oldest proposal not yet sent in an AppendEntries: its index and time, and whether one carrying it was sent.
  Sent proposed_{};
  bool proposed_set_ = false, proposed_sent_ = false;
  // This agent's busy time: the first input since the last write of lines, whether an fsync happened since, and the
  // latest loop that synced ([from, to], `to` its lines' write).
  Clock::time_point loop_from_{}, synced_from_{}, synced_to_{};
  bool loop_from_set_ = false, synced_ = false, synced_set_ = false;
  std::uint64_t queued_answers_ = 0;
  std::array<Scored, kCoRing> co_ring_{};
  std::size_t co_next_ = 0, co_size_ = 0;
  std::array<CoBin, kCoGapUpper.size() + 1> co_bins_{};  // the last: gaps past the last bound
  std::uint64_t campaigns_ = 0, won_ = 0, leader_changes_ = 0;
  raft::NodeId last_leader_ = raft::kNoNode;
  raft::Role last_role_ = raft::Role::kFollower;
  bool leaderless_since_set_ = false;
  Clock::time_point leaderless_since_{};
};

}  // namespace raftbgp::agent
