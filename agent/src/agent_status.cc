// AgentCore's `status`, `status.cluster` and `debug dump` views (raftbgpctl status [--cluster] / debug dump).
#include <algorithm>
#include <string_view>

#include "raftbgp/agent/agent_core.h"
#include "raftbgp/transport/counter_table.h"

namespace raftbgp::agent {
namespace {

using nlohmann::json;

// The op (ops.h) a pending write or admin command came from; a configuration change shows as "members".
std::string_view op_name(const v1::Command& c) {
  switch (c.op_case()) {
    case v1::Command::kKvPut: return op_spec(Op::kKvPut).name;
    case v1::Command::kKvDelete: return op_spec(Op::kKvDelete).name;
    case v1::Command::kPolicyAdd: return op_spec(Op::kPolicyAdd).name;
    case v1::Command::kPolicyRemove: return op_spec(Op::kPolicyRemove).name;
    case v1::Command::kConfChange: return op_spec(Op::kMembers).name;
    case v1::Command::kTransferLeader: return op_spec(Op::kTransferLeader).name;
    case v1::Command::kClusterStatus: return op_spec(Op::kStatusCluster).name;
    default: return "?";  // reads wait in reads_, never here
  }
}

// Every transport counter, by name, from the one table (bgp-transport/include/raftbgp/transport/counter_table.h).
json transport_json(const transport::Counters& c) { return transport::counters_json(c); }

}  // namespace

json AgentCore::status_json() const {
  const raft::Status st = node_->status();
  const json members = members_json();
  json transfers = json::array();  // InstallSnapshot in progress (leader only)
  for (const raft::PeerStatus& p : st.peers)
    if (st.role == raft::Role::kLeader && std::string_view(p.state) == "snapshot")
      transfers.push_back(json{{"to", p.id}, {"match", p.match}, {"next", p.next}});
  return json{{"node_id", config_.node_id},
              {"cluster_id", config_.cluster_id},
              {"role", raft::role_name(st.role)},
              {"term", st.term},
              {"leader", st.leader},
              {"wal_fsync_seconds", wal_fsync_.to_json()},
              {"commit_latency_seconds", commit_latency_.to_json()},
              {"latency_model", model_.status_json()},
              {"commit", st.commit},
              {"applied", sm_.applied_index() > st.applied ? sm_.applied_index() : st.applied},
              {"first_index", storage_->first_index()},
              {"last_index", st.last_index},
              {"epoch", epoch_},
              {"tick_ms", config_.tick_ms},
              {"voters", st.voters},
              {"learners", st.learners},
              {"members", members["members"]},
              {"snapshot",
               {{"last_index", storage_->snapshot_metadata().index()},
                {"taken", snapshots_taken_},
                {"installed", snapshots_installed_},
                {"bytes_since", bytes_since_snapshot_},
                {"transfers", transfers}}},
              {"transport", transport_json(transport_->counters())},
              {"send", send_json()},
              {"exabgp", exabgp_json()},
              {"watches", {{"subscribers", watches_.subscribers()}, {"dropped_too_slow", watches_.dropped()}}},
              {"health", health_.to_json(health_view(), tick_, config_.tick_ms)},
              {"quiesce",
               {{"quiet", quiet_.quiet()},
                {"frozen", st.role != raft::Role::kLeader && quiet_.frozen(st.leader, st.term, tick_)},
                {"quiesces", quiet_.quiesces()},
                {"wakes", quiet_.wakes()},
                {"presences_ended", quiet_.presences_ended()}}},
              {"safety",
               {{"forwards_stale_term", forwards_stale_term_},
                {"exabgp_lines_refused_unsafe", router_.refused_unsafe()},
                {"exabgp_ack_stalls", ack_stalls_},
                {"route_problems", announcer_.problems().size()},
                {"routes_refused_by_guards", announcer_.guard_refused()}}}};
}

v1::ClusterView AgentCore::cluster_view() const {
  const raft::Status st = node_->status();
  v1::ClusterView v;
  v.set_leader(st.leader);
  v.set_term(st.term);
  v.set_commit(st.commit);
  v.set_last_index(st.last_index);
  v.set_applied(sm_.applied_index());
  for (raft::NodeId id : st.voters) v.add_voters(id);
  for (raft::NodeId id : st.learners) v.add_learners(id);
  std::vector<raft::NodeId> ids = st.voters;
  ids.insert(ids.end(), st.learners.begin(), st.learners.end());
  std::sort(ids.begin(), ids.end());
  for (raft::NodeId id : ids) {
    v1::ClusterView::Member* m = v.add_members();
    m->set_id(id);
    m->set_state("unknown");
    if (id == config_.node_id) {
      m->set_match(st.last_index);
      m->set_state("self");
      continue;
    }
    for (const raft::PeerStatus& p : st.peers) {
      if (p.id != id) continue;
      m->set_match(p.match);
      m->set_state(p.state);
      m->set_last_contact_ms(p.ticks_since_contact * config_.tick_ms);
    }
  }
  return v;
}

json cluster_view_json(const v1::ClusterView& v, raft::NodeId asked) {
  json members = json::array();
  for (const v1::ClusterView::Member& m : v.members()) {
    const bool voter = std::find(v.voters().begin(), v.voters().end(), m.id()) != v.voters().end();
    members.push_back(json{{"id", m.id()},
                           {"voter", voter},
                           {"match", m.match()},
                           {"lag", v.last_index() > m.match() ? v.last_index() - m.match() : 0},
                           {"state", m.state()},
                           {"last_contact_ms", m.last_contact_ms()}});
  }
  return json{{"node_id", asked},
              {"leader", v.leader()},
              {"forwarded", asked != v.leader()},
              {"term", v.term()},
              {"commit", v.commit()},
              {"applied", v.applied()},
              {"last_index", v.last_index()},
              {"voters", json(std::vector<std::uint64_t>(v.voters().begin(), v.voters().end()))},
              {"learners", json(std::vector<std::uint64_t>(v.learners().begin(), v.learners().end()))},
              {"members", members}};
}

// The broadcast saving (docs/architecture.md §3): Raft messages (one per destination) against the transport sends and
// the announcements (frames, fragments included) that carried them.
json AgentCore::send_json() const {
  const transport::Counters& c = transport_->counters();
  return json{
      {"raft_messages", raft_messages_sent_},
      {"transport_sends", transport_sends_},
      {"frames", c.frames_sent},
      {"forward_sends", forward_sends_},
      {"forwarded_commands", forwarded_},
      {"acks_coalesced", acks_.coalesced()},
      {"acks_held", acks_.held()},
      {"messages_per_send",
       transport_sends_ == 0 ? 0.0 : static_cast<double>(raft_messages_sent_) / static_cast<double>(transport_sends_)}};
}

HealthSignals::View AgentCore::health_view() const {
  // The state machine's applied index, as status shows it ("applied"); cheap accessors: called every tick.
  return HealthSignals::View{config_.node_id, node_->leader(), node_->term(), node_->commit_index(),
                             sm_.applied_index()};
}

json AgentCore::exabgp_json() const {
  return json{{"outstanding", router_.outstanding()},
              {"agent_waiting", router_.agent_waiting()},
              {"ms_without_ack", router_.ticks_without_ack() * config_.tick_ms},
              {"ack_stalls", ack_stalls_}};
}

// The model file (latency_model.h): what raftbgp-predict needs from this node, in one JSON document.
json AgentCore::model_json() const {
  const raft::Status st = node_->status();
  json m = model_.model_json();
  m["format"] = "raftbgp-latency-model/1";
  m["node_id"] = config_.node_id;
  m["cluster_id"] = config_.cluster_id;
  m["role"] = raft::role_name(st.role);
  m["leader"] = st.leader;
  m["term"] = st.term;
  m["voters"] = st.voters;
  m["learners"] = st.learners;
  m["timers"] = json{{"tick_ms", config_.tick_ms},
                     {"election_ticks", config_.election_ticks},
                     {"heartbeat_ticks", config_.heartbeat_ticks},
                     {"quiesce_after_ticks", config_.quiesce.after_ticks}};
  m["commit_latency_seconds"] = commit_latency_.to_json();
  return m;
}

json AgentCore::debug_json() const {
  const raft::Status st = node_->status();
  json progress = json::array();
  for (const raft::PeerStatus& p : st.peers)
    progress.push_back(json{{"id", p.id},
                            {"voter", p.voter},
                            {"match", p.match},
                            {"next", p.next},
                            {"state", p.state},
                            {"ticks_since_contact", p.ticks_since_contact}});
  json dropped = json::object();
  for (int i = 0; i < static_cast<int>(raft::DropReason::kCount_); ++i)
    dropped[raft::drop_reason_name(static_cast<raft::DropReason>(i))] = st.dropped[i];
  json pending = json::array();
  for (const auto& [id, p] : pending_)
    pending.push_back(json{{"request", id},
                           {"op", std::string(op_name(p.command))},
                           {"client_id", p.command.client_id()},
                           {"seq", p.command.seq()},
                           {"deadline_tick", p.deadline_tick},
                           {"forwarded_to", p.forwarded_to}});
  json rejects = json::object();
  std::uint64_t rejects_total = 0;
  for (const auto& [reason, n] : forward_rejects_) {
    rejects[v1::ForwardReject::Reason_Name(reason)] = n;
    rejects_total += n;
  }
  const raft::HardState hs = storage_->hard_state();
  return json{{"status", status_json()},
              {"hard_state", {{"term", hs.term()}, {"vote", hs.vote()}, {"commit", hs.commit()}}},
              {"log",
               {{"first_index", storage_->first_index()},
                {"last_index", storage_->last_index()},
                {"commit", st.commit},
                {"applied", sm_.applied_index()}}},
              {"progress", progress},
              {"raft_dropped", dropped},
              {"pending_requests", pending},
              {"pending_reads", reads_.size()},
              {"reads", {{"served", reads_served_}, {"read_index_retries", read_index_retries_}}},
              {"members", members_json()},
              {"forwarded", forwarded_},
              {"forward_rejects_sent", rejects_total},
              {"forward_rejects_by_reason", rejects},
              {"exabgp_window",
               {{"outstanding", router_.outstanding()},
                {"agent_outstanding", router_.agent_outstanding()},
                {"agent_waiting", router_.agent_waiting()},
                {"policy_acks_error", policy_acks_error_}}},
              {"announced_policy_routes", announcer_.announced()},
              {"withdrawing", announcer_.withdrawing()},
              {"route_problems", announcer_.problems()},
              {"state_machine",
               {{"kv_keys", sm_.kv().size()},
                {"policies", sm_.policies().size()},
                {"sessions", sm_.sessions().size()},
                {"policy_version", sm_.policy_version()}}},
              {"tick", tick_}};
}

}  // namespace raftbgp::agent
