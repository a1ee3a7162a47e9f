// The broadcast property on the send side (docs/architecture.md §3 "one frame may name several destinations"):
// the messages of one Ready that are identical except for `to` (heartbeats and AppendEntries to
// caught-up followers, the common case) go out as one transport frame naming all their destinations.
// In a 3-node cluster that halves the announcements ExaBGP has to parse and send.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "raftbgp/raft/types.h"

namespace raftbgp::agent {

// One transport send: messages[first] (its `to` ignored) for every id in `to`, in the order met.
struct SendGroup {
  std::size_t first = 0;
  std::vector<std::uint64_t> to;
};

// Groups `messages` (a Ready's, in order) by their serialization with `to` cleared. The result lists
// every message exactly once, groups ordered by their first message. Per-destination order is kept:
// a message joins an earlier group only if its destination has no message in a later group, and never
// a group that already names that destination. A group holds at most `max_destinations` ids. Messages
// to `self` or to 0 are never grouped (the transport refuses them alone, as before). Pure; O(n * groups).
std::vector<SendGroup> group_for_send(std::span<const raft::Message> messages, std::uint64_t self,
                                      std::size_t max_destinations);

}  // namespace raftbgp::agent
