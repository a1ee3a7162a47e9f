// Node: one Raft peer as a pure, deterministic state machine (Raft paper §5, thesis §3, §6, §9).
//
// No IO, no clock, no threads. Time enters only through tick(); randomness only through the seed in
// Config. The same sequence of calls on the same storage contents always yields the same Ready batches.
//
// The driver's contract (the ready loop), which the core relies on for safety:
//
//   loop:
//     feed inputs: tick() every tick interval, step(m) for each message received, propose(data)
//     if has_ready():
//       Ready rd = ready();
//       1. PERSIST: persist(storage, rd.snapshot, rd.hard_state, rd.entries)  -- fsync'd before
//                   anything leaves; a snapshot also replaces the state machine (restore from its data)
//       2. SEND:    rd.messages (any order, any loss: the core tolerates a lossy network)
//       3. APPLY:   rd.committed_entries, in index order, to the state machine
//       4. advance(rd)
//
// Step 1 before step 2 is what makes a vote or an acknowledgement a promise (§5.1: "updated on
// stable storage before responding to RPCs"). Calling ready() twice without advance() aborts.
//
// Parallel persistence (thesis §10.2.1): when rd.send_before_persist is true, the driver MAY do step 2
// before (or while) step 1 runs, so the leader's AppendEntries leave before its own fsync. It is true
// only on a leader whose Ready changes neither term nor vote and carries no snapshot: then no message
// promises anything about this node's durable state (AppendEntries and heartbeats carry the leader's
// entries and commit index, not an acknowledgement). The leader counts itself in the quorum only for
// entries it has persisted: its own match rises in advance(), not when it appends, so an entry is
// committed only once a majority, the leader included or not, holds it durably. A leader that crashes
// between send and fsync loses entries its followers may hold; they were never committed on its count,
// and it cannot lead that term again (its vote is durable), so no other entry can take their (index,
// term). Steps 3 and 4 stay after step 1 in every case. A driver may always ignore the flag.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "raftbgp/raft/log.h"
#include "raftbgp/raft/progress.h"
#include "raftbgp/raft/storage.h"
#include "raftbgp/raft/types.h"

namespace raftbgp::raft {

struct Config {
  NodeId id = kNoNode;
  // The cluster's bootstrap configuration: the initial voters (and learners). It is the base on which
  // the committed configuration changes in the log are applied (a snapshot's conf_state replaces it
  // once the log is compacted). Every member, and every router that joins later, is given the same
  // bootstrap list; a node that is not in it starts as a non-member and neither votes nor campaigns
  // until a committed change adds it ("new routers start with an empty configuration").
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;
  // Ticks of silence before a follower starts an election; the actual timeout is drawn uniformly from
  // [election_ticks, 2 * election_ticks) at every reset (§5.2). Must exceed heartbeat_ticks.
  int election_ticks = 10;
  // Ticks between leader heartbeats.
  int heartbeat_ticks = 1;
  // Seed of the injected RNG that draws election timeouts. Give each node a different seed.
  std::uint64_t seed = 1;
  // Upper bound on the serialized size of one Message (Message::ByteSizeLong), so that one
  // AppendEntries always fits one transport message. propose() refuses data that cannot fit.
  std::uint64_t max_msg_bytes = std::uint64_t{64} * 1024;
  // Pipelining caps per follower in the replicate state: AppendEntries messages in flight, and the
  // bytes of entries they carry.
  std::size_t max_inflight_msgs = 64;
  std::uint64_t max_inflight_bytes = std::uint64_t{1024} * 1024;
  // Thesis §9.6: a candidate first asks whether it could win, without disturbing anyone's term.
  bool pre_vote = true;
  // Thesis §6.2: a leader that has not heard from a quorum within an election timeout steps down, and
  // a follower that heard from a leader within the election timeout ignores vote requests.
  bool check_quorum = true;
  // Index of the last entry the state machine has already applied (after a restart from a snapshot of
  // the state machine). Committed entries above it are handed out again.
  Index applied = 0;
};

enum class Role { kFollower, kPreCandidate, kCandidate, kLeader };
const char* role_name(Role r);

// Outcome of propose(). Expected outcomes are values, not exceptions (STYLE.md, habit 5).
struct ProposeResult {
  enum class Status {
    kAccepted,      // appended at `index` in `term`; committed later, or overwritten if leadership is lost
    kNotLeader,     // this node is not the leader; `leader` is the one it knows (kNoNode if none)
    kTooLarge,      // the entry cannot fit in one message of max_msg_bytes
    kTransferring,  // the leader is handing leadership over and accepts no proposals
    // propose_conf_change only:
    kConfChangePending,  // a configuration change is in the log and not yet committed
    kNotReady,           // the leader has not yet committed an entry of its term (2015 fix, see below)
    kInvalid             // the change makes no sense for the current configuration
  };
  Status status = Status::kNotLeader;
  Index index = 0;
  Term term = 0;
  NodeId leader = kNoNode;
};

// Why step() dropped a message, counted per reason.
enum class DropReason {
  kUnknownType,  // type not known to this version, or a local-only type from the network
  kNotForMe,     // `to` is not this node
  kMalformed,    // impossible indexes: non-contiguous entries, entry terms above the message term...
  kStaleTerm,    // older term, ignored per §5.1
  kUnknownPeer,  // a response from a node that is not a member
  kInLease,      // a vote request ignored because a leader is known (thesis §4.2.3 / §6.2)
  kUnexpected,   // valid, but meaningless in this role (e.g. an AppendEntries response to a follower)
  // Authenticated but impossible from an honest leader: it contradicts this node's committed log (an
  // entry, prevLogTerm or snapshot term that differs from a committed entry), or claims a commit index
  // past the log. Proof of a broken or malicious peer; the log is left as it was.
  kContradictsLog,
  kNotLeader,  // TimeoutNow from a node that is not the known leader of the current term
  kCount_
};
const char* drop_reason_name(DropReason r);

// The answer to a ReadIndex request (thesis §6.4): once the state machine has applied `index`, a read
// tagged `context` may be served and is linearizable. `refused` means the leader could not serve it
// yet (its term's no-op had not committed); the caller may retry.
struct ReadState {
  Index index = 0;
  std::string context;
  bool refused = false;
};

// Outcome of read_index().
enum class ReadIndexResult {
  kPending,    // a ReadState with this context will appear in a later Ready (or never, if leadership
               // changes or the request is lost: the caller times out and retries)
  kNotLeader,  // no leader is known
  kNotReady,   // this node leads but has not committed an entry of its term yet
};

// Outcome of transfer_leader().
enum class TransferResult { kStarted, kNotLeader, kNotVoter, kAlreadyLeader };

struct Ready {
  // Set when term, vote or commit changed since the last Ready. Persist before sending.
  std::optional<HardState> hard_state;
  // New log entries to persist. entries.front().index may be <= storage.last_index(): the driver then
  // truncates the storage from there first (persist() does).
  std::vector<Entry> entries;
  // Messages to send after persisting.
  std::vector<Message> messages;
  // Entries known committed, in order, to apply after persisting.
  std::vector<Entry> committed_entries;
  // The known leader and this node's role, when they changed since the last Ready (informational).
  std::optional<std::pair<NodeId, Role>> soft_state;
  // Answers to read_index() requests, in request order.
  std::vector<ReadState> read_states;
  // A snapshot received from the leader (InstallSnapshot, §7): persist it first, then replace the state
  // machine with its data. Committed entries after it come in later Readys.
  std::optional<Snapshot> snapshot;
  // The messages may be sent before this Ready is persisted (parallel persistence, see the top of this
  // file). False: persist first.
  bool send_before_persist = false;
};

struct PeerStatus {
  NodeId id = kNoNode;
  bool voter = true;
  Index match = 0;
  Index next = 0;
  const char* state = "";
  // Ticks since the leader last heard from this peer (0 for itself); only meaningful on a leader.
  std::uint64_t ticks_since_contact = 0;
};

struct Status {
  NodeId id = kNoNode;
  Role role = Role::kFollower;
  Term term = 0;
  NodeId vote = kNoNode;
  NodeId leader = kNoNode;
  Index commit = 0;
  Index applied = 0;
  Index first_index = 0;
  Index last_index = 0;
  std::vector<PeerStatus> peers;  // the leader's view of replication; only the self row elsewhere
  std::vector<NodeId> voters;     // the configuration in force
  std::vector<NodeId> learners;
  std::uint64_t dropped[static_cast<int>(DropReason::kCount_)] = {};
};

class Node {
 public:
  // Restores term, vote and commit from storage.hard_state() and the log from storage. The Storage is
  // read by the node and written by the driver; it must outlive the node. Invalid config aborts.
  Node(const Config& config, const Storage& storage);

  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Advances logical time by one tick: election timeout for followers and candidates, heartbeats and
  // the check-quorum round for the leader.
  void tick();

  // Feeds one message from the network (or a local event: MSG_HUP, MSG_BEAT, MSG_CHECK_QUORUM with
  // term 0). A message that is malformed, stale, or not for this node is dropped and counted under a
  // DropReason; the return value is the reason, or nullopt when the message was processed.
  std::optional<DropReason> step(const Message& m);

  // Appends `data` as a normal entry if this node is the leader. See ProposeResult.
  ProposeResult propose(std::string data);

  // Proposes one membership change (thesis §4.1, one server at a time): add a learner, promote a learner,
  // add or remove a voter. As in the thesis, a node uses the newest configuration in its log, committed
  // or not (an overwritten change is undone with its entry). The leader
  // refuses a change while another is uncommitted, and until it has committed an entry of its own term:
  // the fix of Ongaro's 2015 raft-dev note, without which two one-at-a-time changes in consecutive terms
  // can lead to two disjoint majorities. Removing the leader makes it step down once committed.
  ProposeResult propose_conf_change(const raftbgp::v1::ConfChange& cc);

  // ReadIndex (thesis §6.4): records the commit index, confirms leadership with one round of heartbeats
  // tagged `context`, then emits ReadState{index, context} in a Ready. On a follower, the request goes to
  // the leader as MSG_READ_INDEX and the ReadState arrives with its answer. `context` must be unique
  // among outstanding requests. Never served before the leader's no-op of its term has committed.
  ReadIndexResult read_index(std::string context);

  // Leadership transfer (thesis §3.10): stop taking proposals, bring `target` up to date, send it
  // MSG_TIMEOUT_NOW. Abandoned after an election timeout if the target has not taken over.
  TransferResult transfer_leader(NodeId target);

  // Quiescence (docs/architecture.md §3 "Quiet when idle"; CockroachDB's quiesced ranges). The core keeps no
  // quiescent state: the driver decides when to stop calling tick(), and these two tell it when that is safe.
  //   quiescable(): this node leads and has nothing to do: no transfer, no ReadIndex round, no broadcast pending,
  //     commit == last index (so its term's no-op and every configuration change are committed), and every
  //     follower and learner either matches the last index in kReplicate or has not been heard from for an
  //     election timeout (a dead peer does not keep the cluster awake; when it answers again it no longer
  //     matches, so quiescable() turns false and the driver wakes).
  //   quiesce(): when quiescable(), one heartbeat to every follower and learner marked Message.quiesce, carrying
  //     the commit index (so caught-up followers learn the final commit); false and nothing sent otherwise.
  //     The driver stops ticking the leader after it, and followers that received it stop their election
  //     timers while the leader's presence lasts (the driver's rule). Any input after which quiescable() is
  //     false, or any message other than a heartbeat answer, must make the driver tick again. While not
  //     ticked, the leader's check-quorum round does not run either: it resumes with the ticks.
  bool quiescable() const;
  bool quiesce();

  // The configuration in force: the bootstrap (or snapshot) base with every change in the log applied.
  ConfState conf_state() const;

  // Log compaction (§7) is the driver's: when it decides the log is long enough, it serializes its state
  // machine and calls storage.save_snapshot({metadata, data}) with the metadata this returns for the
  // applied index. nullopt while a committed configuration change is ahead of the applied index (ask
  // again after the next Ready). The leader sends followers that need compacted entries the newest
  // snapshot in storage, in chunks of at most max_msg_bytes.
  std::optional<SnapshotMetadata> snapshot_metadata_at_applied() const;

  // Starts an election now (as if the election timer fired). No-op on a leader.
  void campaign();

  bool has_ready() const;
  // Hands out the next batch. Precondition: has_ready() (an empty Ready is fine otherwise) and the
  // previous Ready was advanced.
  Ready ready();
  // Acknowledges that `rd` was persisted, sent and applied (persisted and sent in either order when
  // rd.send_before_persist). A leader counts the entries it persisted towards the quorum here.
  void advance(const Ready& rd);

  Status status() const;

  NodeId id() const { return id_; }
  Role role() const { return role_; }
  // This node is a learner in the configuration it acts on (its log's, uncommitted changes included).
  bool learner() const { return is_learner(id_); }
  Term term() const { return term_; }
  NodeId leader() const { return lead_; }
  Index commit_index() const { return log_.committed(); }
  const RaftLog& log() const { return log_; }
  // The election timeout drawn for the current period, in ticks (for tests of §5.2 randomisation).
  int randomized_election_timeout() const { return randomized_election_timeout_; }

 private:
  // Role transitions (§5.2).
  void become_follower(Term term, NodeId lead);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void reset(Term term);
  void reset_randomized_election_timeout();

  void tick_election();
  void tick_heartbeat();

  enum class CampaignKind { kPreElection, kElection, kTransfer };
  void start_campaign(CampaignKind kind);
  // Records a (pre)vote response; returns granted and rejected counts.
  std::pair<std::size_t, std::size_t> poll(NodeId from, bool granted);

  // Term rules (§5.1) and dispatch, after validate() accepted the message.
  std::optional<DropReason> step_validated(const Message& m);
  // Per-role message handlers (one function per message type, STYLE habit 8).
  std::optional<DropReason> step_leader(const Message& m);
  std::optional<DropReason> step_candidate(const Message& m);
  std::optional<DropReason> step_follower(const Message& m);
  void handle_vote_request(const Message& m);
  void handle_append_entries(const Message& m);
  void handle_heartbeat(const Message& m);
  void handle_append_response(const Message& m, Progress& pr);
  void handle_heartbeat_response(Progress& pr, NodeId from, const std::string& context);
  void handle_read_index_request(const Message& m);
  void ack_read(NodeId from, const std::string& context);
  bool committed_in_current_term() const;
  // Membership: conf-change entries seen in the log but not yet applied, by index.
  // `appended` is a std::vector<Entry> or an AppendEntries' RepeatedPtrField<Entry> (node_admin.cc).
  template <class Entries>
  void track_conf_entries(const Entries& appended);
  void apply_committed_conf_changes();
  // voters_/learners_ = the committed configuration with every uncommitted change applied in log order;
  // a leader's Progress follows.
  void recompute_configuration();
  void add_progress(NodeId id);
  // InstallSnapshot (§7), in chunks that each fit one message.
  void send_snapshot_chunk(NodeId to, Progress& pr);
  void handle_snapshot(const Message& m);
  void handle_snapshot_response(const Message& m, Progress& pr);
  void handle_check_quorum();

  // Leader replication (§5.3).
  void append_entries(std::vector<Entry> entries);  // leader-local append in the current term
  // commit_news: new entries, or else the news of the commit index (commit-only to replicating followers), to
  // every follower; otherwise only to those with entries to receive. Aligned first (bcast_aligned), then each of
  // the others as far as its window allows.
  void bcast_append(bool commit_news = true);
  // Aligned broadcast (node.cc): one AppendEntries, identical but for `to`, for every replicating follower whose
  // missing entries fit one message from the lowest of their next indexes. Returns the followers it served.
  std::vector<NodeId> bcast_aligned();
  void bcast_heartbeat(const std::string& context = {});
  // The next AppendEntries for `to`. Empty ones only if send_if_empty; commit_news marks an empty one to a
  // replicating follower commit-only (no answer wanted). Never for a send that exists to draw an answer
  // (a probe, or the recovery after a heartbeat answer when acknowledgements were lost).
  bool send_append(NodeId to, bool send_if_empty = true, bool commit_news = false);
  // An AppendEntries (no `to`) with prevLogIndex from - 1 (whose term is prev_term), our commit, and the entries
  // from `from` on that fit max_msg_bytes; `bytes` receives their serialized size (for the in-flight window).
  Message append_from(Index from, Term prev_term, std::uint64_t& bytes) const;
  void send_heartbeat(NodeId to, const std::string& context, Index lagging_commit);
  // The commit a heartbeat carries to a follower that does not hold our commit index (node.cc).
  Index lagging_commit() const;
  // Followers and learners: every member but this node.
  std::vector<NodeId> replication_targets() const;
  bool maybe_commit();
  void send(Message m);

  std::optional<DropReason> validate(const Message& m) const;
  // Authenticated input no honest leader sends (node_follower.cc): AppendEntries, a heartbeat or a
  // snapshot that contradicts our committed log or claims a commit past it. kContradictsLog or nullopt.
  std::optional<DropReason> contradicts_log(const Message& m) const;
  // TimeoutNow is obeyed only from the known leader of the current term, by a voter (thesis §3.10).
  std::optional<DropReason> check_timeout_now(const Message& m) const;
  HardState hard_state() const;
  std::size_t quorum() const { return voters_.size() / 2 + 1; }
  bool is_learner(NodeId id) const;
  // Ticks after which an unanswered probe, snapshot chunk or final AppendEntries is sent again.
  std::uint64_t retransmit_ticks() const { return static_cast<std::uint64_t>(std::max(2, election_ticks_ / 2)); }
  bool is_voter(NodeId id) const;
  // A voter of the configuration in force may campaign, and so may a voter of the committed one whose
  // removal is not committed yet: it may hold the newest log, and without it the remaining voters could
  // wait forever for its vote (it then counts votes of the new configuration only).
  bool promotable() const;

  NodeId id_;
  std::vector<NodeId> voters_;            // sorted; the configuration in force (see propose_conf_change)
  std::vector<NodeId> learners_;          // sorted, disjoint from voters_
  std::vector<NodeId> committed_voters_;  // the configuration as of the commit index
  std::vector<NodeId> committed_learners_;
  std::map<Index, std::pair<Term, raftbgp::v1::ConfChange>> pending_conf_;  // uncommitted, in the log
  Index pending_conf_index_ = 0;  // leader: index of the last conf change it appended
  struct ReadRequest {
    Index index;
    std::string context;
    NodeId from;
    std::vector<NodeId> acks;
  };
  std::deque<ReadRequest> read_requests_;  // leader only, in arrival order
  std::vector<ReadState> read_states_;
  int election_ticks_;
  int heartbeat_ticks_;
  std::uint64_t max_msg_bytes_;
  std::size_t max_inflight_msgs_;
  std::uint64_t max_inflight_bytes_;
  bool pre_vote_;
  bool check_quorum_;

  Term term_ = 0;
  NodeId vote_ = kNoNode;
  NodeId lead_ = kNoNode;
  Role role_ = Role::kFollower;
  const Storage& storage_;
  RaftLog log_;
  std::optional<Snapshot> incoming_snapshot_;  // follower: chunks received so far
  std::optional<Snapshot> ready_snapshot_;     // follower: complete, to hand out in the next Ready
  std::optional<Snapshot> outgoing_snapshot_;  // leader: the storage snapshot being sent
  std::map<NodeId, Progress> progress_;        // leader only; ordered for determinism
  std::map<NodeId, bool> votes_;               // candidate only
  std::vector<Message> msgs_;
  NodeId lead_transferee_ = kNoNode;

  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;
  std::mt19937_64 rng_;

  HardState prev_hard_state_;
  std::pair<NodeId, Role> prev_soft_state_{kNoNode, Role::kFollower};
  bool ready_outstanding_ = false;
  // Leader: new entries or a new commit index wait to be broadcast at the next ready(), so that every
  // proposal and acknowledgement handled in between shares one AppendEntries per follower.
  bool bcast_pending_ = false;
  // Leader: a follower acknowledged and has more entries to receive; they leave at the next ready() with the
  // broadcast's alignment instead of one AppendEntries per acknowledgement (handle_append_response).
  bool append_pending_ = false;
  std::uint64_t dropped_[static_cast<int>(DropReason::kCount_)] = {};
};

}  // namespace raftbgp::raft
