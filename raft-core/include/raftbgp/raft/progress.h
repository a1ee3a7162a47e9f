// Progress: the leader's record of one follower's replication (§5.3 nextIndex/matchIndex), with the
// flow control that makes AppendEntries pipelining safe over a lossy, reordering transport.
//
//  kProbe:     we do not know where the follower's log matches; send one AppendEntries per heartbeat
//              interval and wait for the answer (the conflict hint moves `next` back quickly).
//  kReplicate: the follower's log matches at `match`; stream entries optimistically (next = last sent
//              + 1), bounded by Inflights in messages and in bytes.
//  kSnapshot:  the entries the follower needs were compacted; send the snapshot (§7) in chunks, one at a
//              time (probe_sent = a chunk is out), resuming at the offset the follower reports.
#pragma once

#include <cstdint>
#include <deque>

#include "raftbgp/raft/types.h"

namespace raftbgp::raft {

class Inflights {
 public:
  Inflights(std::size_t max_msgs, std::uint64_t max_bytes) : max_msgs_(max_msgs), max_bytes_(max_bytes) {}
  void add(Index last, std::uint64_t bytes);
  // Frees every in-flight message whose last index is <= `to` (they were acknowledged).
  void free_le(Index to);
  void free_first_one();
  bool full() const { return items_.size() >= max_msgs_ || bytes_ >= max_bytes_; }
  std::size_t count() const { return items_.size(); }
  std::uint64_t bytes() const { return bytes_; }
  void reset() {
    items_.clear();
    bytes_ = 0;
  }

 private:
  struct Item {
    Index last;
    std::uint64_t bytes;
  };
  std::deque<Item> items_;
  std::uint64_t bytes_ = 0;
  std::size_t max_msgs_;
  std::uint64_t max_bytes_;
};

struct Progress {
  enum class State { kProbe, kReplicate, kSnapshot };

  Progress(Index next_index, std::size_t max_inflight_msgs, std::uint64_t max_inflight_bytes)
      : next(next_index), inflights(max_inflight_msgs, max_inflight_bytes) {}

  Index match = 0;
  Index next = 1;
  State state = State::kProbe;
  bool probe_sent = false;            // kProbe: one AppendEntries is out, wait for its answer or a heartbeat
  bool recent_active = false;         // heard from within this election timeout (CheckQuorum)
  Index pending_snapshot = 0;         // kSnapshot: index of the snapshot being sent
  std::uint64_t snapshot_offset = 0;  // kSnapshot: bytes the follower has acknowledged
  // kProbe/kSnapshot: ticks since the probe or chunk in flight was sent; kReplicate: since new entries were last sent.
  std::uint64_t ticks_since_chunk = 0;
  std::uint64_t ticks_since_contact = 0;
  Inflights inflights;

  // An acknowledgement up to `n`: raise match (and next). False if it told us nothing new.
  bool maybe_update(Index n);
  // A rejection of the AppendEntries whose prevLogIndex was `rejected`; `match_hint` is the index the
  // follower (or our find_conflict_by_term) says to try next. False if the rejection is stale.
  bool maybe_decr_to(Index rejected, Index match_hint);
  void become_probe();
  void become_replicate();
  void become_snapshot(Index snapshot_index);
  // Records that entries up to `last` (total `bytes`) were sent in one AppendEntries.
  void sent_entries(Index last, std::uint64_t bytes);
  bool is_paused() const;
  const char* state_name() const;
};

}  // namespace raftbgp::raft
