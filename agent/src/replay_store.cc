#include "raftbgp/agent/replay_store.h"

namespace raftbgp::agent {

std::optional<FileError> ReplayStore::load(transport::Transport& t) {
  auto content = read_file(path_);
  if (auto* e = std::get_if<FileError>(&content)) return *e;
  const auto& text = std::get<std::optional<std::string>>(content);
  if (!text) {
    saved_marks_ = t.replay_marks();
    return std::nullopt;
  }
  const transport::ByteView bytes(reinterpret_cast<const std::uint8_t*>(text->data()), text->size());
  auto state = transport::ReplayGuard::import_state(bytes);
  if (auto* e = std::get_if<std::string>(&state))
    return FileError{"replay state " + path_ + ": " + *e +
                     ". Refusing to start with empty replay windows (frames this node already accepted would "
                     "be delivered again). Restore the file, or delete it to accept that risk once"};
  t.restore_replay_state(std::move(std::get<transport::ReplayGuard>(state)));
  saved_marks_ = t.replay_marks();
  return std::nullopt;
}

std::optional<FileError> ReplayStore::save(const transport::Transport& t) {
  if (path_.empty() || t.replay_marks() == saved_marks_) return std::nullopt;
  const transport::Bytes bytes = t.export_replay_state();
  if (auto e = atomic_write_file(path_, std::string(bytes.begin(), bytes.end())))
    return FileError{"replay state: " + e->message};
  saved_marks_ = t.replay_marks();
  return std::nullopt;
}

}  // namespace raftbgp::agent
