// The one export table of the transport's Counters (counters.h): every field, by name, with its help text and
// whether it is a counter (monotonic) or a gauge ("now"). raftbgpd's `status` (agent/src/agent_status.cc) and
// raftbgp-ping's results file both render counters_json() from it; a metrics exporter iterates
// for_each_counter(). tests/bgp-transport/counter_table_test.cc proves that no field of Counters is left out
// (adding a field without a row here fails to compile: see the static_assert in counter_table.cc).
//
// Names are the JSON keys operators and scripts already read (docs/operator-guide.md section 5), which is why
// reassembly_evicted_count is exported as `reassembly_evicted`.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "raftbgp/transport/counters.h"

namespace raftbgp::transport {

enum class MetricKind : std::uint8_t { kCounter, kGauge };

// One scalar field of Counters.
struct CounterField {
  std::string_view name;
  std::uint64_t Counters::*member;
  MetricKind kind;
  std::string_view help;
};

// The scalar fields, in the order status shows them.
inline constexpr CounterField kCounterFields[] = {
    {"messages_sent", &Counters::messages_sent, MetricKind::kCounter, "messages handed to send() and framed"},
    {"frames_sent", &Counters::frames_sent, MetricKind::kCounter, "frames (fragments) announced"},
    {"frame_bytes_sent", &Counters::frame_bytes_sent, MetricKind::kCounter, "attribute bytes announced"},
    {"messages_deflated", &Counters::messages_deflated, MetricKind::kCounter,
     "messages sent compressed (frame version 3)"},
    {"deflate_saved_bytes", &Counters::deflate_saved_bytes, MetricKind::kCounter,
     "bytes compression took off the messages it compressed"},
    {"withdrawals_sent", &Counters::withdrawals_sent, MetricKind::kCounter, "mailbox routes withdrawn"},
    {"slots_reused_early", &Counters::slots_reused_early, MetricKind::kCounter,
     "mailbox slots re-announced before slot_reuse_ticks (every slot busy): that message may be coalesced away"},
    {"mailbox_routes", &Counters::mailbox_routes, MetricKind::kGauge,
     "mailbox routes this node announces now (its share of every transit RIB)"},
    {"send_refused", &Counters::send_refused, MetricKind::kCounter,
     "send() refused: too large, no valid destination, id outside the mailbox layout"},
    {"queue_dropped", &Counters::queue_dropped, MetricKind::kCounter, "commands dropped by the bounded send queue"},
    {"queue_waiting", &Counters::queue_waiting, MetricKind::kGauge, "commands waiting in the send queue now"},
    {"queue_outstanding", &Counters::queue_outstanding, MetricKind::kGauge,
     "commands written to ExaBGP and not yet acknowledged now"},
    {"acks_done", &Counters::acks_done, MetricKind::kCounter, "commands ExaBGP acknowledged with done"},
    {"acks_error", &Counters::acks_error, MetricKind::kCounter, "commands ExaBGP refused (error)"},
    {"acks_unexpected", &Counters::acks_unexpected, MetricKind::kCounter, "acks with no outstanding command"},
    {"lines", &Counters::lines, MetricKind::kCounter, "lines read from ExaBGP"},
    {"events_ignored", &Counters::events_ignored, MetricKind::kCounter,
     "known ExaBGP JSON event types the transport does not act on"},
    {"updates", &Counters::updates, MetricKind::kCounter, "update events from ExaBGP"},
    {"prefixes_withdrawn", &Counters::prefixes_withdrawn, MetricKind::kCounter, "withdrawn prefixes seen in updates"},
    {"eors", &Counters::eors, MetricKind::kCounter, "end-of-RIB markers"},
    {"not_mailbox", &Counters::not_mailbox, MetricKind::kCounter, "announced prefixes outside the mailbox plan"},
    {"without_attribute", &Counters::without_attribute, MetricKind::kCounter,
     "mailbox prefixes announced without our attribute: a transit strips it"},
    {"foreign_mail", &Counters::foreign_mail, MetricKind::kCounter,
     "mailbox routes for other nodes that reached this one: a missing per-router filter"},
    {"presence_withdrawn", &Counters::presence_withdrawn, MetricKind::kCounter,
     "presence routes of peers withdrawn: a quiet leader woke up, stepped down or its BGP session died"},
    {"other_attribute_codes", &Counters::other_attribute_codes, MetricKind::kCounter,
     "unknown attributes of another type code in updates"},
    {"frames_received", &Counters::frames_received, MetricKind::kCounter, "frames that reached the decoder"},
    {"messages_delivered", &Counters::messages_delivered, MetricKind::kCounter, "whole messages handed to Raft"},
    {"fragment_duplicates", &Counters::fragment_duplicates, MetricKind::kCounter, "fragments received twice"},
    {"reassembly_evicted", &Counters::reassembly_evicted_count, MetricKind::kCounter,
     "incomplete messages evicted from reassembly (lost fragments)"},
    {"reassembly_evicted_bytes", &Counters::reassembly_evicted_bytes, MetricKind::kCounter,
     "bytes of evicted incomplete messages"},
    {"reassembly_expired", &Counters::reassembly_expired, MetricKind::kCounter,
     "incomplete messages that timed out in reassembly"},
    {"fragments_pending", &Counters::fragments_pending, MetricKind::kGauge, "incomplete messages in reassembly now"},
    {"reassembly_bytes", &Counters::reassembly_bytes, MetricKind::kGauge, "bytes held by reassembly now"},
    {"peer_connected", &Counters::peer_connected, MetricKind::kCounter, "ExaBGP sessions connected"},
    {"peer_up", &Counters::peer_up, MetricKind::kCounter, "ExaBGP sessions established"},
    {"peer_down", &Counters::peer_down, MetricKind::kCounter, "ExaBGP sessions lost"},
    {"notifications", &Counters::notifications, MetricKind::kCounter, "BGP notifications received"},
};

// The two per-reason arrays: Counters::rejected by RejectReason and Counters::line_errors by LineError. Each is
// exported as an object {reason name: value} (names from to_string, frame.h / exabgp.h).
inline constexpr std::string_view kRejectedName = "rejected";
inline constexpr std::string_view kRejectedHelp = "frames dropped by the decoder, by reason";
inline constexpr std::string_view kLineErrorsName = "line_errors";
inline constexpr std::string_view kLineErrorsHelp = "lines from ExaBGP that did not parse, by reason";

// One exported value. reason is empty for a scalar field, the reason's name for a per-reason value.
struct CounterValue {
  std::string_view name;
  std::string_view reason;
  std::uint64_t value;
  MetricKind kind;
  std::string_view help;
};

// Calls f(const CounterValue&) for every value in Counters: the scalar fields, then every rejected reason,
// then every line error. rejected_total is derived (the sum of `rejected`) and is not visited.
template <class F>
void for_each_counter(const Counters& c, F&& f) {
  for (const CounterField& field : kCounterFields)
    f(CounterValue{field.name, {}, c.*field.member, field.kind, field.help});
  for (std::size_t i = 0; i < kRejectReasonCount; ++i)
    f(CounterValue{kRejectedName, to_string(static_cast<RejectReason>(i)), c.rejected[i], MetricKind::kCounter,
                   kRejectedHelp});
  for (std::size_t i = 0; i < kLineErrorCount; ++i)
    f(CounterValue{kLineErrorsName, to_string(static_cast<LineError>(i)), c.line_errors[i], MetricKind::kCounter,
                   kLineErrorsHelp});
}

// {name: value, ..., "rejected": {reason: value}, "rejected_total": sum, "line_errors": {error: value}}.
nlohmann::json counters_json(const Counters& c);

}  // namespace raftbgp::transport
