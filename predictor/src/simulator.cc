#include "raftbgp/predict/simulator.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "raftbgp/raft/memory_storage.h"
#include "raftbgp/raft/node.h"

namespace raftbgp::predict {
namespace {

// The agent's caps (agent/src/agent_core.cc), so that the core batches and pipelines as it does there.
constexpr std::uint64_t kMaxMsgBytes = 16 * 1024;
constexpr std::size_t kMaxInflightMsgs = 8;
constexpr std::uint64_t kMaxInflightBytes = 128 * 1024;
// A client value as the benches write it (256 bytes, cluster_bench.py).
const std::string kValue(256, 'v');

struct Event {
  enum class Kind : std::uint8_t { kTick, kDeliver, kPropose };
  double t = 0;  // microseconds
  std::uint64_t seq = 0;
  NodeId node = 0;
  Kind kind = Kind::kTick;
  raft::Message msg;
  std::string data;
};

struct Later {
  bool operator()(const Event& a, const Event& b) const { return a.t != b.t ? a.t > b.t : a.seq > b.seq; }
};

struct SimNode {
  NodeId id = 0;
  raft::MemoryStorage storage;
  std::unique_ptr<raft::Node> node;
  double busy_until = 0;
  double next_tick = 0;
  bool up = true;
  raft::Index applied = 0;
};

// The log is compacted every this many applied entries, as the agent's snapshots do (MemoryStorage appends copy
// its whole log, so an uncompacted run of 10^5 writes would be quadratic).
constexpr raft::Index kCompactEvery = 256;

// Every link's quantile function on a grid, for draws at a quantile the shared load process chose (Model::co_move).
// Built once per simulation and shared by its clusters.
class LinkTables {
 public:
  static constexpr std::size_t kGrid = 4096;
  explicit LinkTables(const Model& m) {
    for (NodeId a : m.voters)
      for (NodeId b : m.voters)
        if (a != b) tables_[{a, b}] = m.link(a, b).quantile_table(kGrid);
  }
  // The link's delay at quantile u in (0, 1), interpolated between grid points.
  double at(NodeId a, NodeId b, double u) const {
    const std::vector<double>& t = tables_.at({a, b});
    const double pos = std::clamp(u, 0.0, 1.0) * static_cast<double>(t.size() - 1);
    const auto i = static_cast<std::size_t>(pos);
    if (i + 1 >= t.size()) return t.back();
    return t[i] + (t[i + 1] - t[i]) * (pos - static_cast<double>(i));
  }

 private:
  std::map<std::pair<NodeId, NodeId>, std::vector<double>> tables_;
};

std::optional<LinkTables> tables_for(const Model& m) {
  if (m.co_move <= 0) return std::nullopt;
  return LinkTables(m);
}

// One simulated cluster: the nodes of the model, an event heap, and the model's delays.
class Cluster {
 public:
  using ApplyHook = std::function<void(NodeId, const raft::Entry&, double)>;

  Cluster(const Model& m, std::uint64_t seed, const std::optional<LinkTables>& tables)
      : m_(m), rng_(seed), tables_(tables ? &*tables : nullptr) {
    if (tables_ != nullptr) load_ = normal_(rng_);  // the shared load process starts in its stationary distribution
    for (NodeId id : m.voters) {
      auto n = std::make_unique<SimNode>();
      n->id = id;
      raft::Config c;
      c.id = id;
      c.voters = m.voters;
      c.election_ticks = m.election_ticks;
      c.heartbeat_ticks = m.heartbeat_ticks;
      c.seed = seed * std::uint64_t{0x9e3779b97f4a7c15} + id;
      c.max_msg_bytes = kMaxMsgBytes;
      c.max_inflight_msgs = kMaxInflightMsgs;
      c.max_inflight_bytes = kMaxInflightBytes;
      n->node = std::make_unique<raft::Node>(c, n->storage);
      n->next_tick = std::uniform_real_distribution<double>(0, m.tick_us)(rng_);
      nodes_[id] = std::move(n);
    }
    for (auto& [id, n] : nodes_) push(Event{n->next_tick, 0, id, Event::Kind::kTick, {}, {}});
  }

  double now() const { return now_; }
  std::uint64_t events() const { return events_; }
  std::uint64_t refused() const { return refused_; }
  void set_apply_hook(ApplyHook h) { on_apply_ = std::move(h); }
  raft::Node& node(NodeId id) { return *nodes_.at(id)->node; }

  // `leader` campaigns now; true once every node names it.
  bool elect(NodeId leader) {
    nodes_.at(leader)->node->campaign();
    drain(*nodes_.at(leader), now_);
    return run_until_pred([&] { return agreed() == leader; }, now_ + 60e6);
  }

  // The leader every live node names, when it is live and leads; else 0.
  NodeId agreed() const {
    NodeId l = 0;
    for (const auto& [id, n] : nodes_) {
      if (!n->up) continue;
      const NodeId named = n->node->leader();
      if (named == 0 || (l != 0 && named != l)) return 0;
      l = named;
    }
    if (l == 0) return 0;
    const SimNode& ln = *nodes_.at(l);
    return ln.up && ln.node->role() == raft::Role::kLeader ? l : 0;
  }

  void crash(NodeId id) { nodes_.at(id)->up = false; }

  // A client write: proposed at `leader` at time `t` (a forward from another node arrives over the link first).
  void write(NodeId origin, NodeId leader, std::string data, double t) {
    if (origin != leader) t = link_due(origin, leader, t);
    push(Event{t, 0, leader, Event::Kind::kPropose, {}, std::move(data)});
  }

  void run_until(double t) {
    run_until_pred([] { return false; }, t);
  }
  // Processes events until `done()` holds (checked after each) or the next event is past `limit`.
  template <typename Pred>
  bool run_until_pred(Pred done, double limit) {
    while (!heap_.empty()) {
      if (done()) return true;
      if (heap_.front().t > limit) break;
      std::pop_heap(heap_.begin(), heap_.end(), Later());
      Event e = std::move(heap_.back());
      heap_.pop_back();
      process(std::move(e));
    }
    if (done()) return true;
    now_ = std::max(now_, limit);
    return false;
  }

 private:
  void push(Event e) {
    if (e.seq == 0) e.seq = ++seq_;
    heap_.push_back(std::move(e));
    std::push_heap(heap_.begin(), heap_.end(), Later());
  }

  // When a message from `a` to `b` sent at `t` arrives: a sampled delay, never before the link's previous one.
  double link_due(NodeId a, NodeId b, double t) {
    double& last = last_due_[{a, b}];
    last = std::max(t + link_delay(a, b, t), last);
    return last;
  }

  // One link delay sent at `t`: drawn independently, or at the quantile the shared load process and the message's
  // own draw give (Model::co_move). The process steps once per send instant (the messages of one broadcast share
  // it), by the mean gap between send instants so far, not by the gap before this one: in a closed loop the gaps are
  // long while the load is high (every write waits), so stepping by each gap would let the load relax most while it
  // is high, and the draws would come out faster than the measured distributions they are taken from. A send stamped
  // before the last step (a node whose loop ran ahead of the event clock) is drawn at the present value.
  double link_delay(NodeId a, NodeId b, double t) {
    if (tables_ == nullptr) return m_.link(a, b).sample(rng_);
    if (t > load_t_) {
      if (load_t_ > 0) gap_sum_ += t - load_t_, ++gaps_;
      const double gap = gaps_ == 0 ? 0 : gap_sum_ / static_cast<double>(gaps_);
      const double keep = std::exp(-gap / std::max(1.0, m_.co_move_tau_us));
      load_ = keep * load_ + std::sqrt(1 - keep * keep) * normal_(rng_);
      load_t_ = t;
    }
    const double rho = std::min(m_.co_move, 1.0);
    const double z = std::sqrt(rho) * load_ + std::sqrt(1 - rho) * normal_(rng_);
    return tables_->at(a, b, normal_cdf(z));
  }

  void send(NodeId from, const raft::Message& msg, double t) {
    const auto it = nodes_.find(msg.to());
    if (it == nodes_.end() || !it->second->up) return;
    push(Event{link_due(from, msg.to(), t), 0, msg.to(), Event::Kind::kDeliver, msg, {}});
  }

  void process(Event e) {
    SimNode& n = *nodes_.at(e.node);
    if (!n.up) return;
    if (e.t < n.busy_until) {  // the agent thread is in an fsync or an apply: the input waits (in order)
      e.t = n.busy_until;
      push(std::move(e));
      return;
    }
    now_ = e.t;
    ++events_;
    switch (e.kind) {
      case Event::Kind::kTick:
        n.node->tick();
        n.next_tick += m_.tick_us;
        push(Event{std::max(n.next_tick, now_), 0, n.id, Event::Kind::kTick, {}, {}});
        break;
      case Event::Kind::kDeliver: n.node->step(e.msg); break;
      case Event::Kind::kPropose:
        if (n.node->propose(e.data).status != raft::ProposeResult::Status::kAccepted) ++refused_;
        break;
    }
    drain(n, now_);
  }

  // AgentCore::run_ready's order, with the model's costs on the node's own clock. raftbgpd writes the lines of a
  // ready loop to ExaBGP after the whole loop (agent/raftbgpd.cc flush()), so its messages leave at its end, except
  // a leader's AppendEntries in a Ready that syncs (rd.send_before_persist): the output hook hands those to ExaBGP
  // after the loop's work and before its fsync (AgentCore::set_output_hook), and the core counts the leader in the
  // quorum only after the fsync.
  void drain(SimNode& n, double t) {
    double clock = t;
    outbox_.clear();
    while (n.node->has_ready()) {
      raft::Ready rd = n.node->ready();
      const bool syncs = raft::must_sync(n.storage, rd.snapshot, rd.hard_state, rd.entries);
      const bool early = syncs && rd.send_before_persist;
      if (early) {
        // The agent's work comes first (the Ready, the replay state's save, sealing: the leader's propose_service),
        // then its AppendEntries leave, then the fsync.
        clock += m_.work_of(n.id).sample(rng_);
        for (const raft::Message& msg : rd.messages) send(n.id, msg, clock);
      }
      raft::persist(n.storage, rd.snapshot, rd.hard_state, rd.entries);
      if (early) {
        clock += m_.fsync_of(n.id).sample(rng_);
      } else if (syncs) {
        const Distribution* whole = m_.persist_of(n.id);
        clock += whole ? whole->sample(rng_) : m_.fsync_of(n.id).sample(rng_) + m_.work_of(n.id).sample(rng_);
      }
      if (!early)
        for (raft::Message& msg : rd.messages) outbox_.push_back(std::move(msg));
      if (!rd.committed_entries.empty()) {
        clock += m_.apply_of(n.id).sample(rng_);
        if (on_apply_)
          for (const raft::Entry& e : rd.committed_entries) on_apply_(n.id, e, clock);
        n.applied = rd.committed_entries.back().index();
      }
      n.node->advance(rd);
    }
    for (const raft::Message& msg : outbox_) send(n.id, msg, clock);
    n.busy_until = std::max(n.busy_until, clock);
    if (n.applied >= n.storage.first_index() + kCompactEvery)
      if (std::optional<raft::SnapshotMetadata> meta = n.node->snapshot_metadata_at_applied())
        n.storage.save_snapshot({*meta, {}});
    n.busy_until = std::max(n.busy_until, clock);
  }

  const Model& m_;
  Rng rng_;
  const LinkTables* tables_;  // nullptr: independent link delays
  std::normal_distribution<double> normal_;
  double load_ = 0, load_t_ = 0;  // the shared load process Z and when it was last stepped
  double gap_sum_ = 0;            // the gaps between send instants so far, and how many
  std::uint64_t gaps_ = 0;
  std::map<NodeId, std::unique_ptr<SimNode>> nodes_;
  std::vector<Event> heap_;
  std::map<std::pair<NodeId, NodeId>, double> last_due_;
  ApplyHook on_apply_;
  std::vector<raft::Message> outbox_;  // drain()'s messages, sent when its loop ends
  double now_ = 0;
  std::uint64_t seq_ = 0, events_ = 0, refused_ = 0;
};

}  // namespace

CommitFigures simulate_commits(const Model& m, NodeId origin, int trials, int runs, std::uint64_t seed) {
  CommitFigures out;
  const std::optional<LinkTables> tables = tables_for(m);
  runs = std::max(1, std::min(runs, trials));
  const std::size_t followers = m.voters.size() - 1;
  for (int r = 0; r < runs; ++r) {
    const int n = trials / runs + (r < trials % runs ? 1 : 0);
    Cluster c(m, seed * 1000003 + static_cast<std::uint64_t>(r), tables);
    if (!c.elect(m.leader)) continue;
    c.run_until(c.now() + 2 * m.tick_us * m.election_ticks);  // steady state: heartbeats, every follower caught up
    // Per write (its data is its number): the leader's apply time, the followers applied so far and the latest.
    struct Seen {
      double leader_t = -1, latest = 0;
      std::size_t followers = 0;
      std::vector<double> follower_t;
    };
    std::map<std::string, Seen> seen;
    std::string current;
    double done_at = -1;
    c.set_apply_hook([&](NodeId node, const raft::Entry& e, double t) {
      if (e.type() != raftbgp::v1::ENTRY_NORMAL || e.data().empty()) return;
      if (node == origin && e.data() == current) done_at = t;
      if (origin != m.leader) return;
      Seen& s = seen[e.data()];
      if (node == m.leader) {
        s.leader_t = t;
      } else {
        s.follower_t.push_back(t);
        s.latest = std::max(s.latest, t);
      }
      if (s.leader_t >= 0 && s.follower_t.size() == followers) {
        out.propagation_ms.push_back((s.latest - s.leader_t) / 1000);
        for (double ft : s.follower_t) out.follower_delay_ms.push_back((ft - s.leader_t) / 1000);
        seen.erase(e.data());
      }
    });
    for (int k = 0; k < n; ++k) {
      current = std::to_string(k) + kValue;
      done_at = -1;
      const double t0 = c.now();
      c.write(origin, m.leader, current, t0);
      if (!c.run_until_pred([&] { return done_at >= 0; }, t0 + 60e6)) break;
      out.latency_ms.push_back((done_at - t0) / 1000);
      c.run_until(done_at);  // the client's next write leaves when this one is answered
    }
    c.run_until(c.now() + 2 * m.tick_us * m.election_ticks);  // the last writes reach every follower
    out.events += c.events();
    out.refused += c.refused();
  }
  return out;
}

ElectionFigures simulate_elections(const Model& m, int trials, std::uint64_t seed) {
  ElectionFigures out;
  const std::optional<LinkTables> tables = tables_for(m);
  for (int k = 0; k < trials; ++k) {
    Cluster c(m, seed * 1000003 + static_cast<std::uint64_t>(k), tables);
    if (!c.elect(m.leader)) {
      ++out.unfinished;
      continue;
    }
    // Steady state, then the crash at a random phase of the heartbeat and tick rhythm.
    Rng phase(seed ^ (static_cast<std::uint64_t>(k) * std::uint64_t{0x2545f4914f6cdd1d}));
    c.run_until(c.now() + 2 * m.tick_us * m.election_ticks +
                std::uniform_real_distribution<double>(0, m.tick_us * m.heartbeat_ticks)(phase));
    // As bench/lab does: a write, and the crash the moment the leader has applied it (so the followers' timers were
    // just reset by its AppendEntries, not up to a heartbeat interval earlier).
    double applied_at = -1;
    c.set_apply_hook([&](NodeId node, const raft::Entry& e, double t) {
      if (node == m.leader && e.data() == "crash") applied_at = t;
    });
    c.write(m.leader, m.leader, "crash", c.now());
    if (!c.run_until_pred([&] { return applied_at >= 0; }, c.now() + 60e6)) {
      ++out.unfinished;
      continue;
    }
    c.run_until(applied_at);
    const double t0 = c.now();
    c.crash(m.leader);
    if (!c.run_until_pred([&] { return c.agreed() != 0; }, t0 + 60e6)) {
      ++out.unfinished;
      continue;
    }
    out.election_ms.push_back((c.now() - t0) / 1000);
    out.events += c.events();
  }
  return out;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(v.size() - 1);
  return v[static_cast<std::size_t>(pos + 0.5)];
}

double visibility(const std::vector<double>& delays_ms, double t_ms) {
  if (delays_ms.empty()) return std::numeric_limits<double>::quiet_NaN();
  const auto n = std::count_if(delays_ms.begin(), delays_ms.end(), [&](double d) { return d <= t_ms; });
  return static_cast<double>(n) / static_cast<double>(delays_ms.size());
}

}  // namespace raftbgp::predict
