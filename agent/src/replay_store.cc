#include "raftbgp/agent/replay_store.h"

namespace raftbgp::agent {

std::optional<FileError> ReplayStore::restore(transport::Transport& t, const std::string& bytes, bool in_wal) {
  const transport::ByteView view(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  auto state = transport::ReplayGuard::import_state(view);
  if (auto* e = std::get_if<std::string>(&state)) {
    const std::string where = in_wal ? "in the WAL " + wal_->dir() : path_;
    const std::string remedy = in_wal ? "Their record's checksum matched, so this is a bug or tampering: rebuild "
                                        "this router's data dir (operator guide section 10)"
                                      : "Restore it, or delete " + path_ + " to accept that risk once";
    return FileError{"replay state " + where + ": " + *e +
                     ". Refusing to start with empty replay windows (frames this node already accepted would "
                     "be delivered again). " +
                     remedy};
  }
  t.restore_replay_state(std::move(std::get<transport::ReplayGuard>(state)));
  return std::nullopt;
}

std::optional<FileError> ReplayStore::load(transport::Transport& t) {
  if (wal_ != nullptr && !wal_->app_state().empty()) {
    if (auto e = restore(t, wal_->app_state(), true)) return e;
    // The file is not read again, and not deleted: raftbgp-ping, run on the same state dir, keeps its own windows
    // there (docs/operator-guide.md §4).
    saved_marks_ = t.replay_marks();
    return std::nullopt;
  }
  auto content = read_file(path_);
  if (auto* e = std::get_if<FileError>(&content)) return *e;
  const auto& text = std::get<std::optional<std::string>>(content);
  if (text)
    if (auto e = restore(t, *text, false)) return e;
  saved_marks_ = t.replay_marks();
  return std::nullopt;
}

std::optional<FileError> ReplayStore::save(const transport::Transport& t) {
  if (path_.empty() || t.replay_marks() == saved_marks_) return std::nullopt;
  const transport::Bytes bytes = t.export_replay_state();
  if (wal_ != nullptr) {
    wal_->save_app_state(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  } else if (auto e = atomic_write_file(path_, std::string(bytes.begin(), bytes.end()))) {
    return FileError{"replay state: " + e->message};
  }
  saved_marks_ = t.replay_marks();
  return std::nullopt;
}

}  // namespace raftbgp::agent
