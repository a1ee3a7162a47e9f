// A follower in probe state behind a slow path (issue 18, nemesis seed 21): heartbeat answers must not re-send the
// probe AppendEntries on every heartbeat, or a receiver slower than one heartbeat interval drowns in copies.
#include <gtest/gtest.h>

#include "test_util.h"

namespace raftbgp::raft {
namespace {

using namespace raftbgp::raft::test;

TEST(Probe, Heartbeat_answers_resend_a_probe_only_after_the_retransmission_timeout) {
  std::unique_ptr<Peer> peer = make_peer(config(1, ids(3)), log_with_terms({1, 1, 1}), 1);
  Peer& p = *peer;
  make_leader(p, ids(3));  // every follower starts in probe, one probe AppendEntries each is out
  std::size_t probes_to_3 = 0;
  for (int t = 0; t < 10; ++t) {
    p.node->tick();  // a heartbeat to each follower every tick (heartbeat_ticks = 1)
    for (const Message& m : drain(p)) {
      if (m.to() != 3) continue;
      if (m.type() == raftbgp::v1::MSG_APP) ++probes_to_3;
      if (m.type() == raftbgp::v1::MSG_HEARTBEAT)
        p.node->step(msg(raftbgp::v1::MSG_HEARTBEAT_RESP, 3, 1, p.node->term()));  // alive, its append still in flight
    }
    for (const Message& m : drain(p))
      if (m.to() == 3 && m.type() == raftbgp::v1::MSG_APP) ++probes_to_3;
  }
  // Ten heartbeat answers in ten ticks: re-sent after 5 ticks (retransmit_ticks: max(2, election_ticks / 2)),
  // not on each answer.
  EXPECT_LE(probes_to_3, 2u);
  EXPECT_GE(probes_to_3, 1u) << "a lost probe is still retransmitted";
}

}  // namespace
}  // namespace raftbgp::raft
