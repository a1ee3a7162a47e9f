// `<data_dir>/replay`: the transport's replay windows, kept across restarts (bgp-transport replay.h,
// "Restarts"), so a frame this node accepted before a restart is refused as a replay after it, even though
// ExaBGP re-sends every still-announced route to the new process.
//
// Who calls what, when (AgentCore):
//   open():    load() right after the Transport is built, before the first ExaBGP line;
//   run_ready: save() before persisting a Ready that syncs the WAL (raft::must_sync: entries, a snapshot, a new
//              term or vote; not a Ready that only moves the commit index), so every delivered message whose
//              effect became durable has a durable replay mark too;
//   ~AgentCore (clean shutdown): save() once more.
// save() writes only when a message was delivered since the last save (Transport::replay_marks moved), and
// atomically (atomic_write_file: tmp, fsync, rename, fsync dir).
//
// Remaining gap: frames delivered after the last save and before a crash are not marked on disk. Their
// effects were not persisted either (they would have triggered a save first), so after the restart such a
// frame, re-sent by ExaBGP or replayed by an attacker, is delivered a second time, as if the first
// delivery had been lost: Raft messages are idempotent for that case; application messages that are not
// (MSG_FORWARD, admin commands) are bound to the leader's term and deduplicated by the agent itself.
//
// A missing file is an empty state (first start, or an upgrade from a version without it). A corrupt or
// truncated file is a fatal start-up error naming the file: the writer replaces it atomically, so damage
// means a storage fault or tampering (the same class as a corrupt WAL, which is fatal too), and starting
// with empty windows would silently reopen the replay hole. The operator decides: restore the file, or
// delete it to accept that frames still announced in BGP may be delivered once more.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "raftbgp/agent/files.h"
#include "raftbgp/transport/transport.h"

namespace raftbgp::agent {

class ReplayStore {
 public:
  ReplayStore() = default;
  explicit ReplayStore(const std::string& data_dir) : path_(data_dir + "/replay") {}

  // Restores the windows into `t` (nothing when the file is missing). Errors name the file.
  std::optional<FileError> load(transport::Transport& t);
  // Saves the windows of `t` if they changed since the last load or save. Errors name the file.
  std::optional<FileError> save(const transport::Transport& t);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::uint64_t saved_marks_ = 0;  // Transport::replay_marks() at the last load or save
};

}  // namespace raftbgp::agent
