#include "cluster_sim.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "raftbgp/raft/describe.h"

namespace raftbgp::sim {
namespace {

using raft::Entry;
using raft::Index;
using raft::Message;
using raft::NodeId;
using raft::Term;

constexpr std::uint64_t kMaxMessagesPerTick = 500;

struct Failure {
  std::string what;
};

struct SimNode {
  NodeId id = 0;
  raft::MemoryStorage storage;       // survives crashes; loses only what was not synced
  std::unique_ptr<raft::Node> node;  // null while crashed
  int down_until = 0;
  // This incarnation's state machine: (index, data) of every applied client proposal. Its snapshot is
  // the list itself, one "index data" line per proposal.
  std::vector<std::pair<Index, std::string>> applied;
  Index last_applied = 0;
  Index last_commit = 0;
  std::uint64_t incarnation = 0;
};

struct InFlight {
  std::uint64_t due;    // substep at which it is delivered
  std::uint64_t order;  // random tie-break: reordering within a substep
  Message msg;
};

struct CommittedEntry {
  Term term;
  std::string data;
};

class Cluster {
 public:
  explicit Cluster(const SimOptions& o) : opts_(o), rng_(o.seed) {
    std::uniform_real_distribution<double> u(0.0, o.loss);
    loss_ = u(rng_);
    // Small messages (one or two entries each) make a new leader's no-op travel apart from the older
    // entries before it, which is what exposes commit-by-counting bugs (Figure 8).
    const std::uint64_t sizes[] = {256, 1024, 4096};
    max_msg_bytes_ = sizes[rand_below(3)];
    // Compact often in some runs (many InstallSnapshot transfers), rarely in others.
    const Index thresholds[] = {8, 30, 1000000};
    compact_after_ = thresholds[rand_below(3)];
    for (int i = 1; i <= o.nodes; ++i) voters_.push_back(static_cast<NodeId>(i));
    all_ids_ = voters_;
    all_ids_.push_back(static_cast<NodeId>(o.nodes + 1));  // the spare router, not in the bootstrap list
    nodes_.resize(all_ids_.size());
    for (int i = 0; i <= o.nodes; ++i) {
      nodes_[static_cast<std::size_t>(i)].id = static_cast<NodeId>(i + 1);
      start(nodes_[static_cast<std::size_t>(i)]);
    }
  }

  SimResult run() {
    SimResult res;
    try {
      for (tick_ = 0; tick_ < opts_.fault_ticks; ++tick_) {
        inject_faults();
        if (chance(opts_.propose_per_tick)) propose();
        if (chance(opts_.admin_per_tick)) change_membership();
        if (chance(opts_.transfer_per_tick)) transfer();
        if (chance(opts_.read_per_tick)) read();
        run_tick();
      }
      heal();
      for (int i = 0; i < opts_.heal_ticks; ++i, ++tick_) {
        if (i < opts_.heal_ticks / 2 && chance(opts_.propose_per_tick)) propose();
        run_tick();
      }
      check_converged();
    } catch (const Failure& f) {
      res.ok = false;
      res.failure = "tick " + std::to_string(tick_) + ": " + f.what;
    }
    res.proposals_acked = acked_.size();
    res.elections = leaders_.size();
    res.crashes = crashes_;
    res.messages_delivered = delivered_;
    res.max_commit = committed_.size();
    res.conf_changes = conf_changes_;
    res.reads_served = reads_served_;
    res.snapshots_installed = snapshots_installed_;
    return res;
  }

 private:
  bool chance(double p) { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < p; }
  std::uint64_t rand_below(std::uint64_t n) { return rng_() % n; }

  [[noreturn]] void fail(const std::string& what) { throw Failure{what}; }

  void trace(const std::string& line) {
    if (!opts_.trace) return;
    std::printf("[t=%d] %s\n", tick_, line.c_str());
    std::fflush(stdout);
  }

  SimNode& at(NodeId id) { return nodes_[id - 1]; }

  void start(SimNode& n) {
    raft::Config c;
    c.id = n.id;
    c.voters = voters_;
    c.election_ticks = 10;
    c.heartbeat_ticks = 1;
    c.seed = opts_.seed * 1000003 + n.id * 7919 + n.incarnation;
    c.max_msg_bytes = max_msg_bytes_;
    c.max_inflight_msgs = 8;
    n.applied.clear();
    n.last_applied = 0;
    // A restarted state machine first loads the durable snapshot, then replays the log after it.
    if (std::optional<raft::Snapshot> snap = n.storage.snapshot()) restore(n, *snap);
    c.applied = n.last_applied;
    n.node = std::make_unique<raft::Node>(c, n.storage);
    n.last_commit = n.node->commit_index();
    ++n.incarnation;
    drain(n);
  }

  void crash(SimNode& n, bool lose_unsynced) {
    trace("crash " + std::to_string(n.id));
    if (lose_unsynced) n.storage.drop_unsynced();
    n.node.reset();
    n.down_until = tick_ + 1 + static_cast<int>(rand_below(40));
    ++crashes_;
  }

  // ---- faults -----------------------------------------------------------------------------------

  void inject_faults() {
    for (SimNode& n : nodes_) {
      if (!n.node && tick_ >= n.down_until) {
        trace("restart " + std::to_string(n.id));
        start(n);
      } else if (n.node && chance(opts_.crash_per_tick)) {
        // Keep a quorum alive most of the time, but not always.
        crash(n, true);
      }
    }
    if (partition_until_ >= 0 && tick_ >= partition_until_) {
      blocked_.clear();
      partition_until_ = -1;
      trace("partition healed");
    }
    if (partition_until_ < 0 && chance(opts_.partition_per_tick)) make_partition();
  }

  void make_partition() {
    std::vector<NodeId> ids = all_ids_;
    std::shuffle(ids.begin(), ids.end(), rng_);
    const std::size_t cut = 1 + rand_below(ids.size() - 1);
    std::set<NodeId> side(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(cut));
    const bool one_way = chance(0.2);  // asymmetric links happen (a filter on one direction)
    for (NodeId a : all_ids_) {
      for (NodeId b : all_ids_) {
        if (side.count(a) && !side.count(b)) blocked_.insert({a, b});
        if (!one_way && !side.count(a) && side.count(b)) blocked_.insert({a, b});
      }
    }
    partition_until_ = tick_ + 5 + static_cast<int>(rand_below(60));
    trace("partition of " + std::to_string(cut) + " node(s)" + (one_way ? " one-way" : ""));
  }

  void heal() {
    trace("heal");
    faults_ = false;
    blocked_.clear();
    partition_until_ = -1;
    loss_ = 0;
    for (SimNode& n : nodes_) {
      if (!n.node) start(n);
    }
  }

  // ---- driving ------------------------------------------------------------------------------------

  void run_tick() {
    for (int s = 0; s < opts_.substeps; ++s, ++substep_) {
      if (s == 0) {
        for (SimNode& n : nodes_) {
          if (!n.node) continue;
          n.node->tick();
          drain(n);
        }
        check_leaders();
      }
      deliver_due();
    }
  }

  void propose() {
    std::vector<SimNode*> live;
    for (SimNode& n : nodes_) {
      if (n.node) live.push_back(&n);
    }
    if (live.empty()) return;
    SimNode& n = *live[rand_below(live.size())];
    std::string data = "p" + std::to_string(next_proposal_++);
    const raft::ProposeResult r = n.node->propose(data);
    if (r.status == raft::ProposeResult::Status::kAccepted) {
      pending_[data] = {r.index, r.term};
      trace("proposal " + data + " accepted at " + std::to_string(r.index) + " by " + std::to_string(n.id));
    }
    drain(n);
  }

  SimNode* leader() {
    SimNode* best = nullptr;
    for (SimNode& n : nodes_) {
      if (n.node && n.node->role() == raft::Role::kLeader && (!best || n.node->term() > best->node->term())) {
        best = &n;
      }
    }
    return best;
  }

  void change_membership() {
    SimNode* l = leader();
    if (!l) return;
    const raft::Status st = l->node->status();
    std::vector<raftbgp::v1::ConfChange> options;
    auto add = [&](raftbgp::v1::ConfChangeType t, NodeId id) {
      raftbgp::v1::ConfChange cc;
      cc.set_type(t);
      cc.set_node_id(id);
      options.push_back(cc);
    };
    for (NodeId id : all_ids_) {
      const bool voter = std::count(st.voters.begin(), st.voters.end(), id) != 0;
      const bool learner = std::count(st.learners.begin(), st.learners.end(), id) != 0;
      if (learner) {
        add(raftbgp::v1::CONF_PROMOTE, id);
        add(raftbgp::v1::CONF_REMOVE, id);
      } else if (voter) {
        if (st.voters.size() > 1) add(raftbgp::v1::CONF_REMOVE, id);
      } else {
        add(raftbgp::v1::CONF_ADD_LEARNER, id);
      }
    }
    const raftbgp::v1::ConfChange& cc = options[rand_below(options.size())];
    const raft::ProposeResult r = l->node->propose_conf_change(cc);
    if (r.status == raft::ProposeResult::Status::kAccepted) {
      ++conf_changes_;
      trace("conf change " + std::to_string(cc.type()) + " node " + std::to_string(cc.node_id()) + " at " +
            std::to_string(r.index));
    }
    drain(*l);
  }

  void transfer() {
    SimNode* l = leader();
    if (!l) return;
    const raft::Status st = l->node->status();
    const NodeId target = st.voters[rand_below(st.voters.size())];
    if (l->node->transfer_leader(target) == raft::TransferResult::kStarted) {
      trace("transfer " + std::to_string(l->id) + " -> " + std::to_string(target));
    }
    drain(*l);
  }

  void read() {
    SimNode& n = nodes_[rand_below(nodes_.size())];
    if (!n.node) return;
    const std::string ctx = "r" + std::to_string(next_read_++);
    // Linearizability: the read must see every write committed anywhere before it was asked.
    Index known = 0;
    for (SimNode& o : nodes_) {
      if (o.node) known = std::max(known, o.node->commit_index());
    }
    known = std::max(known, max_applied_);
    if (n.node->read_index(ctx) == raft::ReadIndexResult::kPending) reads_[ctx] = known;
    drain(n);
  }

  void check_read(const SimNode& n, const raft::ReadState& rs) {
    auto it = reads_.find(rs.context);
    if (it == reads_.end() || rs.refused) return;
    if (rs.index < it->second) {
      fail("ReadIndex linearizability: node " + std::to_string(n.id) + " got read index " + std::to_string(rs.index) +
           " for " + rs.context + " although index " + std::to_string(it->second) +
           " was committed before the read began");
    }
    ++reads_served_;
    reads_.erase(it);
  }

  void deliver_due() {
    std::vector<InFlight> due;
    auto it = std::partition(network_.begin(), network_.end(), [&](const InFlight& f) { return f.due > substep_; });
    due.assign(std::make_move_iterator(it), std::make_move_iterator(network_.end()));
    network_.erase(it, network_.end());
    std::sort(due.begin(), due.end(), [](const InFlight& a, const InFlight& b) { return a.order < b.order; });
    for (InFlight& f : due) {
      SimNode& n = at(f.msg.to());
      if (!n.node) continue;
      // A livelock (messages that only beget messages) is a failure too, not a hung test.
      if (++delivered_ > kMaxMessagesPerTick * static_cast<std::uint64_t>(tick_ + 1)) {
        fail("message storm: " + std::to_string(delivered_) + " messages delivered by this tick");
      }
      // Every node here is honest: a message that contradicts a committed log (what a malicious peer
      // would send) must never come from one, however the network reorders, loses or duplicates.
      if (n.node->step(f.msg) == raft::DropReason::kContradictsLog) {
        fail("node " + std::to_string(n.id) + " refused a message from " + std::to_string(f.msg.from()) +
             " as contradicting its committed log: " + raft::describe(f.msg));
      }
      drain(n);
    }
  }

  void send(const Message& m) {
    if (blocked_.count({m.from(), m.to()}) || chance(loss_)) return;
    const int copies = chance(opts_.duplicate) ? 2 : 1;
    for (int i = 0; i < copies; ++i) {
      const std::uint64_t delay = 1 + rand_below(static_cast<std::uint64_t>(opts_.max_delay));
      network_.push_back({substep_ + delay, rng_(), m});
    }
  }

  // With --trace, every Ready handed out, one describe() line per part (raftbgp/raft/describe.h).
  void trace_ready(const SimNode& n, const raft::Ready& rd) {
    if (!opts_.trace) return;
    std::string text = raft::describe(rd);
    std::size_t pos = 0;
    trace("node " + std::to_string(n.id) + " Ready:");
    while (pos <= text.size()) {
      const std::size_t nl = std::min(text.find('\n', pos), text.size());
      trace("  " + text.substr(pos, nl - pos));
      pos = nl + 1;
    }
  }

  // The ready loop of node.h: persist, send, apply, advance.
  void drain(SimNode& n) {
    while (n.node && n.node->has_ready()) {
      raft::Ready rd = n.node->ready();
      trace_ready(n, rd);
      // Parallel persistence (node.h): a leader's AppendEntries leave before its own fsync, so the
      // power loss below is then a crash between send and fsync, which the checks must survive.
      if (rd.send_before_persist) {
        for (const Message& m : rd.messages) send(m);
      }
      if (faults_ && !rd.entries.empty() && !rd.snapshot && chance(opts_.crash_per_tick / 4)) {
        // Power loss in the middle of persisting: the writes reached the page cache, not the disk.
        if (rd.entries.front().index() <= n.storage.last_index()) n.storage.truncate(rd.entries.front().index());
        n.storage.store(rd.entries);
        crash(n, true);
        return;
      }
      raft::persist(n.storage, rd.snapshot, rd.hard_state, rd.entries);
      if (rd.snapshot) {
        trace("node " + std::to_string(n.id) + " installs snapshot at " + std::to_string(rd.snapshot->meta.index()));
        ++snapshots_installed_;
        restore(n, *rd.snapshot);
      }
      if (!rd.entries.empty()) check_log_matching(n, rd.entries.front().index(), rd.entries.back().index());
      if (!rd.send_before_persist) {
        for (const Message& m : rd.messages) send(m);
      }
      for (const Entry& e : rd.committed_entries) apply(n, e);
      for (const raft::ReadState& rs : rd.read_states) check_read(n, rs);
      n.node->advance(rd);
      check_commit(n);
      maybe_compact(n);
    }
  }

  // Log compaction (§7): past a per-run threshold of applied entries, snapshot the state machine.
  void maybe_compact(SimNode& n) {
    if (!n.node || n.last_applied < n.storage.first_index() + compact_after_) return;
    std::optional<raft::SnapshotMetadata> meta = n.node->snapshot_metadata_at_applied();
    if (!meta || meta->index() <= n.storage.snapshot_metadata().index()) return;
    std::string data;
    for (const auto& [index, d] : n.applied) data += std::to_string(index) + " " + d + "\n";
    n.storage.save_snapshot({*meta, data});
    trace("node " + std::to_string(n.id) + " compacts to " + std::to_string(meta->index()));
  }

  // Replaces the state machine by a snapshot, checking every proposal in it against what was committed
  // (State Machine Safety holds for snapshots too).
  void restore(SimNode& n, const raft::Snapshot& snap) {
    n.applied.clear();
    std::size_t pos = 0;
    while (pos < snap.data.size()) {
      const std::size_t nl = snap.data.find('\n', pos);
      const std::string line = snap.data.substr(pos, nl - pos);
      pos = nl + 1;
      const std::size_t sp = line.find(' ');
      if (sp == std::string::npos || sp == 0 || line.find_first_not_of("0123456789") != sp) {
        fail("snapshot at " + std::to_string(snap.meta.index()) + " is corrupt: line '" + line + "'");
      }
      const Index index = std::stoull(line.substr(0, sp));
      const std::string data = line.substr(sp + 1);
      auto it = committed_.find(index);
      if (it == committed_.end() || it->second.data != data) {
        fail("snapshot at " + std::to_string(snap.meta.index()) + " holds '" + data + "' at " + std::to_string(index) +
             " which was never committed there");
      }
      n.applied.emplace_back(index, data);
    }
    n.last_applied = snap.meta.index();
  }

  // ---- invariants --------------------------------------------------------------------------------

  void apply(SimNode& n, const Entry& e) {
    if (e.index() != n.last_applied + 1) {
      fail("node " + std::to_string(n.id) + " applied index " + std::to_string(e.index()) + " after " +
           std::to_string(n.last_applied));
    }
    n.last_applied = e.index();
    max_applied_ = std::max(max_applied_, e.index());
    // State Machine Safety (§5.4.3): no two nodes apply different entries at one index.
    auto [it, inserted] = committed_.try_emplace(e.index(), CommittedEntry{e.term(), e.data()});
    if (!inserted && (it->second.term != e.term() || it->second.data != e.data())) {
      fail("state machine safety: node " + std::to_string(n.id) + " applied (" + std::to_string(e.term()) + ", '" +
           e.data() + "') at " + std::to_string(e.index()) + " where another applied (" +
           std::to_string(it->second.term) + ", '" + it->second.data + "')");
    }
    // Only client proposals carry unique data; no-ops and configuration changes may repeat.
    if (e.type() != raftbgp::v1::ENTRY_NORMAL || e.data().empty()) return;
    n.applied.emplace_back(e.index(), e.data());
    auto p = pending_.find(e.data());
    if (p != pending_.end() && p->second.first == e.index() && p->second.second == e.term()) {
      acked_.insert(e.data());  // the proposer's entry committed where it was accepted
    }
  }

  void check_commit(SimNode& n) {
    const Index c = n.node->commit_index();
    if (c < n.last_commit) {
      fail("commit index of node " + std::to_string(n.id) + " went back from " + std::to_string(n.last_commit) +
           " to " + std::to_string(c));
    }
    n.last_commit = c;
  }

  // Log Matching (§5.3): entries with the same index and term are identical and so are all entries
  // before them. Checking each newly persisted entry against every other node's durable log, and the
  // predecessor's term, proves the whole property by induction on the index.
  void check_log_matching(SimNode& n, Index lo, Index hi) {
    for (SimNode& o : nodes_) {
      if (o.id == n.id) continue;
      for (Index i = std::max(lo, o.storage.first_index()); i <= hi && i <= o.storage.last_index(); ++i) {
        if (o.storage.term(i) != n.storage.term(i)) continue;
        const Entry a = n.storage.entries(i, i + 1, UINT64_MAX).front();
        const Entry b = o.storage.entries(i, i + 1, UINT64_MAX).front();
        // Below a snapshot the predecessor's term is gone; the snapshot itself was checked on restore.
        const auto pa = n.storage.term(i - 1);
        const auto pb = o.storage.term(i - 1);
        if (a.data() != b.data() || (pa && pb && *pa != *pb)) {
          fail("log matching: nodes " + std::to_string(n.id) + " and " + std::to_string(o.id) +
               " agree on the term at index " + std::to_string(i) + " but not on the entry or its predecessor");
        }
      }
    }
  }

  void check_leaders() {
    for (SimNode& n : nodes_) {
      if (!n.node || n.node->role() != raft::Role::kLeader) continue;
      const Term t = n.node->term();
      auto [it, inserted] = leaders_.try_emplace(t, n.id);
      if (!inserted && it->second != n.id) {
        fail("election safety: nodes " + std::to_string(it->second) + " and " + std::to_string(n.id) +
             " both leader in term " + std::to_string(t));
      }
      if (inserted) {
        trace("leader " + std::to_string(n.id) + " term " + std::to_string(t));
        check_leader_completeness(n);
      }
    }
  }

  // Leader Completeness (§5.4): a new leader's log holds every entry any node has applied.
  void check_leader_completeness(SimNode& n) {
    for (const auto& [index, ce] : committed_) {
      if (index + 1 < n.node->log().first_index()) continue;  // compacted into a checked snapshot
      if (n.node->log().term(index) != ce.term) {
        fail("leader completeness: leader " + std::to_string(n.id) + " of term " + std::to_string(n.node->term()) +
             " lacks committed entry " + std::to_string(index));
      }
    }
  }

  void check_converged() {
    NodeId leader = 0;
    for (SimNode& n : nodes_) {
      if (n.node->role() == raft::Role::kLeader) leader = n.id;
    }
    if (leader == 0) {
      std::string state;
      for (SimNode& n : nodes_) {
        const raft::Status st = n.node->status();
        state += "\n  node " + std::to_string(n.id) + ": " + raft::role_name(st.role) + " term " +
                 std::to_string(st.term) + " commit " + std::to_string(st.commit) + " last " +
                 std::to_string(st.last_index) + " voters";
        for (NodeId v : st.voters) state += " " + std::to_string(v);
      }
      fail("liveness: no leader after " + std::to_string(opts_.heal_ticks) + " healed ticks" + state);
    }
    const Index commit = at(leader).node->commit_index();
    const raft::Status st = at(leader).node->status();
    for (SimNode& n : nodes_) {
      // Only members are replicated to; a removed router keeps whatever it had.
      if (std::count(st.voters.begin(), st.voters.end(), n.id) == 0 &&
          std::count(st.learners.begin(), st.learners.end(), n.id) == 0) {
        continue;
      }
      if (n.node->commit_index() != commit || n.last_applied != commit) {
        fail("liveness: node " + std::to_string(n.id) + " applied " + std::to_string(n.last_applied) +
             " of the leader's commit " + std::to_string(commit));
      }
      // Every acknowledged proposal applied exactly once on every node.
      std::set<std::string> seen;
      for (const auto& [index, d] : n.applied) {
        if (!seen.insert(d).second) fail("node " + std::to_string(n.id) + " applied " + d + " twice");
      }
      for (const std::string& d : acked_) {
        if (!seen.count(d)) fail("node " + std::to_string(n.id) + " never applied acknowledged " + d);
      }
    }
  }

  SimOptions opts_;
  std::mt19937_64 rng_;
  double loss_ = 0;
  std::uint64_t max_msg_bytes_ = 4096;
  bool faults_ = true;
  std::vector<NodeId> voters_;   // the bootstrap configuration
  std::vector<NodeId> all_ids_;  // bootstrap voters and the spare router
  std::vector<SimNode> nodes_;
  std::map<std::string, Index> reads_;  // outstanding ReadIndex contexts -> index known committed
  std::uint64_t next_read_ = 0;
  std::uint64_t reads_served_ = 0;
  std::uint64_t conf_changes_ = 0;
  Index max_applied_ = 0;
  Index compact_after_ = 0;  // entries kept before a node compacts; drawn per run
  std::uint64_t snapshots_installed_ = 0;
  std::vector<InFlight> network_;
  std::set<std::pair<NodeId, NodeId>> blocked_;
  int partition_until_ = -1;
  int tick_ = 0;
  std::uint64_t substep_ = 0;
  std::uint64_t next_proposal_ = 0;
  std::map<std::string, std::pair<Index, Term>> pending_;
  std::set<std::string> acked_;
  std::map<Index, CommittedEntry> committed_;
  std::map<Term, NodeId> leaders_;
  std::uint64_t crashes_ = 0;
  std::uint64_t delivered_ = 0;
};

}  // namespace

SimResult run_simulation(const SimOptions& opts) { return Cluster(opts).run(); }

}  // namespace raftbgp::sim
