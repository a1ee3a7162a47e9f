// AgentCore: one raftbgp node without any IO loop (docs/architecture.md §4). It owns the Raft Node, its
// WalStorage, the Transport, the replicated StateMachine, the RouteAnnouncer and the pending client
// requests; raftbgpd's Asio shell (and the in-process tests) feed it and drain it:
//
//   inputs   on_exabgp_line(line)      every line ExaBGP writes on our stdin, in order, without '\n'
//            tick()                    every tick_ms (the core counts ticks; it never reads a clock)
//            on_client_request(r, cb)  a decoded control-socket request; cb is called exactly once,
//                                      possibly before on_client_request returns
//   output   take_output()             command lines for ExaBGP's stdin, in order (append '\n' each)
//
// Not thread-safe: one owner (the io_context thread). Deterministic: the same inputs on the same data dir
// give the same outputs, except the epoch, which open() bumps on every start.
//
// The ready loop after every input (node.h's contract): PERSIST the Ready's hard state and entries to the
// WAL with one fsync (WalStorage::sync) -> SEND its messages through the Transport (command lines into the
// output) -> APPLY committed entries to the StateMachine, answering this node's waiting clients -> advance.
// A leader's AppendEntries are the exception (rd.send_before_persist): they are sent before the fsync and handed to
// the driver at once through set_output_hook, so that ExaBGP announces them while the WAL syncs.
// Then the RouteAnnouncer diffs the policy and queues the difference behind the AckRouter's window.
// A StorageIoError from the WAL propagates out of every input: it is fatal (the shell exits non-zero and
// the operator or ExaBGP restarts the agent, which reopens the WAL).
//
// Clients (docs/architecture.md §4 "Clients talk to any node"): a write becomes a Command entry. On the leader it is
// proposed directly; on a follower it travels to the leader as MSG_FORWARD (context = the Command).
// Whichever node the client talks to answers it when IT applies the entry carrying its (origin_node,
// origin_request): every node applies the same log, so no answer has to travel back. MSG_FORWARD_RESP
// carries only refusals (not leader, transferring, too large, invalid, change pending, not ready) back
// to the origin, which answers through the same mapping as the leader's own clients (errors.h):
//   no leader known when the request arrives -> error no_leader, nothing sent (definitely not applied)
//   refused by the leader                     -> error not_leader (also while it transfers leadership) /
//                                                too_large / rejected / conf_change_pending / not_ready
//                                                (definitely not applied)
//   no apply within the request's timeout     -> error timeout (outcome unknown: retry with the same seq)
//
// Forward terms (replay of archived forwards). A MSG_FORWARD carries, in Message.term, the term in which
// its origin knew the addressee as leader; the leader drops (and counts, forwards_stale_term) every
// forward whose term is not its current term, without answering. The transport's replay window does not
// survive a restart, but a term does: a restarted node can only lead again in a higher term (its vote
// and term are in the WAL, and an election always raises the term), so every forward sealed before any
// restart of the leader is dead, whatever the transport accepts. A forward that races a leader change is
// dropped the same way; its client times out and retries with the same (client_id, seq).
//
// Reads (kv.get, kv.list, policy.show) are linearizable through ReadIndex (thesis §6.4), never through
// the log. Reads are batched (agent_reads.cc): the reads waiting at one moment share one
// Node::read_index(context) round, context "<node>/<round id>", and only one round is in flight per node
// (reads arriving meanwhile join the next), so reads cannot flood the transport. The leader confirms its
// leadership with one heartbeat round (a follower asks the leader with MSG_READ_INDEX, which the core
// sends), and a read is served from the local state machine once it has applied ReadState.index. A refused
// round or kNotReady/kNotLeader is retried with the next round (at the latest the next tick), and a round
// with no ReadState within an election timeout is given up and its reads re-issued, until each request's
// timeout: then error not_ready / no_leader / timeout (a read changes nothing, so any
// error is safe to retry). Lease reads are not implemented.
//
// Administration (agent_admin.cc):
//   snapshot         compacts this node's log now (each node compacts its own log; not forwarded).
//   members.*        one configuration change (CONF_ADD_VOTER, CONF_ADD_LEARNER, CONF_PROMOTE,
//                    CONF_REMOVE), proposed by the leader (forwarded from a follower as
//                    Command.conf_change). The origin answers once ITS applied configuration shows the
//                    change (add: the id is a voter/learner; remove: it is neither), so a follower needs no
//                    answer from the leader beyond refusals.
//   transfer_leader  a normal entry (Command.transfer_leader); the node that is leader when it applies
//                    it calls Node::transfer_leader. Answered when this node sees the target as leader,
//                    else `timeout` at the request's deadline (the core abandons a transfer after an
//                    election timeout and the old leader resumes); a target that is not a voter of the
//                    applied configuration applies as `rejected`.
//   Both carry a client session (client_id, seq >= 1, required) and apply exactly once like writes
//   (state_machine.h): a retry or replay of an applied seq is answered from the session table and never
//   proposed again. A configuration change carries its session in ConfChange.context, recorded when its
//   entry applies; the leader proposes it only when no entry of the same session is in its log above the
//   applied index (an uncommitted one makes the core refuse anyway), and once the session table shows
//   the seq it drops the duplicate unanswered: the origin answers from its own session table.
// ExaBGP watchdog: ExaBGP acks every command; when none came for 30 s (kAckStallMs in agent_core.cc)
// while commands are outstanding, the agent assumes it never will (acks switched off, a wedged ExaBGP):
// it logs, counts (status exabgp.ack_stalls), forgets the window (the transport's too, as if each of its
// commands had been answered `error`), and re-sends every policy announce and pending withdraw from the
// applied state. Order is kept: everything queued behind the window is written after the re-sends, and
// Raft retransmits any mailbox frame that was lost. An ack that ExaBGP still sends for a command from
// before the reset is attributed to a later command (bookkeeping only: every re-sent line is idempotent).
// Quiet when idle (quiescence.h): an idle leader sends one quiesce heartbeat on presence slots and stops ticking its
// node; followers do not tick theirs while that leader's presence lasts. tick() decides who ticks (tick_node), every
// delivered message and every ready loop may wake a quiet leader (wake_leader), and presence withdrawals or a
// session down end a follower's freeze.
// Cluster status (status.cluster, raftbgpctl status --cluster): the leader's view from any node. The leader answers
// at once from its progress (cluster_view: term, commit, last index, each member's match, state and last contact).
// A follower or learner sends the leader a MSG_FORWARD whose Command carries cluster_status, waiting in pending_ like
// a write; the leader answers with a MSG_FORWARD_RESP whose ForwardReject holds the view (agent.proto), or refuses
// (not the leader any more). No leader known: no_leader, nothing sent; no answer within the request's timeout:
// timeout (a status changes nothing: retry). The view is compact so that 32 members fit one frame.
// Watches (kv.watch, policy.watch; watch.h): the state machine reports every change it applies to watches_, which
// queues it for each matching subscriber; the answer to a watch request carries the subscriber's stream
// (ClientResponse::stream), which the control session drains into its socket.
// Snapshots (Raft §7): at open the state machine is restored from storage.snapshot() and the Node starts
// with Config.applied = its index; after every ready loop the log applied since the last snapshot is
// compacted when it passes config.snapshot_log_entries / snapshot_log_bytes. A Ready::snapshot (installed
// from the leader's chunks) is persisted with the Ready, then replaces the state machine, and the
// announcer re-diffs the policy routes.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "raftbgp/agent/ack_pacing.h"
#include "raftbgp/agent/announcer.h"
#include "raftbgp/agent/config.h"
#include "raftbgp/agent/errors.h"
#include "raftbgp/agent/files.h"
#include "raftbgp/agent/health_signals.h"
#include "raftbgp/agent/latency_histogram.h"
#include "raftbgp/agent/latency_model.h"
#include "raftbgp/agent/mailbox_record.h"
#include "raftbgp/agent/ops.h"
#include "raftbgp/agent/quiescence.h"
#include "raftbgp/agent/recorder.h"
#include "raftbgp/agent/replay_store.h"
#include "raftbgp/agent/state_machine.h"
#include "raftbgp/agent/watch.h"
#include "raftbgp/raft/node.h"
#include "raftbgp/raft/wal_storage.h"
#include "raftbgp/transport/ack_router.h"
#include "raftbgp/transport/transport.h"

namespace raftbgp::agent {

using transport::AckRouter;  // bgp-transport/include/raftbgp/transport/ack_router.h
using transport::LineOwner;

// One control request, decoded (control.h gives the wire schema).
struct ClientRequest {
  std::string op;  // an OpSpec::name of ops.h; anything else is answered bad_request
  nlohmann::json args = nlohmann::json::object();
  std::string client_id;  // writes and members.*/transfer_leader: required, with seq >= 1
  std::uint64_t seq = 0;
  std::uint64_t timeout_ms = 5000;  // answer `timeout` after this long without an apply
  // Who sent it: SO_PEERCRED of the control connection (control_server.h); -1 for in-process requests.
  std::int64_t peer_pid = -1, peer_uid = -1, peer_gid = -1;
  // Where and when it arrived (control_server.h stamps both): a policy write carries them into its log
  // entry (v1::ChangeAuthor) so the replicated history says who changed what, without apply reading a clock.
  std::string hostname = {};
  std::int64_t received_unix_ms = 0;
};

struct ClientResponse {
  bool ok = false;
  // When !ok: why (errors.h; its wire name is the response's error.code).
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  nlohmann::json result = nlohmann::json::object();
  // A watch's answer: the changes that follow it, one line each (watch.h; the control session drains it).
  std::shared_ptr<WatchStream> stream = nullptr;
};
// The one way to build an answer: a success with `result`, or a refusal.
ClientResponse ok_response(nlohmann::json result);
ClientResponse error_response(ErrorCode code, std::string message);
inline ClientResponse error_response(Refusal refusal) {
  return error_response(refusal.code, std::move(refusal.message));
}
using ReplyFn = std::function<void(ClientResponse)>;

// The transport configuration of the node `config` describes, for boot `epoch` (AgentCore::open).
transport::TransportConfig transport_config(const AgentConfig& config, transport::KeyRing keys, std::uint64_t epoch);

// The client's answer for an applied (or cached) write result (agent_requests.cc).
ClientResponse write_response(const v1::Result& r);
// The status.cluster answer (agent_status.cc): the leader's view as asked on node `asked` ("node_id"), with each
// member's lag behind the leader's last index. The same on the leader and, forwarded, on any other node.
nlohmann::json cluster_view_json(const v1::ClusterView& view, raft::NodeId asked);

class AgentCore {
 public:
  struct Options {
    std::uint64_t seed = 0;  // election RNG seed; 0 = derived from node id and epoch
    // Cap on one Raft message in bytes (raft::Config::max_msg_bytes); 0 = the default, 16 KiB
    // (agent_core.cc kMaxMsgBytes). Tests lower it to reach too_large with small commands.
    std::uint64_t max_msg_bytes = 0;
  };

  // Opens the data dir (creating it 0700), bumps the boot counter, opens the WAL, builds the transport,
  // loads the announced-routes record and replays the committed log into the state machine. The first
  // output (after open) re-announces the applied policy routes and withdraws stale ones. Errors (one
  // line, naming the file) come back as a string.
  static std::variant<std::unique_ptr<AgentCore>, std::string> open(const AgentConfig& config, transport::KeyRing keys,
                                                                    Options options);
  static std::variant<std::unique_ptr<AgentCore>, std::string> open(const AgentConfig& config,
                                                                    transport::KeyRing keys) {
    return open(config, std::move(keys), Options{});
  }
  ~AgentCore();

  void on_exabgp_line(std::string_view line);
  void tick();
  void on_client_request(ClientRequest request, ReplyFn reply);

  // Batching: by default every input above runs the ready loop at once. With batching on, inputs only
  // mark it wanted and the driver calls flush_ready() once for everything that arrived together
  // (raftbgpd posts it after each burst of handlers). Every proposal and acknowledgement in between then
  // shares one AppendEntries per follower, i.e. one ExaBGP announcement instead of one per request: over
  // BGP that is the throughput. The ready loop's order (persist, send, apply, advance) is unchanged.
  // (A flush that also waited while ExaBGP had announcements of ours unacknowledged was tried and measured worse on
  // star3: ExaBGP acknowledges one command per reactor turn, so waiting for it serialized the leader; git log.)
  void set_batching(bool on) { batching_ = on; }
  void flush_ready();
  bool ready_wanted() const { return ready_wanted_; }
  std::vector<std::string> take_output();
  bool has_output() const { return !output_.empty(); }
  // Called in the middle of a ready loop when output must leave before the loop ends: a leader's AppendEntries,
  // queued before its own fsync (rd.send_before_persist, thesis §10.2.1). The driver takes the output and starts
  // writing it then, so ExaBGP announces while the WAL syncs; without a hook (tests) it leaves with the rest.
  void set_output_hook(std::function<void()> hook) { output_hook_ = std::move(hook); }

  // Answers every pending request with shutting_down (outcome unknown) before the process exits.
  void shutdown();

  // Introspection (status, debug dump, tests).
  nlohmann::json status_json() const;
  nlohmann::json debug_json() const;
  // The latency model file (latency_model.h; `raftbgpctl debug model`, raftbgp-predict --model): this node's
  // measured distributions with its identity, members and timers.
  nlohmann::json model_json() const;
  // {raft_messages, transport_sends, frames, messages_per_send}: the broadcast saving (also in status).
  nlohmann::json send_json() const;
  // {outstanding, agent_waiting, ms_without_ack, ack_stalls}: ExaBGP's command window now (also in status).
  nlohmann::json exabgp_json() const;
  const AgentConfig& config() const { return config_; }
  const raft::Node& node() const { return *node_; }
  const StateMachine& state() const { return sm_; }
  const RouteAnnouncer& announcer() const { return announcer_; }
  const transport::Transport& transport() const { return *transport_; }
  std::uint64_t epoch() const { return epoch_; }
  std::uint64_t now_tick() const { return tick_; }
  std::size_t pending_requests() const { return pending_.size() + reads_.size(); }
  // The configuration as of the applied index (the one membership requests wait for).
  const std::vector<raft::NodeId>& applied_voters() const { return applied_voters_; }
  const std::vector<raft::NodeId>& applied_learners() const { return applied_learners_; }
  const Recorder& recorder() const { return recorder_; }
  const WatchHub& watches() const { return watches_; }
  // The leader's compact view of the cluster (agent_status.cc); meaningful on the leader.
  v1::ClusterView cluster_view() const;
  std::uint64_t snapshots_taken() const { return snapshots_taken_; }
  std::uint64_t snapshots_installed() const { return snapshots_installed_; }
  // On-demand flight recording (recorder.mode on-demand; debug.record): "start" rebuilds the Raft node from its
  // storage, as a restart does, and records from there (a recording replays only from a node's construction: its
  // timers, RNG and progress are not in the WAL), so a leader steps down and the cluster elects; "stop" closes the
  // file. Answers {file, records, bytes}, or bad_request (mode not on-demand, already recording / not recording).
  ClientResponse record(const std::string& action);
  // Compacts the log now; returns the snapshot's index, or why not (not_ready: nothing new since the
  // last snapshot, or a configuration change committed but not applied yet).
  std::variant<raft::Index, Refusal> take_snapshot();

 private:
  struct Pending {
    ReplyFn reply;
    v1::Command command;
    std::uint64_t deadline_tick = 0;
    raft::NodeId forwarded_to = 0;  // 0: proposed locally
    // When it reached this node: commit_latency_ observes the time to its apply here (a wall-clock
    // measurement for metrics only; nothing the core decides depends on it).
    std::chrono::steady_clock::time_point submitted = std::chrono::steady_clock::now();
  };
  // A ReadIndex read in flight (see "Reads" above).
  struct PendingRead {
    ReplyFn reply;
    v1::Read read;
    std::uint64_t deadline_tick = 0;
    std::string context;  // of the round it is in; empty: joins the next round
    std::uint64_t issued_tick = 0;
    std::uint64_t attempts = 0;
    std::optional<raft::Index> index;               // ReadState.index once known: serve when applied >= it
    Refusal last_refusal{ErrorCode::kTimeout, ""};  // why the last attempt failed (answered at the deadline)
  };

  AgentCore(const AgentConfig& config, std::unique_ptr<raft::WalStorage> storage, transport::Transport transport,
            std::uint64_t epoch);

  void run_ready();
  // Ticks the node unless it is quiet (leader) or frozen by its leader's presence (follower); quiesces an idle
  // leader (quiescence.h).
  void tick_node();
  // A quiet leader resumes ticking and withdraws its presence routes.
  void wake_leader();
  void on_quiet_events(const transport::Transport::Received& r);
  // run_ready() now, or at the next flush_ready() when batching.
  void request_ready();
  // Sends the burst's forwarded commands: one MSG_FORWARD per leader, carrying them as entries (agent_requests.cc).
  void flush_forwards();
  // Removes pending write `request` and returns its reply function; empty if it was answered already.
  ReplyFn take_reply(std::uint64_t request);
  void send_message(const raft::Message& m);
  void send_messages(const std::vector<raft::Message>& messages);
  void apply_entry(const raft::Entry& e);
  void answer_applied(const v1::Command& cmd, const v1::Result& result);
  void reconcile_routes();
  void flush_agent_lines();
  void append_transport_lines(std::vector<std::string> lines);
  void on_ack_line(std::string_view line, bool done);
  void on_delivered(const raft::Message& m);
  void handle_forward(const raft::Message& m);
  void handle_forwarded_command(const raft::Message& m, const std::string& bytes);
  void check_exabgp_acks();
  void handle_forward_reject(const raft::Message& m);
  // status.cluster: answered here on the leader, else forwarded (agent_core.h "Cluster status").
  void submit_cluster_status(const ClientRequest& req, ReplyFn reply);
  void answer_cluster_status(const raft::Message& m, const v1::Command& cmd);  // on the leader
  ClientResponse start_watch(const ClientRequest& req, Op op);                 // kv.watch, policy.watch
  void log_event(const transport::ExabgpLine& event);
  void log_soft_state(const raft::Ready& rd);
  void expire_requests();

  // Client request handling (agent_requests.cc). Requests are dispatched by the op table (ops.h).
  std::uint64_t deadline_tick(const ClientRequest& req) const;  // the tick at which `timeout` is answered
  ClientResponse local_response(Op op);                         // OpPath::kLocal ops
  // Reads and writes; the error to answer, or nullopt with `cmd` filled.
  std::optional<ClientResponse> build_command(const ClientRequest& req, Op op, v1::Command& cmd) const;
  void submit(std::uint64_t request_id, Pending pending);
  // Proposes a write on this node (the leader); why not, as told to a forwarding follower (errors.h).
  std::optional<ProposeRefusal> propose_local(const v1::Command& cmd);
  std::optional<ProposeRefusal> propose_refusal(const raft::ProposeResult& r) const;
  ClientResponse read_response(const v1::Read& read, raft::Index index) const;
  PolicyLimits current_limits() const;

  // ReadIndex reads (agent_reads.cc): batched, one round in flight at a time.
  void start_read(std::uint64_t request_id, PendingRead read);
  void issue_read_round();
  void end_read_round(const std::string& ctx, std::optional<raft::Index> index, const char* why);
  void on_read_states(const std::vector<raft::ReadState>& states);
  void serve_reads();
  void retry_reads();

  // Snapshots, membership, leadership transfer (agent_admin.cc).
  std::optional<std::string> restore_from_storage(raft::Index& applied);
  void install_snapshot(const raft::Snapshot& snap);
  // The applied configuration changed (open, a snapshot, a membership entry): the one place applied_voters_ and
  // applied_learners_ are set, so the latency model always follows the voters (it times heartbeats to them only).
  void set_applied_members(std::vector<raft::NodeId> voters, std::vector<raft::NodeId> learners);
  void maybe_compact();
  void apply_conf_change(const raft::Entry& e);
  void start_transfers();
  bool admin_in_log(const v1::Command& cmd) const;
  std::optional<ClientResponse> admin_session_answer(const v1::Command& cmd) const;
  ClientResponse snapshot_response();  // the snapshot op
  void submit_admin(const ClientRequest& req, Op op, ReplyFn reply);
  std::optional<ClientResponse> build_admin_command(const ClientRequest& req, Op op, v1::Command& cmd) const;
  std::optional<ProposeRefusal> propose_admin(const v1::Command& cmd);
  bool admin_done(const v1::Command& cmd) const;
  void answer_admin();
  nlohmann::json members_json() const;
  HealthSignals::View health_view() const;  // agent_status.cc

  AgentConfig config_;
  std::unique_ptr<raft::WalStorage> storage_;
  std::unique_ptr<raft::Node> node_;
  std::optional<transport::Transport> transport_;
  StateMachine sm_;
  RouteAnnouncer announcer_;
  AckRouter router_;
  PolicyLimits limits_;
  std::vector<std::string> output_;
  std::uint64_t epoch_ = 0;
  EpochLease epoch_lease_;        // holds <data_dir>/epoch.lock for the life of the process
  ReplayStore replay_store_;      // <data_dir>/replay (replay_store.h: when it is saved)
  MailboxRecord mailbox_record_;  // <data_dir>/mailboxes (mailbox_record.h)
  Quiescence quiet_;
  AckPacer acks_;      // coalesces acknowledgements; a learner's wait a few ticks (ack_pacing.h)
  Recorder recorder_;  // <data_dir>/recorder.rec when recorder.mode is on (recorder.h)
  WatchHub watches_;   // change streams, fed by sm_'s applies (watch.h)
  std::uint64_t tick_ = 0;
  std::uint64_t next_request_ = 1;
  std::map<std::uint64_t, Pending> pending_;
  std::map<std::uint64_t, PendingRead> reads_;          // by request id
  std::map<std::string, std::uint64_t> read_contexts_;  // the ReadIndex round in flight -> tick issued
  std::vector<raft::NodeId> applied_voters_;            // sorted; the configuration as of the applied index
  std::vector<raft::NodeId> applied_learners_;
  std::uint64_t bytes_since_snapshot_ = 0;  // entry bytes applied since the last snapshot or start
  std::uint64_t snapshots_taken_ = 0;
  std::uint64_t snapshots_installed_ = 0;
  std::uint64_t reads_served_ = 0;
  std::uint64_t read_index_retries_ = 0;
  std::uint64_t announced_policy_version_ = ~std::uint64_t{0};
  LatencyHistogram wal_fsync_;       // raft::persist per Ready (status "wal_fsync_seconds", metrics.h)
  LatencyHistogram commit_latency_;  // a client write, arrival to apply here (status "commit_latency_seconds")
  LatencyModel model_;               // measured round trips, fsync, apply, elections (latency_model.h)
  std::uint64_t forwarded_ = 0;      // MSG_FORWARD sent
  std::map<v1::ForwardReject::Reason, std::uint64_t> forward_rejects_;  // MSG_FORWARD_RESP sent, by reason
  std::uint64_t policy_acks_error_ = 0;
  std::uint64_t forwards_stale_term_ = 0;         // MSG_FORWARD dropped: not for the leader's current term
  std::uint64_t ack_stalls_ = 0;                  // ExaBGP watchdog resets
  HealthSignals health_;                          // status "health" (health_signals.h)
  std::vector<raft::NodeId> transfers_to_start_;  // transfer_leader entries applied as leader, this Ready
  std::uint64_t raft_messages_sent_ = 0;          // Raft messages handed to the transport, one per destination
  std::uint64_t transport_sends_ = 0;             // Transport::send calls (one per destination set)
  bool batching_ = false;
  std::function<void()> output_hook_;  // set_output_hook
  bool ready_wanted_ = false;
  // Forwarded writes of this burst, per leader, sent as one MSG_FORWARD at the next ready loop (flush_forwards).
  struct QueuedForward {
    std::uint64_t request = 0;  // pending_ key
    std::string command;        // serialized v1::Command
  };
  std::map<std::pair<raft::NodeId, raft::Term>, std::vector<QueuedForward>> forwards_;  // by (leader, term)
  std::uint64_t max_msg_bytes_ = 0;                                                     // the Raft message cap
  std::uint64_t seed_ = 0;           // the node's election RNG seed (record() rebuilds the node with it)
  std::uint64_t forward_sends_ = 0;  // MSG_FORWARD messages sent (each carries one or more commands)
};

}  // namespace raftbgp::agent
