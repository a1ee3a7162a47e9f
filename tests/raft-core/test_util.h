// Shared helpers for the Raft paper tests: build a Node over a MemoryStorage with a given log and
// term, drain its Ready batches the way a driver must (persist, send, apply, advance), and a tiny
// in-process network that delivers messages between nodes with drop / cut / isolate controls.
// Time is tick(); nothing here sleeps or reads a clock.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "raftbgp/raft/memory_storage.h"
#include "raftbgp/raft/node.h"
#include "raftbgp/raft/storage.h"

namespace raftbgp::raft::test {

inline Entry entry(Index index, Term term, std::string data = "") {
  Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_data(std::move(data));
  return e;
}

// A log whose entry i+1 has term terms[i].
inline std::vector<Entry> log_with_terms(const std::vector<Term>& terms) {
  std::vector<Entry> out;
  for (std::size_t i = 0; i < terms.size(); ++i) out.push_back(entry(i + 1, terms[i]));
  return out;
}

inline std::vector<NodeId> ids(NodeId n) {
  std::vector<NodeId> out;
  for (NodeId i = 1; i <= n; ++i) out.push_back(i);
  return out;
}

// Config with the project defaults (PreVote and CheckQuorum on) and a per-node seed.
inline Config config(NodeId id, std::vector<NodeId> voters) {
  Config c;
  c.id = id;
  c.voters = std::move(voters);
  c.election_ticks = 10;
  c.heartbeat_ticks = 1;
  c.seed = 0x5eed0000u + id;
  return c;
}

// The plain algorithm of the paper, for scenarios that need it.
inline Config plain_config(NodeId id, std::vector<NodeId> voters) {
  Config c = config(id, std::move(voters));
  c.pre_vote = false;
  c.check_quorum = false;
  return c;
}

// A node and the storage it reads; the storage has a stable address for the node's lifetime.
struct Peer {
  MemoryStorage storage;
  std::unique_ptr<Node> node;
  std::vector<Entry> applied;       // every committed entry handed out, in order
  std::vector<ReadState> reads;     // every ReadState handed out, in order
  std::vector<Snapshot> installed;  // snapshots received from a leader, in order
};

// Builds a node whose durable state is `log` and hard state (term, vote, commit).
inline std::unique_ptr<Peer> make_peer(const Config& c, const std::vector<Entry>& log = {}, Term term = 0,
                                       NodeId vote = kNoNode, Index commit = 0) {
  auto p = std::make_unique<Peer>();
  if (!log.empty()) p->storage.store(log);
  HardState hs;
  hs.set_term(term);
  hs.set_vote(vote);
  hs.set_commit(commit);
  p->storage.save_hard_state(hs);
  p->storage.sync();
  p->node = std::make_unique<Node>(c, p->storage);
  return p;
}

// One turn of the driver's ready loop: persist, hand the messages back, apply, advance.
inline std::vector<Message> drain(Peer& p) {
  std::vector<Message> out;
  while (p.node->has_ready()) {
    Ready rd = p.node->ready();
    persist(p.storage, rd.snapshot, rd.hard_state, rd.entries);
    if (rd.snapshot) p.installed.push_back(*rd.snapshot);
    for (Message& m : rd.messages) out.push_back(std::move(m));
    for (const Entry& e : rd.committed_entries) p.applied.push_back(e);
    for (ReadState& r : rd.read_states) p.reads.push_back(std::move(r));
    p.node->advance(rd);
  }
  return out;
}

inline std::vector<Message> filter_type(const std::vector<Message>& msgs, MessageType t) {
  std::vector<Message> out;
  for (const Message& m : msgs) {
    if (m.type() == t) out.push_back(m);
  }
  return out;
}

inline Message msg(MessageType type, NodeId from, NodeId to, Term term) {
  Message m;
  m.set_type(type);
  m.set_from(from);
  m.set_to(to);
  m.set_term(term);
  return m;
}

// A follower's acceptance of AppendEntries up to `index`.
inline Message append_ack(NodeId from, NodeId to, Term term, Index index) {
  Message m = msg(raftbgp::v1::MSG_APP_RESP, from, to, term);
  m.set_index(index);
  return m;
}

inline Message local(MessageType type) {
  Message m;
  m.set_type(type);
  return m;
}

inline std::vector<Term> terms_of(const RaftLog& log) {
  std::vector<Term> out;
  for (Index i = log.first_index(); i <= log.last_index(); ++i) out.push_back(log.term_or_zero(i));
  return out;
}

inline std::uint64_t dropped(const Node& n, DropReason r) { return n.status().dropped[static_cast<int>(r)]; }

// An in-process network of peers. Messages queue in FIFO order; stabilize() delivers until no node
// has anything left to say. Links can be cut (both directions), nodes isolated, and single
// directed links made lossy with a seeded RNG. `intercept`, if set, sees every message before
// delivery; it may rewrite it, or drop it by returning true (for capturing or targeted drops).
class Network {
 public:
  Network() = default;
  // Nodes 1..n with `make(id, voters)` configs and empty logs.
  explicit Network(NodeId n, const std::function<Config(NodeId, std::vector<NodeId>)>& make = config) {
    for (NodeId id = 1; id <= n; ++id) add(make(id, ids(n)));
  }

  Peer& add(const Config& c, const std::vector<Entry>& log = {}, Term term = 0, NodeId vote = kNoNode,
            Index commit = 0) {
    auto& slot = peers_[c.id];
    slot = make_peer(c, log, term, vote, commit);
    return *slot;
  }

  Peer& peer(NodeId id) { return *peers_.at(id); }
  Node& node(NodeId id) { return *peers_.at(id)->node; }
  std::vector<NodeId> node_ids() const {
    std::vector<NodeId> out;
    for (const auto& [id, _] : peers_) out.push_back(id);
    return out;
  }

  // Restart: a new Node over the same (synced) storage, as after a crash.
  void restart(NodeId id, const Config& c) {
    Peer& p = peer(id);
    p.storage.drop_unsynced();
    p.node = std::make_unique<Node>(c, p.storage);
    p.applied.clear();
  }

  void cut(NodeId a, NodeId b) {
    cut_.insert({a, b});
    cut_.insert({b, a});
  }
  void isolate(NodeId id) {
    for (const auto& [other, _] : peers_) {
      if (other != id) cut(id, other);
    }
  }
  // Drop messages on the directed link from -> to with probability p.
  void drop(NodeId from, NodeId to, double p) { loss_[{from, to}] = p; }
  void heal() {
    cut_.clear();
    loss_.clear();
  }

  // Delivers until quiescent. Aborts the test if the cluster keeps talking forever.
  void stabilize() {
    for (int round = 0; round < 100000; ++round) {
      collect();
      if (queue_.empty()) return;
      Message m = std::move(queue_.front());
      queue_.pop_front();
      deliver(std::move(m));
    }
    ADD_FAILURE() << "network did not stabilize";
  }

  // Collects outgoing messages without delivering them.
  std::vector<Message> take_pending() {
    collect();
    std::vector<Message> out(queue_.begin(), queue_.end());
    queue_.clear();
    return out;
  }

  void send(const Message& m) {
    queue_.push_back(m);
    stabilize();
  }

  void tick(NodeId id, int n = 1) {
    for (int i = 0; i < n; ++i) {
      node(id).tick();
      stabilize();
    }
  }
  void tick_all(int n = 1) {
    for (int i = 0; i < n; ++i) {
      for (auto& [id, p] : peers_) p->node->tick();
      stabilize();
    }
  }
  void campaign(NodeId id) {
    node(id).campaign();
    stabilize();
  }
  ProposeResult propose(NodeId id, std::string data) {
    ProposeResult r = node(id).propose(std::move(data));
    stabilize();
    return r;
  }

  std::uint64_t delivered() const { return delivered_; }
  std::function<bool(Message&)> intercept;

  // State Machine Safety (§5.4.3): no two nodes applied different entries at the same index.
  void expect_state_machine_safety() {
    std::map<Index, std::pair<Term, std::string>> seen;
    for (const auto& [id, p] : peers_) {
      for (const Entry& e : p->applied) {
        auto [it, fresh] = seen.try_emplace(e.index(), e.term(), e.data());
        if (!fresh) {
          EXPECT_EQ(it->second, std::make_pair(e.term(), e.data()))
              << "node " << id << " applied a different entry at index " << e.index();
        }
      }
    }
  }

 private:
  void collect() {
    for (auto& [id, p] : peers_) {
      for (Message& m : drain(*p)) queue_.push_back(std::move(m));
    }
  }

  void deliver(Message m) {
    if (cut_.count({m.from(), m.to()}) != 0) return;
    if (auto it = loss_.find({m.from(), m.to()}); it != loss_.end()) {
      if (std::bernoulli_distribution(it->second)(rng_)) return;
    }
    if (intercept && intercept(m)) return;
    auto it = peers_.find(m.to());
    if (it == peers_.end()) return;
    ++delivered_;
    it->second->node->step(m);
  }

  std::map<NodeId, std::unique_ptr<Peer>> peers_;
  std::deque<Message> queue_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  std::map<std::pair<NodeId, NodeId>, double> loss_;
  std::mt19937_64 rng_{42};
  std::uint64_t delivered_ = 0;
};

// Drives a lone peer to leader by feeding it granted (pre-)votes from `voters`, as a cluster would;
// stops as soon as the role changes so no response is left over. Returns the messages it sent.
inline std::vector<Message> make_leader(Peer& p, const std::vector<NodeId>& voters) {
  Node& n = *p.node;
  n.campaign();
  drain(p);
  for (NodeId v : voters) {
    if (v == n.id() || n.role() != Role::kPreCandidate) continue;
    n.step(msg(raftbgp::v1::MSG_PRE_VOTE_RESP, v, n.id(), n.term() + 1));
  }
  drain(p);
  for (NodeId v : voters) {
    if (v == n.id() || n.role() != Role::kCandidate) continue;
    n.step(msg(raftbgp::v1::MSG_VOTE_RESP, v, n.id(), n.term()));
  }
  EXPECT_EQ(n.role(), Role::kLeader);
  return drain(p);
}

// Campaigns `id` and settles the cluster; the node must win.
inline void elect(Network& net, NodeId id) {
  net.campaign(id);
  ASSERT_EQ(net.node(id).role(), Role::kLeader) << "node " << id << " failed to win an election";
}

}  // namespace raftbgp::raft::test
