// AgentCore's linearizable reads through ReadIndex (Raft thesis §6.4; agent_core.h "Reads"): no log
// entry, one heartbeat round on the leader (or a MSG_READ_INDEX round trip from a follower), then the
// local state machine answers once it has applied the read index.
//
// Batching: reads share rounds. At most ONE Node::read_index round is in flight per node; every read
// that arrives meanwhile waits and joins the next round, issued when the current one answers (at the end
// of the ready loop, serve_reads) or is given up as lost. So a flood of reads costs at most one heartbeat
// broadcast (or one MSG_READ_INDEX) per round trip, never one per read: reads cannot fill the transport's
// send queue and push out heartbeats and AppendEntries. Linearizability holds: a read joins a round
// issued after it arrived, and that round's index is at least the commit index at that moment.
#include "raftbgp/agent/agent_core.h"
#include "raftbgp/agent/log.h"

namespace raftbgp::agent {

void AgentCore::start_read(std::uint64_t request_id, PendingRead read) {
  auto [it, inserted] = reads_.emplace(request_id, std::move(read));
  RAFT_ASSERT(inserted);
  // Joins the next round; the ready loop issues it (serve_reads), after everything of this burst.
  request_ready();
}

void AgentCore::issue_read_round() {
  if (!read_contexts_.empty()) return;  // one round in flight at a time
  std::vector<PendingRead*> waiting;
  for (auto& [id, read] : reads_)
    if (!read.index && read.context.empty()) waiting.push_back(&read);
  if (waiting.empty()) return;
  // Unique among outstanding rounds, also across restarts (request ids carry the epoch).
  std::string ctx = std::to_string(config_.node_id) + "/" + std::to_string(next_request_++);
  recorder_.read_index(ctx);
  const raft::ReadIndexResult r = node_->read_index(ctx);
  for (PendingRead* read : waiting) {
    ++read->attempts;
    switch (r) {
      case raft::ReadIndexResult::kPending:
        read->context = ctx;
        read->issued_tick = tick_;
        break;
      case raft::ReadIndexResult::kNotLeader:
        read->last_refusal = {ErrorCode::kNoLeader, "no leader known (election in progress?)"};
        break;
      case raft::ReadIndexResult::kNotReady:
        read->last_refusal = {ErrorCode::kNotReady, "the leader has not committed an entry of its term yet"};
        break;
    }
  }
  if (r != raft::ReadIndexResult::kPending) return;  // retried at the next tick
  read_contexts_[std::move(ctx)] = tick_;
  request_ready();  // the round's heartbeats (or MSG_READ_INDEX) leave in the next ready loop
}

// Ends the round `ctx` for the reads in it: they get `index`, or wait for the next round.
void AgentCore::end_read_round(const std::string& ctx, std::optional<raft::Index> index, const char* why) {
  read_contexts_.erase(ctx);
  for (auto& [id, read] : reads_) {
    if (read.context != ctx) continue;
    read.context.clear();
    if (index) {
      read.index = *index;
    } else {
      read.last_refusal = {ErrorCode::kNotReady, why};
    }
  }
}

void AgentCore::on_read_states(const std::vector<raft::ReadState>& states) {
  for (const raft::ReadState& rs : states) {
    if (!read_contexts_.contains(rs.context)) continue;  // a round given up as lost
    if (rs.refused) {
      ++read_index_retries_;
      end_read_round(rs.context, std::nullopt, "the leader refused the read (its term's no-op has not committed yet)");
    } else {
      end_read_round(rs.context, rs.index, "");
    }
  }
}

void AgentCore::serve_reads() {
  std::vector<std::pair<ReplyFn, ClientResponse>> answers;
  for (auto it = reads_.begin(); it != reads_.end();) {
    if (!it->second.index || *it->second.index > sm_.applied_index()) {
      ++it;
      continue;
    }
    answers.emplace_back(std::move(it->second.reply), read_response(it->second.read, *it->second.index));
    it = reads_.erase(it);
    ++reads_served_;
  }
  issue_read_round();  // the reads that waited for the round that just answered
  for (auto& [fn, response] : answers) fn(std::move(response));
}

void AgentCore::retry_reads() {
  std::vector<std::pair<ReplyFn, ClientResponse>> answers;
  for (auto it = reads_.begin(); it != reads_.end();) {
    PendingRead& read = it->second;
    if (read.deadline_tick > tick_) {
      ++it;
      continue;
    }
    const Refusal& last = read.last_refusal;
    const std::string why = last.message.empty() ? "no ReadIndex answer within the timeout" : last.message;
    answers.emplace_back(std::move(read.reply), error_response(last.code, why + "; nothing changed: retry the read"));
    it = reads_.erase(it);
  }
  // A round unanswered for an election timeout (the request or its answer was lost, or leadership
  // moved) is given up; its reads join a new round under a new context. Refused or never-sent reads
  // are retried every tick.
  if (!read_contexts_.empty()) {
    const auto& [ctx, issued] = *read_contexts_.begin();
    if (tick_ - issued >= static_cast<std::uint64_t>(config_.election_ticks)) {
      ++read_index_retries_;
      end_read_round(std::string(ctx), std::nullopt, "no ReadIndex answer (lost, or leadership moved)");
    }
  }
  issue_read_round();
  for (auto& [fn, response] : answers) fn(std::move(response));
}

}  // namespace raftbgp::agent
