// Private to WalStorage: open() and crash recovery (the "Recovery" paragraph of wal_storage.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "raftbgp/raft/wal_storage.h"
#include "wal_format.h"

namespace raftbgp::raft {

// Rebuilds one WalStorage's in-memory state from its directory. A friend of WalStorage; lives only
// for the duration of WalStorage::open.
class WalReplay {
 public:
  static WalOpenResult open(std::string dir, WalOptions options);

 private:
  WalReplay(WalStorage& storage, OpenReport& report) : s_(storage), report_(report) {}

  std::optional<WalError> run();
  std::optional<WalError> scan_dir(std::vector<std::uint64_t>& seqs, std::vector<Index>& snaps);
  // Reads the hardstate file. A missing one is only legitimate in a directory without WAL segments (a new
  // node): run() refuses it otherwise, since "term 0, no vote" could let this node vote twice in a term.
  std::optional<WalError> load_hard_state();
  // Loads and checks the metadata of the snapshot of `index` into the storage (0: no snapshot).
  std::optional<WalError> load_snapshot(Index index);
  // Replays every segment on top of the loaded snapshot, from a clean slate (it may run twice, see
  // run()). `good_end` and `size` describe the last segment.
  std::optional<WalError> replay_segments(const std::vector<std::uint64_t>& seqs, std::size_t& good_end,
                                          std::size_t& size);
  // Replays one segment. For the last one, a torn tail stops the replay at `good_end` (< `size`).
  std::optional<WalError> replay_segment(std::uint64_t seq, bool last, std::size_t& good_end, std::size_t& size);
  // Applies one intact record to the log; returns why it is impossible, if it is. One function per
  // record type.
  std::optional<std::string> apply(const wal::DecodedRecord& record);
  std::optional<std::string> apply_entry(std::string_view payload);
  std::optional<std::string> apply_truncate(std::string_view payload);
  std::optional<std::string> apply_commit(std::string_view payload);
  std::optional<std::string> apply_snapshot(std::string_view payload);
  // Snapshot files that no SNAPSHOT record names (save_snapshot crashed before recording them):
  // deletes them, durably, once the state before them has replayed.
  std::optional<WalError> remove_unrecorded_snapshots(const std::vector<Index>& snaps);
  std::optional<WalError> open_tail(std::uint64_t seq, std::size_t good_end, std::size_t size);

  std::string path_of(std::uint64_t seq) const;

  WalStorage& s_;
  OpenReport& report_;
  bool recorded_ = false;  // the loaded snapshot's own SNAPSHOT record has been replayed
  bool hard_state_found_ = false;
};

}  // namespace raftbgp::raft
