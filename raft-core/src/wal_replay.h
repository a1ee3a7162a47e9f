// Private to WalStorage: open() and crash recovery (the "Recovery" paragraph of wal_storage.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
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
  std::optional<WalError> scan_dir(std::vector<std::uint64_t>& seqs);
  std::optional<WalError> load_hard_state();
  // Replays one segment. For the last one, a torn tail stops the replay at `good_end` (< `size`).
  std::optional<WalError> replay_segment(std::uint64_t seq, bool last, std::size_t& good_end,
                                         std::size_t& size);
  // Applies one intact record to the log; returns why it is impossible, if it is.
  std::optional<std::string> apply(const wal::DecodedRecord& record);
  std::optional<WalError> open_tail(std::uint64_t seq, std::size_t good_end, std::size_t size);

  std::string path_of(std::uint64_t seq) const;

  WalStorage& s_;
  OpenReport& report_;
};

}  // namespace raftbgp::raft
