// A simulated ExaBGP + BGP fabric for in-process agent tests (issue 4 "Proof"). Each node's AgentCore
// writes command lines; its simulated ExaBGP
//   - answers every command `done` (or `error` if it does not parse), in order, on that node's stdin;
//   - keeps an adj-rib-out (prefix -> last announce command), so a session reset can re-send it all;
//   - floods each announce/withdraw to every node's stdin as ExaBGP 4.2 JSON, the sender included
//     (FRR echoes a speaker's routes back to it, docs/exabgp.md §1.10).
// The fabric between them, per receiver and prefix, keeps only the latest pending version (transit
// routers coalesce, docs/exabgp.md §4.1), drops deliveries with probability `loss`, and delivers after one step.
// Deterministic: a seeded std::mt19937_64, and time is step() (one agent tick per step).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "raftbgp/agent/agent_core.h"
#include "raftbgp/transport/mailbox.h"

namespace raftbgp::agent::test {

class SimFabric {
 public:
  explicit SimFabric(std::size_t nodes, std::uint64_t seed = 1) : nodes_(nodes), rng_(seed) {}

  void attach(std::size_t i, AgentCore* core) { nodes_[i].core = core; }
  void detach(std::size_t i) { nodes_[i].core = nullptr; }
  void set_loss(double loss) { loss_ = loss; }
  // Node i's ExaBGP runs commands but never answers them (acks off, or lost): the agent's window fills.
  void set_acks_lost(std::size_t i, bool lost) { nodes_[i].acks_lost = lost; }
  // Hands lines a test took from node i's take_output() to its simulated ExaBGP.
  void write_from(std::size_t i, const std::vector<std::string>& lines) {
    for (const std::string& l : lines) on_command(nodes_[i], l);
  }

  // Moves every node's pending output into the fabric, delivers what is due, then ticks every agent.
  void step() {
    collect();
    deliver();
    for (Node& n : nodes_)
      if (n.core) n.core->tick();
    collect();
  }
  // Runs until `done()` or `max_steps`; returns whether done() became true.
  template <class Pred>
  bool run_until(Pred done, int max_steps) {
    for (int i = 0; i < max_steps; ++i) {
      if (done()) return true;
      step();
    }
    return done();
  }

  // BGP session of node i flaps: state down (no withdrawals), connected, up, then a full re-send of
  // every route every speaker still announces (echo of its own included), then end-of-RIB.
  void reset_session(std::size_t i) {
    Node& n = nodes_[i];
    n.inbox.push_back(state_line("down"));
    n.inbox.push_back(state_line("connected"));
    n.inbox.push_back(state_line("up"));
    for (const Node& speaker : nodes_)
      for (const auto& [prefix, cmd] : speaker.rib_out) n.inbox.push_back(update_json(cmd));
    n.inbox.push_back(R"({ "exabgp": "4.0.1", "time": 1.0, "host" : "sim", "pid" : 1, "ppid" : 1, "counter": 9, )"
                      R"("type": "update", "neighbor": { "address": { "local": "10.0.0.2", "peer": "10.0.0.1" }, )"
                      R"("asn": { "local": 65003, "peer": 65002 } , "direction": "receive", "message": { "eor": )"
                      R"({ "afi" : "ipv6", "safi" : "unicast" } } } })");
  }

  // Node i's router dies (ExaBGP and agent): its BGP session drops, and the transits withdraw every route it
  // announced (a hung agent under a live ExaBGP is detach() alone: its routes stay).
  void kill_router(std::size_t i) {
    Node& n = nodes_[i];
    n.core = nullptr;
    n.inbox.clear();
    std::map<std::string, std::string> rib;
    rib.swap(n.rib_out);
    for (const auto& [prefix, cmd] : rib) flood(prefix, update_json("withdraw route " + prefix));
  }

  // Node i's adj-rib-out restricted to prefixes outside the default mailbox ranges (the policy routes).
  std::map<std::string, std::string> policy_rib(std::size_t i) const {
    std::map<std::string, std::string> out;
    const auto v6 = transport::MailboxLayout::default_ipv6().base;
    const auto v4 = transport::MailboxLayout::default_ipv4().base;
    for (const auto& [prefix, cmd] : nodes_[i].rib_out) {
      auto p = transport::IpPrefix::parse(prefix);
      if (p && !covers(v6, *p) && !covers(v4, *p)) out[prefix] = cmd;
    }
    return out;
  }
  // Mailbox routes node i's ExaBGP still announces (what every transit RIB holds for it).
  std::size_t mailbox_rib_size(std::size_t i) const { return nodes_[i].rib_out.size() - policy_rib(i).size(); }
  std::uint64_t commands(std::size_t i) const { return nodes_[i].commands; }
  std::uint64_t errors(std::size_t i) const { return nodes_[i].errors; }

  static std::string state_line(const std::string& state) {
    std::string s = R"({ "exabgp": "4.0.1", "time": 1.0, "host" : "sim", "pid" : 1, "ppid" : 1, "counter": 1, )"
                    R"("type": "state", "neighbor": { "address": { "local": "10.0.0.2", "peer": "10.0.0.1" }, )"
                    R"("asn": { "local": 65003, "peer": 65002 } , "state": ")" +
                    state + "\"";
    if (state == "down") s += R"x(, "reason": "peer reset, message (notification received (6,2)) error(Cease)")x";
    return s + " } }";
  }

  // The JSON a receiving ExaBGP writes for one of our commands (announce or withdraw).
  static std::string update_json(std::string cmd) {
    if (cmd.rfind("neighbor ", 0) == 0) cmd = cmd.substr(cmd.find(' ', 9) + 1);
    const std::string head = R"({ "exabgp": "4.0.1", "time": 1.0, "host" : "sim", "pid" : 1, "ppid" : 1, )"
                             R"("counter": 5, "type": "update", "neighbor": { "address": { "local": "10.0.0.2", )"
                             R"("peer": "10.0.0.1" }, "asn": { "local": 65003, "peer": 65002 } , )"
                             R"("direction": "receive", "message": { "update": { )";
    const bool announce = cmd.rfind("announce route ", 0) == 0;
    const std::size_t p0 = 15, p1 = cmd.find(' ', p0);
    const std::string prefix = cmd.substr(p0, p1 == std::string::npos ? std::string::npos : p1 - p0);
    const std::string family = prefix.find(':') != std::string::npos ? "ipv6 unicast" : "ipv4 unicast";
    if (!announce) return head + R"("withdraw": { ")" + family + R"(": [ { "nlri": ")" + prefix + R"(" } ] } } } } })";
    std::string attrs = R"("origin": "igp", "as-path": [ 65002, 65001 ], "confederation-path": [])";
    const std::size_t a = cmd.find("attribute [ ");
    if (a != std::string::npos) {
      const std::size_t h0 = cmd.find(" 0x", a + 20) + 3;
      const std::string hex = cmd.substr(h0, cmd.find(" ]", h0) - h0);
      attrs +=
          std::string(R"(, "attribute-0xFF-)") + (hex.size() / 2 > 255 ? "0xF0" : "0xE0") + R"(": "0x)" + hex + "\"";
    }
    return head + R"("attribute": { )" + attrs + R"( }, "announce": { ")" + family +
           R"(": { "10.0.0.1": [ { "nlri": ")" + prefix + R"(" } ] } } } } } })";
  }

 private:
  struct Node {
    AgentCore* core = nullptr;
    std::map<std::string, std::string> rib_out;
    std::deque<std::string> inbox;  // due now: acks and session events, in order
    std::uint64_t commands = 0;
    std::uint64_t errors = 0;
    bool acks_lost = false;
  };

  static bool covers(const transport::IpPrefix& base, const transport::IpPrefix& p) {
    if (base.family != p.family || p.length < base.length) return false;
    for (int bit = 0; bit < base.length; ++bit) {
      const auto byte = static_cast<std::size_t>(bit / 8);
      const int shift = 7 - bit % 8;
      if (((base.address[byte] >> shift) & 1) != ((p.address[byte] >> shift) & 1)) return false;
    }
    return true;
  }

  void collect() {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      Node& n = nodes_[i];
      if (!n.core) continue;
      for (const std::string& cmd : n.core->take_output()) on_command(n, cmd);
    }
  }

  void on_command(Node& n, const std::string& raw) {
    ++n.commands;
    std::string cmd = raw;
    if (cmd.rfind("neighbor ", 0) == 0) cmd = cmd.substr(cmd.find(' ', 9) + 1);
    const bool announce = cmd.rfind("announce route ", 0) == 0 && cmd.find(" next-hop ") != std::string::npos;
    const bool withdraw = cmd.rfind("withdraw route ", 0) == 0;
    if (!announce && !withdraw) {
      ++n.errors;
      n.inbox.push_back("error");
      return;
    }
    if (!n.acks_lost) n.inbox.push_back("done");
    const std::size_t p1 = cmd.find(' ', 15);
    const std::string prefix = cmd.substr(15, p1 == std::string::npos ? std::string::npos : p1 - 15);
    if (announce)
      n.rib_out[prefix] = cmd;
    else
      n.rib_out.erase(prefix);
    flood(prefix, update_json(cmd));
  }

  // One update for `prefix` towards every node (the sender included), lossy and coalescing.
  void flood(const std::string& prefix, const std::string& json) {
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (std::size_t r = 0; r < nodes_.size(); ++r) {
      if (u(rng_) < loss_) continue;
      auto key = std::make_pair(r, prefix);
      if (!pending_.count(key)) order_.push_back(key);
      pending_[key] = json;  // coalescing: a newer version replaces the pending one
    }
  }

  void deliver() {
    for (Node& n : nodes_) {
      std::deque<std::string> lines;
      lines.swap(n.inbox);
      if (!n.core) continue;  // a dead agent's stdin is gone; a respawned one gets no replay (docs/exabgp.md §5.2)
      for (const std::string& l : lines) n.core->on_exabgp_line(l);
    }
    std::vector<std::pair<std::size_t, std::string>> order;
    order.swap(order_);
    for (const auto& key : order) {
      auto it = pending_.find(key);
      const std::string json = std::move(it->second);
      pending_.erase(it);
      Node& n = nodes_[key.first];
      if (n.core) n.core->on_exabgp_line(json);
    }
  }

  std::vector<Node> nodes_;
  std::map<std::pair<std::size_t, std::string>, std::string> pending_;
  std::vector<std::pair<std::size_t, std::string>> order_;
  std::mt19937_64 rng_;
  double loss_ = 0.0;
};

}  // namespace raftbgp::agent::test
