#include "raftbgp/agent/agent_core.h"

#include <chrono>

#include <algorithm>

#include "raftbgp/agent/log.h"
#include "raftbgp/agent/send_groups.h"

namespace raftbgp::agent {
namespace {

// One AppendEntries must fit one transport message (docs/architecture.md §2); 16 KiB is at most ~6 announcements of
// the default 2,900-byte budget, leaves room for an 8 KiB value plus the Command envelope, and needs far
// fewer fragments than any mailbox ring has slots (64 for the default IPv4 layout).
// InstallSnapshot chunks (MSG_SNAP) obey the same cap. The transport refuses a message above its
// reassembly limit (ReassemblyLimits::max_message_bytes, 1 MiB by default): open() checks the fit.
constexpr std::uint64_t kMaxMsgBytes = 16 * 1024;
// Pipelining caps: ExaBGP moves ~1.5 MB/s at best (docs/exabgp.md §3.3), so more in flight only queues in pipes.
constexpr std::size_t kMaxInflightMsgs = 8;
constexpr std::uint64_t kMaxInflightBytes = 128 * 1024;
// ExaBGP watchdog (agent_core.h): no ack for this long while commands are outstanding resets the window.
constexpr std::uint64_t kAckStallMs = 30000;
// A learner's acknowledgements wait this many ticks (ack_pacing.h): 300 ms at the default tick, below the leader's
// retransmission timeout (raft::Node::retransmit_ticks, election_ticks / 2), so a held answer is never taken for a
// lost one.
std::uint64_t learner_ack_ticks(const AgentConfig& c) {
  return static_cast<std::uint64_t>(std::clamp(c.election_ticks / 2 - 1, 1, 3));
}

}  // namespace

transport::TransportConfig transport_config(const AgentConfig& c, transport::KeyRing keys, std::uint64_t epoch) {
  transport::TransportConfig t;
  t.cluster_id = c.cluster_id;
  t.my_id = c.node_id;
  t.members = c.members;
  t.members.insert(t.members.end(), c.learners.begin(), c.learners.end());
  t.family = c.mailbox_family;
  t.ipv6 = c.mailbox_ipv6;
  t.ipv4 = c.mailbox_ipv4;
  t.next_hop_ipv4 = c.next_hop_ipv4;
  t.next_hop_ipv6 = c.next_hop_ipv6;
  t.neighbor = c.neighbor.of(c.mailbox_family);
  t.attribute_code = c.attribute_code;
  t.payload_budget = c.payload_budget;
  t.compress = c.compression;
  t.slot_reuse_ticks = c.slot_reuse_ticks;
  t.slot_ttl_ticks = c.slot_ttl_ticks;
  t.keys = std::move(keys);
  t.active_key_id = c.active_key_id;
  t.epoch = epoch;
  return t;
}

namespace {

raft::Config node_config(const AgentConfig& c, std::uint64_t seed, raft::Index applied, std::uint64_t max_msg_bytes) {
  raft::Config r;
  r.applied = applied;
  r.id = c.node_id;
  r.voters = c.members;
  r.learners = c.learners;
  r.election_ticks = c.election_ticks;
  r.heartbeat_ticks = c.heartbeat_ticks;
  r.seed = seed;
  r.max_msg_bytes = max_msg_bytes;
  r.max_inflight_msgs = kMaxInflightMsgs;
  r.max_inflight_bytes = kMaxInflightBytes;
  return r;
}

bool is_ack(std::string_view line, bool& done) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line == "done") return done = true;
  if (line == "error") return !(done = false);
  return false;
}

}  // namespace

std::variant<std::unique_ptr<AgentCore>, std::string> AgentCore::open(const AgentConfig& config,
                                                                      transport::KeyRing keys, Options options) {
  if (auto e = ensure_dir(config.data_dir)) return e->message;
  auto lease = bump_epoch(config.data_dir);
  if (auto* e = std::get_if<FileError>(&lease)) return e->message;
  const std::uint64_t ep = std::get<EpochLease>(lease).epoch();
  auto tx = transport::Transport::create(transport_config(config, std::move(keys), ep));
  if (auto* e = std::get_if<std::string>(&tx)) return "transport: " + *e;
  auto wal = raft::WalStorage::open(config.data_dir + "/wal");
  if (!wal.ok()) return "wal: " + wal.error().message();
  if (wal.report().torn_bytes > 0)
    LOG_WARN("wal: cut a torn tail of " + std::to_string(wal.report().torn_bytes) + " bytes from " +
             wal.report().torn_path);
  const std::uint64_t max_msg_bytes = options.max_msg_bytes != 0 ? options.max_msg_bytes : kMaxMsgBytes;
  if (std::get<transport::Transport>(tx).config().reassembly.max_message_bytes < max_msg_bytes)
    return "transport: reassembly.max_message_bytes is below the Raft message cap";
  const std::uint64_t seed = options.seed != 0 ? options.seed : (config.node_id * 0x9e3779b97f4a7c15ULL) ^ ep;
  std::unique_ptr<AgentCore> core(new AgentCore(config, wal.take(), std::move(std::get<transport::Transport>(tx)), ep));
  core->epoch_lease_ = std::move(std::get<EpochLease>(lease));
  core->replay_store_ = ReplayStore(config.data_dir, *core->storage_);
  if (auto e = core->replay_store_.load(*core->transport_)) return e->message;
  core->mailbox_record_ = MailboxRecord(config.data_dir);
  auto leftovers = core->mailbox_record_.load();
  if (auto* e = std::get_if<FileError>(&leftovers)) return e->message;
  core->append_transport_lines(core->transport_->withdraw_leftovers(std::get<0>(leftovers)));
  raft::Index applied = 0;
  if (auto e = core->restore_from_storage(applied)) return *e;
  core->max_msg_bytes_ = max_msg_bytes;
  core->seed_ = seed;
  core->node_ = std::make_unique<raft::Node>(node_config(config, seed, applied, max_msg_bytes), *core->storage_);
  core->recorder_.begin(node_config(config, seed, applied, max_msg_bytes), *core->storage_, ep);
  if (config.joining)
    LOG_INFO("node " + std::to_string(config.node_id) +
             " is not in members: it waits to be added "
             "(raftbgpctl members add " +
             std::to_string(config.node_id) + " on a member)");
  if (auto e = core->announcer_.load()) return e->message;
  LOG_INFO("started node " + std::to_string(config.node_id) + " cluster " + std::to_string(config.cluster_id) +
           " epoch " + std::to_string(ep) + " log " + std::to_string(core->storage_->first_index()) + ".." +
           std::to_string(core->storage_->last_index()) + " commit " +
           std::to_string(core->storage_->hard_state().commit()));
  core->watches_.attach(core->sm_);  // watch streams and their history from here (watch.h)
  // Replays the committed log above the snapshot (Config.applied) and announces.
  core->run_ready();
  core->reconcile_routes();
  core->flush_agent_lines();
  return core;
}

AgentCore::AgentCore(const AgentConfig& config, std::unique_ptr<raft::WalStorage> storage,
                     transport::Transport transport, std::uint64_t epoch)
    : config_(config),
      storage_(std::move(storage)),
      transport_(std::move(transport)),
      announcer_(NodeRouteContext{config.node_id, config.next_hop_ipv4, config.next_hop_ipv6, config.local_asn},
                 config.neighbor, {config.mailbox_ipv6.base, config.mailbox_ipv4.base}, config.data_dir + "/announced",
                 config.guards),
      epoch_(epoch),
      quiet_(config.quiesce),
      acks_(learner_ack_ticks(config)),
      recorder_(config.recorder_on ? Recorder(config.data_dir + "/recorder.rec", config.recorder_max_bytes)
                                   : Recorder()),
      next_request_((epoch << 32) | 1) {
  limits_.reserved = {config.mailbox_ipv6.base, config.mailbox_ipv4.base};
  limits_.members = config.members;
  limits_.members.insert(limits_.members.end(), config.learners.begin(), config.learners.end());
  std::sort(limits_.members.begin(), limits_.members.end());
  router_.set_refusal_log([](std::string_view shown) {
    LOG_ERROR("refused to write a command with a line break or NUL to exabgp (not sent): " + std::string(shown));
  });
  // The Node is built by open(), once the snapshot has given the applied index.
}

AgentCore::~AgentCore() {
  // Clean shutdown: keep what was delivered since the last syncing Ready (replay_store.h).
  try {
    if (auto e = replay_store_.save(*transport_)) LOG_ERROR(e->message);
    storage_->sync();
  } catch (const raft::StorageIoError& e) {
    LOG_ERROR(std::string("wal: ") + e.what() + "; the replay windows of this run may be lost");
  }
  if (auto e = mailbox_record_.save(*transport_, true)) LOG_ERROR(e->message);
}

std::vector<std::string> AgentCore::take_output() {
  model_.stamp_sends(std::chrono::steady_clock::now());  // the lines leave now (latency_model.h)
  std::vector<std::string> out;
  out.swap(output_);
  return out;
}

void AgentCore::tick() {
  ++tick_;
  tick_node();
  if (std::optional<raft::Message> ack = acks_.take_due(tick_)) send_message(*ack);
  append_transport_lines(transport_->tick(tick_));
  if (auto e = mailbox_record_.save(*transport_)) LOG_WARN(e->message);
  router_.tick();
  check_exabgp_acks();
  expire_requests();
  retry_reads();
  request_ready();
  append_transport_lines(transport_->take_ready());
  health_.on_tick(tick_, health_view());
}

void AgentCore::tick_node() {
  if (node_->role() != raft::Role::kLeader) {
    wake_leader();  // no longer leading: its presence must not outlive its leadership
    if (!quiet_.frozen(node_->leader(), node_->term(), tick_)) {
      recorder_.tick();
      node_->tick();
    }
    return;
  }
  const bool idle = node_->quiescable() && pending_.empty() && reads_.empty();
  if (!idle) wake_leader();
  switch (quiet_.leader_tick(tick_, idle)) {
    case Quiescence::LeaderTick::kTick:
      recorder_.tick();
      node_->tick();
      return;
    case Quiescence::LeaderTick::kQuiet: return;
    case Quiescence::LeaderTick::kQuiesce:
      recorder_.quiesce();
      if (node_->quiesce()) {
        quiet_.quiesced(tick_);
      } else {
        wake_leader();
        recorder_.tick();
        node_->tick();
      }
      return;
  }
}

void AgentCore::wake_leader() {
  if (quiet_.wake()) append_transport_lines(transport_->release_presence());
}

void AgentCore::on_quiet_events(const transport::Transport::Received& r) {
  for (std::uint64_t src : r.presence_withdrawn) quiet_.on_presence_withdrawn(src);
  if (const auto* st = std::get_if<transport::StateEvent>(&r.event); st != nullptr && st->state == "down")
    quiet_.on_session_down();
}

void AgentCore::on_exabgp_line(std::string_view line) {
  bool done = false;
  if (is_ack(line, done)) {
    on_ack_line(line, done);
    return;
  }
  transport::Transport::Received r = transport_->on_line(line, tick_);
  append_transport_lines(std::move(r.lines));
  log_event(r.event);
  on_quiet_events(r);
  health_.on_event(r.event);
  for (const raft::Message& m : r.messages) health_.on_message(m, tick_);
  if (!r.messages.empty()) {
    const auto now = std::chrono::steady_clock::now();
    for (const raft::Message& m : r.messages) model_.on_receive(m, now);
  }
  for (const raft::Message& m : r.messages) on_delivered(m);
  request_ready();
}

void AgentCore::on_ack_line(std::string_view line, bool done) {
  std::optional<AckRouter::Acked> acked = router_.on_ack();
  if (!acked || acked->owner == LineOwner::kTransport) {
    transport::Transport::Received r = transport_->on_line(line, tick_);
    append_transport_lines(std::move(r.lines));
    if (!done) LOG_WARN("exabgp refused a mailbox command: " + transport_->last_error_command().substr(0, 120));
    return;
  }
  if (!done) {
    ++policy_acks_error_;
    LOG_ERROR("exabgp refused policy command: " + acked->line);
  }
  announcer_.on_ack(acked->line, done);
  flush_agent_lines();
}

void AgentCore::on_delivered(const raft::Message& m) {
  // Heartbeat answers to a quiet leader's quiesce heartbeats are expected; anything else is news (run_ready also
  // wakes it when an answer shows a lagging peer).
  if (m.type() != raft::MessageType::MSG_HEARTBEAT_RESP) wake_leader();
  if (m.type() == raft::MessageType::MSG_FORWARD) return handle_forward(m);
  if (m.type() == raft::MessageType::MSG_FORWARD_RESP) return handle_forward_reject(m);
  recorder_.step(m);
  if (auto reason = node_->step(m)) {
    LOG_DEBUG("raft dropped " + std::string(raftbgp::v1::MessageType_Name(m.type())) + " from " +
              std::to_string(m.from()) + ": " + raft::drop_reason_name(*reason));
    return;
  }
  if (m.type() == raft::MessageType::MSG_HEARTBEAT && m.quiesce() && node_->leader() == m.from() &&
      node_->term() == m.term())
    quiet_.on_quiesce_heartbeat(m.from(), m.term(), tick_);
}

void AgentCore::request_ready() {
  if (batching_) {
    ready_wanted_ = true;
    return;
  }
  run_ready();
}

void AgentCore::flush_ready() {
  if (!ready_wanted_) return;
  ready_wanted_ = false;
  run_ready();
}

void AgentCore::run_ready() {
  flush_forwards();
  const std::uint64_t before = sm_.policy_version();
  while (node_->has_ready()) {
    raft::Ready rd = node_->ready();
    recorder_.ready(rd);
    // Replay marks become durable no later than anything the delivered messages caused (replay_store.h): with the
    // WAL's own sync. A Ready that only moves the commit index syncs nothing, and its marks wait for the next one
    // (before, every commit news cost a follower two fsyncs on its way to applying and announcing).
    const bool syncs = raft::must_sync(*storage_, rd.snapshot, rd.hard_state, rd.entries);
    if (syncs)
      if (auto e = replay_store_.save(*transport_)) LOG_ERROR(e->message);
    // A leader's AppendEntries may leave before its own fsync (rd.send_before_persist, thesis §10.2.1):
    // they promise nothing about our disk, and the core counts us in the quorum only after advance(),
    // i.e. after the fsync below; anything else (a vote, an acknowledgement) waits for the fsync (§5.1).
    if (rd.send_before_persist) {
      send_messages(rd.messages);
      // Out now, so that ExaBGP announces them while we fsync (set_output_hook).
      if (syncs && output_hook_ && has_output()) output_hook_();
    }
    // A snapshot first, then it replaces the state machine.
    const auto persist_start = std::chrono::steady_clock::now();
    raft::persist(*storage_, rd.snapshot, rd.hard_state, rd.entries);
    if (syncs) {
      const double fsync_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - persist_start).count();
      wal_fsync_.observe(fsync_s);
      model_.on_fsync(fsync_s);
    }
    if (rd.snapshot) install_snapshot(*rd.snapshot);
    if (!rd.send_before_persist) send_messages(rd.messages);
    if (!rd.committed_entries.empty()) {
      const auto apply_start = std::chrono::steady_clock::now();
      for (const raft::Entry& e : rd.committed_entries) apply_entry(e);
      model_.on_apply(std::chrono::duration<double>(std::chrono::steady_clock::now() - apply_start).count());
    }
    if (rd.soft_state)
      model_.on_soft_state(rd.soft_state->first, rd.soft_state->second, std::chrono::steady_clock::now());
    on_read_states(rd.read_states);
    log_soft_state(rd);
    recorder_.advance();
    node_->advance(rd);
    start_transfers();
  }
  if (quiet_.quiet() && (node_->role() != raft::Role::kLeader || !node_->quiescable())) wake_leader();
  serve_reads();
  answer_admin();
  maybe_compact();
  if (sm_.policy_version() != before) reconcile_routes();
  flush_agent_lines();
}

ClientResponse AgentCore::record(const std::string& action) {
  const std::string path = config_.data_dir + "/recorder.rec";
  auto summary = [&] {
    return nlohmann::json{{"file", path}, {"records", recorder_.records()}, {"bytes", recorder_.bytes()}};
  };
  if (!config_.recorder_on_demand)
    return error_response(ErrorCode::kBadRequest, std::string("recorder.mode is ") +
                                                      (config_.recorder_on ? "on (recording since start)" : "off") +
                                                      "; debug record needs recorder.mode: on-demand");
  if (action == "stop") {
    if (!recorder_.enabled()) return error_response(ErrorCode::kBadRequest, "not recording");
    nlohmann::json out = summary();
    recorder_ = Recorder();  // flushes and closes
    LOG_INFO("recorder: stopped, " + out.dump());
    return ok_response(out);
  }
  if (action != "start") return error_response(ErrorCode::kBadRequest, "action must be start or stop");
  if (recorder_.enabled()) return error_response(ErrorCode::kBadRequest, "already recording to " + path);
  // Finish what the node has to hand out, then rebuild it from storage as open() does: the recording's start.
  run_ready();
  wake_leader();
  const raft::Config cfg = node_config(config_, seed_, sm_.applied_index(), max_msg_bytes_);
  node_ = std::make_unique<raft::Node>(cfg, *storage_);
  recorder_ = Recorder(path, config_.recorder_max_bytes);
  recorder_.begin(cfg, *storage_, epoch_);
  LOG_INFO("recorder: started on demand (the Raft node was rebuilt from its storage: role follower, term " +
           std::to_string(node_->term()) + ")");
  run_ready();
  return ok_response(summary());
}

void AgentCore::send_message(const raft::Message& m) {
  const std::uint64_t to = m.to();
  ++raft_messages_sent_;
  ++transport_sends_;
  model_.on_send(m, to, std::chrono::steady_clock::now());
  append_transport_lines(transport_->send(m, std::span<const std::uint64_t>(&to, 1)));
}

// One frame for all destinations of identical messages (docs/architecture.md §3 broadcast); the transport rewrites
// `to` to the receiver on delivery, so every follower sees the message the core addressed to it.
// Quiesce heartbeats go on presence slots (transport.h "Presence"), one per group, in the same order on every round
// so that a refresh replaces the previous round's routes; past kPresenceSlots groups they ride the ring (their
// followers still freeze, on the lease alone).
void AgentCore::send_messages(const std::vector<raft::Message>& ready_messages) {
  std::vector<raft::Message> paced;
  const std::vector<raft::Message>& messages =
      acks_.filter(ready_messages, node_->learner(), tick_, paced) ? paced : ready_messages;
  std::uint32_t presence = 0;
  const auto now = std::chrono::steady_clock::now();
  for (const SendGroup& g : group_for_send(messages, config_.node_id, transport::kMaxDestinations)) {
    raft_messages_sent_ += g.to.size();
    ++transport_sends_;
    const raft::Message& m = messages[g.first];
    for (std::uint64_t to : g.to) model_.on_send(m, to, now);
    std::optional<std::uint32_t> slot;
    if (m.quiesce() && presence < transport::kPresenceSlots) slot = presence++;
    append_transport_lines(transport_->send(m, g.to, slot));
  }
}

void AgentCore::append_transport_lines(std::vector<std::string> lines) {
  for (std::string& l : lines)
    if (router_.transport_written(l)) output_.push_back(std::move(l));
}

void AgentCore::flush_agent_lines() {
  for (std::string& l : router_.take_agent_ready()) output_.push_back(std::move(l));
}

void AgentCore::apply_entry(const raft::Entry& e) {
  if (e.index() <= sm_.applied_index()) return;  // reflected by the snapshot already
  bytes_since_snapshot_ += e.ByteSizeLong();
  if (e.type() == raftbgp::v1::ENTRY_CONF_CHANGE) return apply_conf_change(e);
  if (e.type() != raftbgp::v1::ENTRY_NORMAL || e.data().empty()) return sm_.skip(e.index());  // no-op
  v1::Command cmd;
  if (!cmd.ParseFromString(e.data())) {
    // Every node skips the same bytes, so the state machines stay identical.
    LOG_ERROR("entry " + std::to_string(e.index()) + " is not a Command; skipped");
    return sm_.skip(e.index());
  }
  const v1::Result result = sm_.apply(e.index(), cmd, applied_voters_);
  // A transfer starts once, on the node that leads when it applies the entry (not at open's replay: a
  // node opens as a follower), after this Ready (the Node is not stepped between ready() and advance()).
  if (cmd.has_transfer_leader() && result.code() == v1::Result::OK && result.index() == e.index() &&
      node_->role() == raft::Role::kLeader)
    transfers_to_start_.push_back(cmd.transfer_leader().target());
  if (cmd.origin_node() == config_.node_id) answer_applied(cmd, result);
}

void AgentCore::reconcile_routes() {
  if (sm_.policy_version() == announced_policy_version_) return;
  RouteAnnouncer::Diff diff = announcer_.reconcile(sm_.policies());
  if (diff.error) {
    LOG_ERROR("route record: " + diff.error->message + "; policy routes not updated yet");
    return;
  }
  announced_policy_version_ = sm_.policy_version();
  for (std::string& l : diff.lines) {
    const std::string shown = AckRouter::line_is_safe(l) ? l : "(refused)";
    if (router_.queue_agent(std::move(l))) LOG_INFO("policy: " + shown);
  }
}

void AgentCore::check_exabgp_acks() {
  const std::uint64_t limit = std::max<std::uint64_t>(kAckStallMs / config_.tick_ms, 1);
  if (router_.ticks_without_ack() < limit) return;
  ++ack_stalls_;
  health_.on_ack_stall(tick_);
  LOG_ERROR("exabgp acknowledged nothing for " + std::to_string(kAckStallMs / 1000) + " s with " +
            std::to_string(router_.outstanding()) +
            " commands outstanding (is `ack` off, or exabgp stuck?): "
            "resetting the command window and re-sending the policy routes");
  // Release the transport's window too: it pops one outstanding command per ack, in order. `error`,
  // because nobody knows whether ExaBGP ran them; Raft retransmits whatever mailbox frame was lost.
  for (std::size_t n = router_.reset(); n > 0; --n) append_transport_lines(transport_->on_line("error", tick_).lines);
  announcer_.resend_all();
  announced_policy_version_ = ~std::uint64_t{0};
  reconcile_routes();
  flush_agent_lines();
}

// A MSG_FORWARD carries one command in its context or, from a follower that batched a burst (flush_forwards),
// several as entries (each entry's data one Command, the context empty). Each is proposed (or refused) on its own.
void AgentCore::handle_forward(const raft::Message& m) {
  if (m.entries().empty()) return handle_forwarded_command(m, m.context());
  for (const raft::Entry& e : m.entries()) handle_forwarded_command(m, e.data());
}

void AgentCore::handle_forwarded_command(const raft::Message& m, const std::string& bytes) {
  v1::Command cmd;
  v1::ForwardReject reject;
  if (bytes.empty() || !cmd.ParseFromString(bytes)) {
    LOG_WARN("malformed MSG_FORWARD from " + std::to_string(m.from()));
    return;
  }
  if (cmd.has_cluster_status()) return answer_cluster_status(m, cmd);  // a status, never proposed
  if (m.term() != node_->term()) {
    // Bound to the term its origin saw (agent_core.h "Forward terms"): an archived forward is dead. No
    // answer: the origin's own forward of that term may still be in the log, so "refused" could be a lie.
    ++forwards_stale_term_;
    LOG_WARN("dropped a MSG_FORWARD from " + std::to_string(m.from()) + " for term " + std::to_string(m.term()) +
             " (current term " + std::to_string(node_->term()) + ")");
    return;
  }
  const bool admin = cmd.has_conf_change() || cmd.has_transfer_leader();
  std::optional<ProposeRefusal> refused = admin ? propose_admin(cmd) : propose_local(cmd);
  if (!refused) return;
  reject.set_origin_request(cmd.origin_request());
  reject.set_reason(refused->reason);
  reject.set_leader(node_->leader());
  reject.set_message(refused->message);
  raft::Message resp;
  resp.set_type(raft::MessageType::MSG_FORWARD_RESP);
  resp.set_from(config_.node_id);
  resp.set_to(m.from());
  resp.set_context(reject.SerializeAsString());
  ++forward_rejects_[refused->reason];
  send_message(resp);
}

void AgentCore::log_soft_state(const raft::Ready& rd) {
  if (!rd.soft_state) return;
  LOG_INFO(std::string("role ") + raft::role_name(rd.soft_state->second) + " term " + std::to_string(node_->term()) +
           " leader " + std::to_string(rd.soft_state->first));
}

void AgentCore::log_event(const transport::ExabgpLine& event) {
  if (const auto* err = std::get_if<transport::LineError>(&event)) {
    LOG_DEBUG("exabgp line not understood: " + std::string(transport::to_string(*err)));
  } else if (const auto* st = std::get_if<transport::StateEvent>(&event)) {
    LOG_INFO("bgp peer " + st->peer + " " + st->state + (st->reason.empty() ? "" : " (" + st->reason + ")"));
  } else if (const auto* n = std::get_if<transport::NotificationEvent>(&event)) {
    LOG_INFO("exabgp notification: " + n->notification);
  }
}

}  // namespace raftbgp::agent
