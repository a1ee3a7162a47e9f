// Small files in the data dir, written atomically: write `<path>.tmp`, fsync it, rename over `path`, fsync
// the directory (Durability::kPowerLoss; kProcessCrash leaves out both fsyncs). A crash leaves either the old
// or the new content, never half of one; a leftover .tmp is overwritten by the next write.
//
// Boot counter (`<data_dir>/epoch`): decimal text. bump_epoch_file() takes an exclusive lock on
// `<path>.lock` (flock, held by the returned EpochLease for the life of the process, so two processes can
// never share a counter), reads the counter (missing = 0), adds one and writes it back atomically before
// returning: every process start uses a sender epoch never used before. Senders' replay windows (replay.h)
// refuse an epoch lower than one they have seen. Nonce uniqueness no longer rests on this file alone: each
// process also seals under a subkey of its own random boot id (crypto.h).
//
// This is the one implementation of the boot counter: raftbgpd (via bump_epoch) and raftbgp-ping both use
// it. It lives in the small `agent_files` library so raftbgp-ping need not link the agent; bgp_transport
// itself stays free of file IO other than key loading.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace raftbgp::agent {

// An IO failure with errno text and the path ("rename /var/lib/raftbgp/epoch.tmp: No space left").
struct FileError {
  std::string message;
};

// How long a file must outlive the process that wrote it.
enum class Durability {
  // Past a power loss: fsync the file and its directory (Raft state, replay windows, the boot counter).
  kPowerLoss,
  // Past a crash of this process only: write and rename, no fsync. For records of what ExaBGP holds in
  // memory (announced policy routes, used mailbox slots): a power loss also ends ExaBGP and clears its RIB
  // and the transits withdraw its routes, so a record lost with it describes nothing left to clean up,
  // and a damaged one is read as "nothing recorded" line by line. The kernel's page cache keeps a
  // renamed file whole for the next incarnation whatever way the process died.
  kProcessCrash,
};

// Creates `dir` (mode 0700) if missing; parents must exist.
std::optional<FileError> ensure_dir(const std::string& dir);
std::optional<FileError> atomic_write_file(const std::string& path, const std::string& content,
                                           Durability durability = Durability::kPowerLoss);
// nullopt content: the file does not exist.
std::variant<std::optional<std::string>, FileError> read_file(const std::string& path);
// Holds the boot counter's lock; releases it when destroyed. Move-only.
class EpochLease {
 public:
  EpochLease() = default;
  EpochLease(std::uint64_t epoch, int lock_fd) : epoch_(epoch), fd_(lock_fd) {}
  EpochLease(EpochLease&& o) noexcept : epoch_(o.epoch_), fd_(o.fd_) { o.fd_ = -1; }
  EpochLease& operator=(EpochLease&& o) noexcept;
  EpochLease(const EpochLease&) = delete;
  EpochLease& operator=(const EpochLease&) = delete;
  ~EpochLease();
  std::uint64_t epoch() const { return epoch_; }

 private:
  std::uint64_t epoch_ = 0;
  int fd_ = -1;
};

// Locks, reads, increments and durably rewrites the boot counter at `path`; the lease carries the new
// epoch (1..2^32-1). Errors name the file: held by another process, corrupt text, exhausted, IO.
std::variant<EpochLease, FileError> bump_epoch_file(const std::string& path);

// raftbgpd's boot counter, `<data_dir>/epoch`. Refuses to start over at 1 when the file is missing but the
// WAL (`<data_dir>/wal`) exists: the data dir was restored without it, or it was deleted, and peers would
// refuse every frame of ours as a replay until the counter passed the epoch they last saw. The error says
// how to recover (write an epoch above any used before, e.g. `date +%s`).
std::variant<EpochLease, FileError> bump_epoch(const std::string& data_dir);

}  // namespace raftbgp::agent
