// Acknowledgement pacing on the send side (docs/architecture.md §3 "Acknowledgements").
//
// Every AppendEntries answer is a BGP UPDATE that the leader's ExaBGP must read, and ExaBGP reads one
// UPDATE per peer per reactor turn, between the announcements it sends for us (docs/exabgp.md §5.7). With
// 27 learners acknowledging every AppendEntries of a 32-router burst, the answers queued in the leader's
// TCP receive buffer faster than its ExaBGP read them (2.9 MB unread), the voters' answers waited behind
// them for more than an election timeout, and the leader stepped down by CheckQuorum (issue 17). Two rules:
//  - An acknowledgement (a MSG_APP_RESP that does not reject) is cumulative: a later one to the same
//    leader in the same term, at an index at least as high, says everything the earlier one said. Within
//    one Ready's messages only the last survives.
//  - A learner's acknowledgements do not count towards any commit; they only steer the leader's flow
//    control. Nor do its heartbeat answers that carry no ReadIndex context: they only say "alive", and a
//    learner's liveness decides nothing (CheckQuorum and reads count voters). A learner holds the newest
//    of these for `hold_ticks` ticks (an acknowledgement replaces a held answer, an answer behind a held
//    acknowledgement is dropped) and then sends it, so it speaks to a busy leader a few times a second
//    instead of once per AppendEntries and once per heartbeat. In a 32-router burst the learners' heartbeat
//    answers alone were ~310 of the ~390 UPDATEs a second the leader's ExaBGP read (issue 17).
// Rejections, votes, a voter's heartbeat answers and answers to a ReadIndex round are never held or dropped.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "raftbgp/raft/types.h"

namespace raftbgp::agent {

class AckPacer {
 public:
  explicit AckPacer(std::uint64_t hold_ticks) : hold_ticks_(hold_ticks) {}

  // The messages of one Ready as they should leave now, in order. Returns false, leaving `out` untouched,
  // when they leave unchanged (the common case for a leader: no acknowledgement among them).
  bool filter(const std::vector<raft::Message>& messages, bool learner, std::uint64_t now,
              std::vector<raft::Message>& out);

  // A held acknowledgement that has waited `hold_ticks`, to send now.
  std::optional<raft::Message> take_due(std::uint64_t now);

  std::uint64_t coalesced() const { return coalesced_; }  // acknowledgements superseded before sending
  std::uint64_t held() const { return held_count_; }      // acknowledgements a learner held back

 private:
  std::uint64_t hold_ticks_;
  std::optional<raft::Message> held_;
  std::uint64_t held_since_ = 0;
  std::uint64_t coalesced_ = 0;
  std::uint64_t held_count_ = 0;
};

}  // namespace raftbgp::agent
