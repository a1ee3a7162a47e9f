// AgentCore's linearizable reads through ReadIndex (Raft thesis §6.4; agent_core.h "Reads"): no log
// entry, one heartbeat round on the leader (or a MSG_READ_INDEX round trip from a follower), then the
// local state machine answers once it has applied the read index.
#include "raftbgp/agent/agent_core.h"
#include "raftbgp/agent/log.h"

namespace raftbgp::agent {
namespace {

ClientResponse error(std::string code, std::string message) {
  ClientResponse r;
  r.code = std::move(code);
  r.message = std::move(message);
  return r;
}

}  // namespace

void AgentCore::start_read(std::uint64_t request_id, PendingRead read) {
  auto [it, inserted] = reads_.emplace(request_id, std::move(read));
  RAFT_ASSERT(inserted);
  issue_read(request_id, it->second);
  request_ready();
}

void AgentCore::issue_read(std::uint64_t request_id, PendingRead& read) {
  if (!read.context.empty()) read_contexts_.erase(read.context);
  read.context.clear();
  ++read.attempts;
  // Unique among outstanding requests, also across restarts (the request id carries the epoch).
  std::string ctx = std::to_string(config_.node_id) + "/" + std::to_string(request_id) + "/" +
                    std::to_string(read.attempts);
  switch (node_->read_index(ctx)) {
    case raft::ReadIndexResult::kPending:
      read.context = ctx;
      read.issued_tick = tick_;
      read_contexts_[std::move(ctx)] = request_id;
      return;
    case raft::ReadIndexResult::kNotLeader:
      read.last_code = "no_leader";
      read.last_error = "no leader known (election in progress?)";
      return;
    case raft::ReadIndexResult::kNotReady:
      read.last_code = "not_ready";
      read.last_error = "the leader has not committed an entry of its term yet";
      return;
  }
}

void AgentCore::on_read_states(const std::vector<raft::ReadState>& states) {
  for (const raft::ReadState& rs : states) {
    auto c = read_contexts_.find(rs.context);
    if (c == read_contexts_.end()) continue;  // an abandoned attempt, or answered already
    auto it = reads_.find(c->second);
    read_contexts_.erase(c);
    if (it == reads_.end()) continue;
    PendingRead& read = it->second;
    read.context.clear();  // a refused attempt is re-issued at the next tick
    if (rs.refused) {
      ++read_index_retries_;
      read.last_code = "not_ready";
      read.last_error = "the leader refused the read (its term's no-op has not committed yet)";
      continue;
    }
    read.index = rs.index;
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
  for (auto& [fn, response] : answers) fn(std::move(response));
}

void AgentCore::retry_reads() {
  std::vector<std::pair<ReplyFn, ClientResponse>> answers;
  for (auto it = reads_.begin(); it != reads_.end();) {
    PendingRead& read = it->second;
    if (read.deadline_tick <= tick_) {
      if (!read.context.empty()) read_contexts_.erase(read.context);
      const std::string why = read.last_error.empty() ? "no ReadIndex answer within the timeout" : read.last_error;
      answers.emplace_back(std::move(read.reply), error(read.last_code, why + "; nothing changed: retry the read"));
      it = reads_.erase(it);
      continue;
    }
    // Refused or never sent: retry every tick. Sent but unanswered for an election timeout (the request
    // or its answer was lost, or leadership moved): re-issue under a new context.
    const bool lost = !read.context.empty() &&
                      tick_ - read.issued_tick >= static_cast<std::uint64_t>(config_.election_ticks);
    if (!read.index && (read.context.empty() || lost)) {
      if (lost) ++read_index_retries_;
      issue_read(it->first, read);
    }
    ++it;
  }
  for (auto& [fn, response] : answers) fn(std::move(response));
}

}  // namespace raftbgp::agent
