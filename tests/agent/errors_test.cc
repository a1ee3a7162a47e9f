// The agent's error model (errors.h) and op table (ops.h), and the refusals that must read the same
// whichever node a client talks to: too_large through a follower, TRANSFERRING from a transferring leader.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "agent_net.h"
#include "raftbgp/agent/control.h"
#include "raftbgp/agent/errors.h"
#include "raftbgp/agent/ops.h"

namespace raftbgp::agent::test {
namespace {

using nlohmann::json;

TEST(ErrorCodes, Every_code_has_a_unique_wire_name_that_round_trips) {
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < kErrorCodeCount; ++i) {
    const auto code = static_cast<ErrorCode>(i);
    const std::string_view name = error_name(code);
    EXPECT_FALSE(name.empty()) << i;
    EXPECT_TRUE(seen.insert(name).second) << "duplicate wire name " << name;
    EXPECT_EQ(error_code_named(name), code) << name;
  }
  EXPECT_EQ(error_code_named("no_such_code"), std::nullopt);
}

TEST(ErrorCodes, Wire_names_stay_those_the_operator_guide_documents) {
  // README "Agent" and docs/operator-guide.md list these; raftbgpctl and the lab tests match them.
  const char* const documented[] = {
      "bad_request",     "not_found", "no_leader",           "not_leader", "rejected", "stale_sequence",
      "session_expired", "too_large", "conf_change_pending", "not_ready",  "timeout",  "shutting_down",
      "internal",        "too_slow"};
  ASSERT_EQ(std::size(documented), kErrorCodeCount);
  for (const char* name : documented) EXPECT_TRUE(error_code_named(name).has_value()) << name;
  EXPECT_EQ(json::parse(format_error(7, ErrorCode::kTooLarge, "m"))["error"]["code"], "too_large");
}

TEST(ErrorCodes, Every_forward_reject_reason_maps_to_a_retryable_code) {
  for (int r = v1::ForwardReject::Reason_MIN; r <= v1::ForwardReject::Reason_MAX; ++r) {
    if (!v1::ForwardReject::Reason_IsValid(r)) continue;
    const ErrorCode code = error_code_for(static_cast<v1::ForwardReject::Reason>(r));
    EXPECT_TRUE(code == ErrorCode::kNotLeader || code == ErrorCode::kTooLarge || code == ErrorCode::kRejected ||
                code == ErrorCode::kConfChangePending || code == ErrorCode::kNotReady)
        << v1::ForwardReject::Reason_Name(r) << " -> " << code;
  }
  EXPECT_EQ(error_code_for(v1::ForwardReject::TOO_LARGE), ErrorCode::kTooLarge);
  EXPECT_EQ(error_code_for(v1::ForwardReject::TRANSFERRING), ErrorCode::kNotLeader);
}

TEST(Ops, Op_table_names_are_unique_and_find_op_round_trips) {
  std::set<std::string_view> names;
  for (const OpSpec& spec : kOps) {
    EXPECT_TRUE(names.insert(spec.name).second) << spec.name;
    const OpSpec* found = find_op(spec.name);
    EXPECT_TRUE(found == &spec) << spec.name;
    EXPECT_EQ(op_spec(spec.op).name, spec.name);
    EXPECT_TRUE(!spec.exactly_once || spec.changes_state) << spec.name;
    // Exactly the log ops carry a session: a retry of a write or admin command applies at most once.
    EXPECT_EQ(spec.exactly_once, spec.path == OpPath::kWrite || spec.path == OpPath::kAdmin) << spec.name;
  }
  EXPECT_EQ(find_op("kv.gets"), nullptr);
  EXPECT_FALSE(op_is_exactly_once("snapshot"));
  EXPECT_TRUE(op_changes_state("snapshot"));
  EXPECT_TRUE(op_is_exactly_once("transfer_leader"));
  EXPECT_FALSE(op_changes_state("nope"));
}

TEST(Ops, Unknown_op_is_a_bad_request_naming_the_op) {
  AgentNet net(3, {1, 2, 3});
  net.start_all();
  const ClientResponse r = net.request(0, "kv.gets", json::object());
  EXPECT_EQ(r.code, ErrorCode::kBadRequest);
  EXPECT_NE(r.message.find("kv.gets"), std::string::npos) << r.message;
}

// Raft messages capped at 1 KiB: a 2 KiB value fits a request and a transport message, not an entry.
TEST(ErrorCodes, Too_large_command_is_too_large_at_the_leader_and_through_a_follower) {
  AgentNet net(3, {1, 2, 3});
  AgentCore::Options options;
  options.max_msg_bytes = 1024;
  net.set_options(options);
  net.start_all();
  const int lead = net.wait_leader();
  ASSERT_GE(lead, 0);
  net.settle(10);
  const std::size_t follower = (static_cast<std::size_t>(lead) + 1) % 3;
  const json big{{"key", "k"}, {"value", std::string(2048, 'v')}};
  const ClientResponse at_leader = net.request(static_cast<std::size_t>(lead), "kv.put", big, "c1", 1);
  EXPECT_EQ(at_leader.code, ErrorCode::kTooLarge) << at_leader.message;
  const ClientResponse via_follower = net.request(follower, "kv.put", big, "c2", 1);
  EXPECT_EQ(via_follower.code, ErrorCode::kTooLarge) << via_follower.message;
  EXPECT_FALSE(net.request(follower, "kv.get", {{"key", "k"}}).ok);  // nothing applied
}

// While a transfer is pending the leader takes no proposals (thesis §3.10): a forwarded write is refused
// as TRANSFERRING, and its client gets not_leader (retry: another node will lead).
TEST(ErrorCodes, Write_forwarded_to_a_transferring_leader_is_refused_as_transferring) {
  AgentNet net(3, {1, 2, 3});
  net.start_all();
  const int lead = net.wait_leader();
  ASSERT_GE(lead, 0);
  net.settle(10);
  const auto leader = static_cast<std::size_t>(lead);
  const std::size_t asker = (leader + 1) % 3;
  const std::size_t target = (leader + 2) % 3;
  net.stop(target);  // the transfer cannot complete: it stays pending for an election timeout
  bool transfer_answered = false;
  net.core(leader).on_client_request(ClientRequest{"transfer_leader", {{"id", target + 1}}, "ops", 1, 3000},
                                     [&](ClientResponse) { transfer_answered = true; });
  for (int i = 0; i < 3; ++i) net.fabric().step();  // the entry commits with the asker; the transfer starts
  const ClientResponse w = net.request(asker, "kv.put", {{"key", "k"}, {"value", "v"}}, "c1", 1);
  EXPECT_EQ(w.code, ErrorCode::kNotLeader) << w.message;
  EXPECT_NE(w.message.find("transfer"), std::string::npos) << w.message;
  const json rejects = net.core(leader).debug_json()["forward_rejects_by_reason"];
  EXPECT_EQ(rejects.value("TRANSFERRING", 0), 1) << rejects.dump();
  EXPECT_EQ(rejects.value("NOT_LEADER", 0), 0) << rejects.dump();
  EXPECT_FALSE(transfer_answered);
}

}  // namespace
}  // namespace raftbgp::agent::test
