#include "raftbgp/raft/progress.h"

#include <algorithm>

namespace raftbgp::raft {

void Inflights::add(Index last, std::uint64_t bytes) {
  RAFT_ASSERT(items_.empty() || items_.back().last < last);
  items_.push_back({last, bytes});
  bytes_ += bytes;
}

void Inflights::free_le(Index to) {
  while (!items_.empty() && items_.front().last <= to) {
    bytes_ -= items_.front().bytes;
    items_.pop_front();
  }
}

void Inflights::free_first_one() {
  if (items_.empty()) return;
  bytes_ -= items_.front().bytes;
  items_.pop_front();
}

bool Progress::maybe_update(Index n) {
  bool updated = false;
  if (match < n) {
    match = n;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, n + 1);
  return updated;
}

bool Progress::maybe_decr_to(Index rejected, Index match_hint) {
  // While a snapshot is on its way, rejections of older AppendEntries say nothing new.
  if (state == State::kSnapshot) return false;
  if (state == State::kReplicate) {
    // A rejection at or below match is stale (we already know the log matches there).
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  // kProbe: only the answer to the probe we sent (prevLogIndex == next - 1) counts.
  if (next == 0 || next - 1 != rejected) return false;
  next = std::max(std::min(rejected, match_hint + 1), match + 1);
  probe_sent = false;
  return true;
}

void Progress::become_probe() {
  state = State::kProbe;
  next = match + 1;
  probe_sent = false;
  inflights.reset();
}

void Progress::become_snapshot(Index snapshot_index) {
  state = State::kSnapshot;
  pending_snapshot = snapshot_index;
  snapshot_offset = 0;
  probe_sent = false;
  inflights.reset();
}

void Progress::become_replicate() {
  state = State::kReplicate;
  next = match + 1;
  probe_sent = false;
  inflights.reset();
}

void Progress::sent_entries(Index last, std::uint64_t bytes) {
  if (state == State::kReplicate) {
    if (last >= next) {
      next = last + 1;
      inflights.add(last, bytes);
      ticks_since_chunk = 0;
    }
  } else {
    probe_sent = true;
    ticks_since_chunk = 0;
  }
}

bool Progress::is_paused() const { return state == State::kReplicate ? inflights.full() : probe_sent; }

const char* Progress::state_name() const {
  switch (state) {
    case State::kProbe: return "probe";
    case State::kReplicate: return "replicate";
    case State::kSnapshot: return "snapshot";
  }
  return "?";
}

}  // namespace raftbgp::raft
