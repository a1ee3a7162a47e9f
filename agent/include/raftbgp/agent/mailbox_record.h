// `<data_dir>/mailboxes`: the mailbox prefixes this node's transport has used, so that the next incarnation
// withdraws what an earlier one left announced in ExaBGP's RIB (ExaBGP keeps a dead agent's routes and
// re-sends them on every session reset, docs/exabgp.md §5.2; the transit RIBs would keep them forever).
//
// The record is Transport::slot_prefixes(): every slot used, a superset of what is announced, which changes
// only when a slot ring grows (slots are taken lowest first, so rings stay small). AgentCore calls save() on
// every tick (it writes only when Transport::slot_count() grew) and at shutdown; open() calls load() once,
// before the first send, and hands the prefixes to Transport::withdraw_leftovers().
//
// The file is text, one prefix per line, written atomically without fsync (files.h Durability::kProcessCrash: the RIB
// it describes dies with the machine). A missing file is nothing to clean up; lines that are not prefixes of our
// mailbox are skipped (the transport checks each one): the record is an optimisation of the RIB footprint, never a
// safety property, so a damaged one costs at most stale routes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "raftbgp/agent/files.h"
#include "raftbgp/transport/mailbox.h"
#include "raftbgp/transport/transport.h"

namespace raftbgp::agent {

class MailboxRecord {
 public:
  MailboxRecord() = default;
  explicit MailboxRecord(const std::string& data_dir) : path_(data_dir + "/mailboxes") {}

  // The previous incarnation's prefixes (empty when the file is missing). Errors name the file.
  std::variant<std::vector<transport::IpPrefix>, FileError> load() const;
  // Writes t.slot_prefixes() if slot_count() changed since the last save (or `force`).
  std::optional<FileError> save(const transport::Transport& t, bool force = false);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::size_t saved_count_ = 0;
};

}  // namespace raftbgp::agent
