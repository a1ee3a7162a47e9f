#include "raftbgp/agent/mailbox_record.h"

#include <sstream>

namespace raftbgp::agent {

std::variant<std::vector<transport::IpPrefix>, FileError> MailboxRecord::load() const {
  std::vector<transport::IpPrefix> out;
  if (path_.empty()) return out;
  auto content = read_file(path_);
  if (auto* e = std::get_if<FileError>(&content)) return *e;
  const auto& text = std::get<std::optional<std::string>>(content);
  if (!text) return out;
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);)
    if (auto p = transport::IpPrefix::parse(line)) out.push_back(*p);
  return out;
}

std::optional<FileError> MailboxRecord::save(const transport::Transport& t, bool force) {
  if (path_.empty()) return std::nullopt;
  const std::size_t count = t.slot_count();
  if (!force && count == saved_count_) return std::nullopt;
  std::string text;
  for (const transport::IpPrefix& p : t.slot_prefixes()) text += p.to_string() + "\n";
  if (auto e = atomic_write_file(path_, text, Durability::kProcessCrash)) return e;
  saved_count_ = count;
  return std::nullopt;
}

}  // namespace raftbgp::agent
