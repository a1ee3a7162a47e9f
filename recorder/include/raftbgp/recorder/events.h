// A flight recording as a timeline: one JSON object per record (`raftbgp-replay --events`), for lining up the
// recordings of several agents (each record's at_us is its agent's steady clock, which agents on one host share)
// and following a message from the Ready that sent it to the step that received it (bench/lab/hop_trace.py).
//
// Every line has "seq", "at_us" and "kind" (start, tick, step, propose, propose_conf_change, read_index,
// transfer_leader, quiesce, ready, advance, save_snapshot). A step carries "msg"; a ready carries "send" (its
// messages), "persist" and "apply" ([first, last] index of its entries and committed entries, when it has
// any), "commit" (of its hard state) and "send_before_persist". A message is {"type", "from", "to", "term",
// "log_term", "index", "commit", "n" (entries), "last" (index of its last entry), "reject"}: enough to match a
// sent message with its receipt, never the entries' data.
#pragma once

#include <string>

#include "raftbgp/v1/recorder.pb.h"

namespace raftbgp::recorder {

std::string event_json(const raftbgp::v1::Record& r);

}  // namespace raftbgp::recorder
