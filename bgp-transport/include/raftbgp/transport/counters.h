// Everything the transport sends, drops or rejects, by reason: the agent's `status` shows these.
// Plain counters, monotonic except the gauges marked "now".
#pragma once

#include <array>
#include <cstdint>

#include "raftbgp/transport/exabgp.h"
#include "raftbgp/transport/frame.h"

namespace raftbgp::transport {

struct Counters {
  // Sending.
  std::uint64_t messages_sent = 0;        // Messages handed to send() and framed
  std::uint64_t frames_sent = 0;          // frames (fragments) announced
  std::uint64_t frame_bytes_sent = 0;     // attribute bytes announced
  std::uint64_t messages_deflated = 0;    // of messages_sent: sent compressed (frame v3, deflate.h)
  std::uint64_t deflate_saved_bytes = 0;  // serialized bytes minus deflated bytes, over those messages
  std::uint64_t withdrawals_sent = 0;
  std::uint64_t slots_reused_early = 0;  // a slot re-announced before slot_reuse_ticks passed (every slot busy)
  std::uint64_t mailbox_routes = 0;      // now: mailbox prefixes announced and not yet withdrawn
  std::uint64_t send_refused = 0;        // send() refused: too large, no valid destination, id outside the mailbox
  std::uint64_t queue_dropped = 0;       // commands dropped by the bounded send queue
  std::uint64_t queue_waiting = 0;       // now
  std::uint64_t queue_outstanding = 0;   // now: written, not yet acked
  std::uint64_t acks_done = 0;
  std::uint64_t acks_error = 0;
  std::uint64_t acks_unexpected = 0;  // an ack with no outstanding command

  // Receiving.
  std::uint64_t lines = 0;
  std::array<std::uint64_t, kLineErrorCount> line_errors{};  // by LineError
  std::uint64_t events_ignored = 0;                          // known JSON types we do not act on
  std::uint64_t updates = 0;
  std::uint64_t prefixes_withdrawn = 0;
  std::uint64_t eors = 0;
  std::uint64_t not_mailbox = 0;         // announced prefix outside our mailbox plan (e.g. policy routes)
  std::uint64_t without_attribute = 0;   // mailbox prefix announced without our attribute
  std::uint64_t foreign_mail = 0;        // a mailbox prefix for another router (a missing filter): ignored
  std::uint64_t presence_withdrawn = 0;  // a peer's presence route withdrawn (its quiet leadership ended or died)
  std::uint64_t other_attribute_codes = 0;
  std::uint64_t frames_received = 0;                         // frames that reached open_frame
  std::array<std::uint64_t, kRejectReasonCount> rejected{};  // by RejectReason
  std::uint64_t messages_delivered = 0;
  std::uint64_t fragment_duplicates = 0;
  std::uint64_t reassembly_evicted_count = 0;
  std::uint64_t reassembly_evicted_bytes = 0;
  std::uint64_t reassembly_expired = 0;
  std::uint64_t fragments_pending = 0;  // now: incomplete messages buffered
  std::uint64_t reassembly_bytes = 0;   // now

  // ExaBGP session events.
  std::uint64_t peer_connected = 0;
  std::uint64_t peer_up = 0;
  std::uint64_t peer_down = 0;
  std::uint64_t notifications = 0;

  std::uint64_t rejected_total() const {
    std::uint64_t n = 0;
    for (std::uint64_t v : rejected) n += v;
    return n;
  }
  std::uint64_t rejected_for(RejectReason r) const { return rejected[static_cast<std::size_t>(r)]; }
  std::uint64_t line_errors_for(LineError e) const { return line_errors[static_cast<std::size_t>(e)]; }
};

}  // namespace raftbgp::transport
