// Node, continued: InstallSnapshot (Raft paper §7), sent in chunks that each fit one transport message.
//
// The leader sends one chunk at a time and waits for MSG_SNAP_RESP, which carries the number of bytes
// the follower holds; a lost chunk is re-sent after the next heartbeat answer, a duplicated or stale
// one is answered with the follower's real offset, and a restart of either side starts again at
// offset 0. The follower answers the last chunk with MSG_APP_RESP at the snapshot's index, which moves
// the leader's Progress back to replication.
#include <algorithm>
#include <string>

#include "raftbgp/raft/node.h"

namespace raftbgp::raft {

std::optional<SnapshotMetadata> Node::snapshot_metadata_at_applied() const {
  const Index applied = log_.applied();
  if (applied == 0 || applied < log_.first_index() - 1) return std::nullopt;
  // The committed configuration is the one at the commit index, which is the one at the applied index
  // only when nothing committed is still unapplied.
  if (log_.committed() != applied) return std::nullopt;
  SnapshotMetadata meta;
  meta.set_index(applied);
  meta.set_term(log_.term_or_zero(applied));
  // The configuration as of the commit index, which here is the applied index.
  for (NodeId v : committed_voters_) meta.mutable_conf_state()->add_voters(v);
  for (NodeId l : committed_learners_) meta.mutable_conf_state()->add_learners(l);
  return meta;
}

void Node::send_snapshot_chunk(NodeId to, Progress& pr) {
  const Index newest = storage_.snapshot_metadata().index();
  if (!outgoing_snapshot_ || outgoing_snapshot_->meta.index() != newest) {
    outgoing_snapshot_ = storage_.snapshot();
    if (!outgoing_snapshot_) RAFT_PANIC("entries were compacted but the storage holds no snapshot");
  }
  const Snapshot& snap = *outgoing_snapshot_;
  if (pr.state != Progress::State::kSnapshot || pr.pending_snapshot != snap.meta.index()) {
    pr.become_snapshot(snap.meta.index());
  }
  // Each chunk leaves room for the message's own fields and the metadata (it carries the configuration).
  const std::uint64_t room = max_msg_bytes_ - 96 - snap.meta.ByteSizeLong();
  const std::uint64_t chunk = std::max<std::uint64_t>(room, 64);
  const std::uint64_t offset = std::min<std::uint64_t>(pr.snapshot_offset, snap.data.size());
  const std::uint64_t len = std::min<std::uint64_t>(chunk, snap.data.size() - offset);
  Message m;
  m.set_type(raftbgp::v1::MSG_SNAP);
  m.set_to(to);
  *m.mutable_snapshot() = snap.meta;
  m.set_snapshot_offset(offset);
  m.set_snapshot_data(snap.data.substr(offset, len));
  m.set_snapshot_done(offset + len == snap.data.size());
  pr.probe_sent = true;  // one chunk in flight
  pr.ticks_since_chunk = 0;
  send(std::move(m));
}

void Node::handle_snapshot_response(const Message& m, Progress& pr) {
  if (pr.state != Progress::State::kSnapshot || m.index() != pr.pending_snapshot) return;  // stale
  // While a chunk is in flight, an answer that reports the offset we already know is an echo of an
  // earlier chunk (a duplicate, or a re-send after a session reset): acting on it would start a second
  // stream of chunks, and every duplicate would breed more.
  if (pr.probe_sent && m.snapshot_offset() == pr.snapshot_offset) return;
  // Otherwise the follower's byte count is the truth: it resumes after loss and restarts at 0 after a
  // restart of the follower.
  pr.snapshot_offset = m.snapshot_offset();
  pr.probe_sent = false;
  send_append(m.from());
}

void Node::handle_snapshot(const Message& m) {
  const SnapshotMetadata& meta = m.snapshot();
  Message r;
  r.set_to(m.from());
  if (meta.index() <= log_.committed()) {
    // Already have everything it holds (a re-sent chunk after the install, or a stale transfer).
    incoming_snapshot_.reset();
    r.set_type(raftbgp::v1::MSG_APP_RESP);
    r.set_index(log_.committed());
    send(std::move(r));
    return;
  }
  if (m.snapshot_offset() == 0) incoming_snapshot_ = Snapshot{meta, std::string()};
  const bool same = incoming_snapshot_ && incoming_snapshot_->meta.index() == meta.index() &&
                    incoming_snapshot_->meta.term() == meta.term();
  r.set_type(raftbgp::v1::MSG_SNAP_RESP);
  r.set_index(meta.index());
  if (!same || m.snapshot_offset() != incoming_snapshot_->data.size()) {
    r.set_snapshot_offset(same ? incoming_snapshot_->data.size() : 0);
    r.set_reject(true);
    send(std::move(r));
    return;
  }
  incoming_snapshot_->data.append(m.snapshot_data());
  if (!m.snapshot_done()) {
    r.set_snapshot_offset(incoming_snapshot_->data.size());
    send(std::move(r));
    return;
  }
  Snapshot snap = std::move(*incoming_snapshot_);
  incoming_snapshot_.reset();
  r.set_type(raftbgp::v1::MSG_APP_RESP);
  r.set_index(meta.index());
  if (log_.match_term(meta.index(), meta.term())) {
    // §7 rule 6: our log already holds the snapshot's last entry; keep what follows, just commit.
    log_.commit_to(meta.index());
    send(std::move(r));
    return;
  }
  // §7 rules 7–8: discard the log, adopt the snapshot's state and configuration.
  log_.restore(meta);
  committed_voters_.assign(meta.conf_state().voters().begin(), meta.conf_state().voters().end());
  committed_learners_.assign(meta.conf_state().learners().begin(), meta.conf_state().learners().end());
  std::sort(committed_voters_.begin(), committed_voters_.end());
  std::sort(committed_learners_.begin(), committed_learners_.end());
  pending_conf_.clear();
  recompute_configuration();
  ready_snapshot_ = std::move(snap);
  send(std::move(r));  // leaves only after the Ready that persists the snapshot
}

}  // namespace raftbgp::raft
