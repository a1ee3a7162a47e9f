// Basic vocabulary of the Raft core: ids, indexes, terms, and the loud-failure macro.
#pragma once

#include <cstdint>
#include <string_view>

#include "raftbgp/v1/raft.pb.h"

namespace raftbgp::raft {

using NodeId = std::uint64_t;  // 0 means "none"
using Index = std::uint64_t;   // log index; the first real entry is 1, 0 is "before the log"
using Term = std::uint64_t;    // 0 is "no term"

inline constexpr NodeId kNoNode = 0;

using Entry = raftbgp::v1::Entry;
using HardState = raftbgp::v1::HardState;
using Message = raftbgp::v1::Message;
using MessageType = raftbgp::v1::MessageType;
using ConfState = raftbgp::v1::ConfState;
using SnapshotMetadata = raftbgp::v1::SnapshotMetadata;

// A broken invariant: print the message (with file and line) to stderr and abort. Never used for
// conditions caused by outside input; those are values (see Node::step).
[[noreturn]] void panic(std::string_view what, const char* file, int line);

}  // namespace raftbgp::raft

#define RAFT_PANIC(what) ::raftbgp::raft::panic((what), __FILE__, __LINE__)
#define RAFT_ASSERT(cond)                                  \
  do {                                                     \
    if (!(cond)) RAFT_PANIC("invariant violated: " #cond); \
  } while (0)
