#include "raftbgp/raft/memory_storage.h"

#include <algorithm>

namespace raftbgp::raft {

HardState MemoryStorage::hard_state() const { return current_.hard_state; }

Index MemoryStorage::first_index() const { return 1; }

Index MemoryStorage::last_index() const { return current_.log.size(); }

std::optional<Term> MemoryStorage::term(Index index) const {
  if (index == 0) return Term{0};
  if (index > last_index()) return std::nullopt;
  return current_.log[index - 1].term();
}

std::vector<Entry> MemoryStorage::entries(Index lo, Index hi, std::uint64_t max_bytes) const {
  RAFT_ASSERT(lo >= first_index() && lo <= hi && hi <= last_index() + 1);
  std::vector<Entry> out;
  std::uint64_t bytes = 0;
  for (Index i = lo; i < hi; ++i) {
    const Entry& e = current_.log[i - 1];
    bytes += e.ByteSizeLong();
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

void MemoryStorage::store(std::span<const Entry> entries) {
  Index expect = last_index() + 1;
  if (!entries.empty()) unsynced_from_ = std::min(unsynced_from_, expect);
  for (const Entry& e : entries) {
    RAFT_ASSERT(e.index() == expect);
    current_.log.push_back(e);
    ++expect;
  }
}

void MemoryStorage::truncate(Index from) {
  RAFT_ASSERT(from >= first_index());
  RAFT_ASSERT(from > current_.hard_state.commit());
  if (from <= last_index()) {
    current_.log.resize(from - 1);
    unsynced_from_ = std::min(unsynced_from_, from);
  }
}

void MemoryStorage::save_hard_state(const HardState& hs) {
  RAFT_ASSERT(hs.commit() <= last_index());
  current_.hard_state = hs;
}

void MemoryStorage::sync() {
  synced_.hard_state = current_.hard_state;
  synced_.log.resize(std::min(synced_.log.size(), unsynced_from_ - 1));
  synced_.log.insert(synced_.log.end(), current_.log.begin() + static_cast<std::ptrdiff_t>(synced_.log.size()),
                     current_.log.end());
  unsynced_from_ = current_.log.size() + 1;
  ++sync_count_;
}

void MemoryStorage::drop_unsynced() {
  current_ = synced_;
  unsynced_from_ = current_.log.size() + 1;
}

}  // namespace raftbgp::raft
