// AgentNet: N AgentCores (node ids 1..N) on real WalStorage in temp dirs, joined by SimFabric, with a
// bootstrap member list that may leave some of them out (they start with `joining: true`). For the
// issue-6 scenarios: snapshots, membership changes, leadership transfer, ReadIndex. Time is ticks.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "raftbgp/agent/agent_core.h"
#include "sim_exabgp.h"
#include "test_util.h"

namespace raftbgp::agent::test {

class AgentNet {
 public:
  using Tweak = std::function<void(AgentConfig&)>;

  AgentNet(std::size_t n, std::vector<std::uint64_t> bootstrap, Tweak tweak = {}, std::uint64_t seed = 1)
      : fabric_(n, seed), cores_(n), bootstrap_(std::move(bootstrap)), tweak_(std::move(tweak)) {
    write_key_file(dir_.path());
    set_log_level(LogLevel::kError);
  }

  AgentConfig config(std::size_t i) const {
    AgentConfig c = node_config(i + 1, dir_.path());
    c.members = bootstrap_;
    c.joining = std::find(bootstrap_.begin(), bootstrap_.end(), i + 1) == bootstrap_.end();
    if (tweak_) tweak_(c);
    return c;
  }
  void start(std::size_t i) {
    AgentCore::Options options = options_;
    options.seed = 0x5eed + i;
    auto r = AgentCore::open(config(i), test_keys(), options);
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<AgentCore>>(r)) << std::get<std::string>(r);
    cores_[i] = std::move(std::get<std::unique_ptr<AgentCore>>(r));
    fabric_.attach(i, cores_[i].get());
  }
  // Options for every node started from now on (the seed is set per node).
  void set_options(AgentCore::Options options) { options_ = options; }
  void start_all() {
    for (std::size_t i = 0; i < cores_.size(); ++i) start(i);
  }
  void stop(std::size_t i) {
    fabric_.detach(i);
    cores_[i].reset();
  }
  AgentCore& core(std::size_t i) { return *cores_[i]; }
  bool alive(std::size_t i) const { return cores_[i] != nullptr; }
  SimFabric& fabric() { return fabric_; }
  std::size_t size() const { return cores_.size(); }

  // Index of the leader every live node that knows a leader agrees on (and at least one voter knows), or -1.
  int leader() const {
    int lead = -1;
    for (std::size_t i = 0; i < cores_.size(); ++i)
      if (cores_[i] && cores_[i]->node().role() == raft::Role::kLeader) lead = static_cast<int>(i);
    if (lead < 0) return -1;
    // Nodes outside the leader's configuration (a router not added yet) hear from nobody.
    const raft::Status st = cores_[static_cast<std::size_t>(lead)]->node().status();
    for (std::size_t i = 0; i < cores_.size(); ++i) {
      const bool member = std::count(st.voters.begin(), st.voters.end(), i + 1) +
                              std::count(st.learners.begin(), st.learners.end(), i + 1) >
                          0;
      if (cores_[i] && member && cores_[i]->node().leader() != static_cast<std::uint64_t>(lead + 1)) return -1;
    }
    return lead;
  }
  int wait_leader(int max_steps = 400) {
    fabric_.run_until([&] { return leader() >= 0; }, max_steps);
    return leader();
  }
  void settle(int steps = 60) {
    for (int s = 0; s < steps; ++s) fabric_.step();
  }

  ClientResponse request(std::size_t i, const std::string& op, nlohmann::json args, const std::string& client_id = "",
                         std::uint64_t seq = 0, std::uint64_t timeout_ms = 3000) {
    auto out = std::make_shared<std::optional<ClientResponse>>();
    ClientRequest req{op, std::move(args), client_id, seq, timeout_ms};
    cores_[i]->on_client_request(std::move(req), [out](ClientResponse r) { *out = std::move(r); });
    fabric_.run_until([&] { return out->has_value(); }, 400);
    EXPECT_TRUE(out->has_value()) << op << " never answered";
    return out->value_or(ClientResponse{});
  }
  // members.* and transfer_leader need a client session: each call here is a new client at seq 1.
  ClientResponse admin(std::size_t i, const std::string& op, nlohmann::json args) {
    return request(i, op, std::move(args), "admin-" + std::to_string(++admin_clients_), 1);
  }

 private:
  TempDir dir_;
  SimFabric fabric_;
  std::vector<std::unique_ptr<AgentCore>> cores_;
  std::vector<std::uint64_t> bootstrap_;
  Tweak tweak_;
  std::uint64_t admin_clients_ = 0;
  AgentCore::Options options_;
};

}  // namespace raftbgp::agent::test
