// The transport's replay windows, kept across restarts (bgp-transport replay.h, "Restarts"), so a frame this
// node accepted before a restart is refused as a replay after it, even though ExaBGP re-sends every
// still-announced route to the new process. Two places to keep them:
//   - raftbgpd: in its WAL, as the WAL's application state (WalStorage::save_app_state): an APP_STATE record
//     written with the Ready's entries and made durable by the WAL's own fdatasync, at no fsync of its own.
//     (Until issue 13 they were a file replaced with two fsyncs and a rename per syncing Ready: on star3 that
//     cost a quarter of the 64-client write rate.)
//   - raftbgp-ping, which has no WAL: the file `<state_dir>/replay`, replaced atomically (atomic_write_file:
//     tmp, fsync, rename, fsync dir).
//
// Who calls what, when (AgentCore):
//   open():    load() right after the WAL is opened, before the first ExaBGP line;
//   run_ready: save() before persisting a Ready that syncs the WAL (raft::must_sync: entries, a snapshot, a new
//              term or vote; not a Ready that only moves the commit index), so every delivered message whose
//              effect became durable has a durable replay mark too: the record goes into the same fdatasync;
//   ~AgentCore (clean shutdown): save() once more, and the WAL is synced.
// save() writes only when a message was delivered since the last save (Transport::replay_marks moved).
//
// Remaining gap: frames delivered after the last save and before a crash are not marked on disk. Their
// effects were not persisted either (they would have triggered a save first), so after the restart such a
// frame, re-sent by ExaBGP or replayed by an attacker, is delivered a second time, as if the first
// delivery had been lost: Raft messages are idempotent for that case; application messages that are not
// (MSG_FORWARD, admin commands) are bound to the leader's term and deduplicated by the agent itself.
//
// Nothing saved yet is an empty state (first start). Upgrade from a release that kept the file: when the WAL
// holds no windows yet, load() reads `<data_dir>/replay`; once the WAL holds them the file is never read again,
// and left alone (raftbgp-ping, run on the same state dir, keeps its own windows in it). Saved windows that do not
// decode (a corrupt file, or an APP_STATE record whose CRC matched but whose bytes are not windows) are a fatal
// start-up error naming where they were: the writers replace them whole, so damage means a storage fault or tampering
// (the same class as a corrupt WAL, which is fatal too), and starting with empty windows would silently reopen the
// replay hole. For the file the operator decides: restore it, or delete it to accept that frames still announced in
// BGP may be delivered once more. Windows in the WAL passed its CRC, so their damage is a bug or tampering: the error
// says to rebuild the router's data dir.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "raftbgp/agent/files.h"
#include "raftbgp/raft/wal_storage.h"
#include "raftbgp/transport/transport.h"

namespace raftbgp::agent {

class ReplayStore {
 public:
  ReplayStore() = default;
  // The file `<data_dir>/replay` (raftbgp-ping).
  explicit ReplayStore(const std::string& data_dir) : path_(data_dir + "/replay") {}
  // The WAL's application state, with `<data_dir>/replay` read once for an upgrade (raftbgpd). `wal` outlives
  // the store.
  ReplayStore(const std::string& data_dir, raft::WalStorage& wal) : path_(data_dir + "/replay"), wal_(&wal) {}

  // Restores the windows into `t` (nothing when none were saved). Errors name the file or the WAL.
  std::optional<FileError> load(transport::Transport& t);
  // Saves the windows of `t` if they changed since the last load or save: into the WAL (durable at its next
  // sync; a write failure throws StorageIoError like any WAL mutation), or replacing the file. Errors name the
  // file.
  std::optional<FileError> save(const transport::Transport& t);
  const std::string& path() const { return path_; }

 private:
  std::optional<FileError> restore(transport::Transport& t, const std::string& bytes, bool in_wal);

  std::string path_;
  raft::WalStorage* wal_ = nullptr;
  std::uint64_t saved_marks_ = 0;  // Transport::replay_marks() at the last load or save
};

}  // namespace raftbgp::agent
