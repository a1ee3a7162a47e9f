// status.cluster (the leader's view from any node, agent_core.h "Cluster status") and the watch streams (watch.h):
// the forward and its answer, the refusals (no leader, timeout, an older leader), the view's frame budget at 32
// members, the per-subscriber queue that drops a slow watcher, history for --from-index, snapshots.
#include <gtest/gtest.h>

#include "agent_net.h"
#include "raftbgp/agent/control.h"
#include "raftbgp/agent/watch.h"

namespace raftbgp::agent::test {
namespace {

using nlohmann::json;

// The items a stream has queued now, events parsed.
std::vector<json> drain(WatchStream& s, std::optional<Refusal>* end = nullptr) {
  std::vector<json> out;
  while (auto item = s.next()) {
    if (auto* r = std::get_if<Refusal>(&*item)) {
      if (end != nullptr) *end = *r;
      continue;
    }
    out.push_back(json::parse(std::get<std::string>(*item)));
  }
  return out;
}

StateChange kv_change(raft::Index index, const std::string& key, std::optional<std::string> was,
                      std::optional<std::string> now) {
  StateChange c;
  c.index = index;
  c.key = key;
  c.old_value = std::move(was);
  c.new_value = std::move(now);
  return c;
}

std::shared_ptr<WatchStream> subscribe(WatchHub& hub, WatchFilter f, std::optional<raft::Index> from = std::nullopt) {
  auto s = hub.subscribe(std::move(f), from);
  EXPECT_TRUE(std::holds_alternative<std::shared_ptr<WatchStream>>(s));
  return std::get<std::shared_ptr<WatchStream>>(s);
}

// -------------------------------------------------------------------------------------------- the hub

TEST(WatchHub, Streams_only_matching_changes_with_index_old_and_new) {
  WatchHub hub;
  auto all = subscribe(hub, {StateChange::Table::kKv, ""});
  auto app = subscribe(hub, {StateChange::Table::kKv, "app/"});
  auto pol = subscribe(hub, {StateChange::Table::kPolicy, ""});
  hub.publish(kv_change(5, "app/x", std::nullopt, "1"));
  hub.publish(kv_change(6, "other", "a", "b"));
  hub.publish(kv_change(7, "app/x", "1", std::nullopt));
  const auto a = drain(*all), b = drain(*app);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[1], json::parse(R"({"index":6,"key":"other","old":"a","new":"b"})"));
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0], json::parse(R"({"index":5,"key":"app/x","old":null,"new":"1"})"));
  EXPECT_EQ(b[1], json::parse(R"({"index":7,"key":"app/x","old":"1","new":null})"));
  EXPECT_TRUE(drain(*pol).empty());
  EXPECT_EQ(all->last_sent_index(), 7u);
}

TEST(WatchHub, Slow_watcher_is_dropped_with_too_slow_naming_the_resume_index_and_others_keep_streaming) {
  WatchHub hub(WatchLimits{/*max_queued_events=*/3, /*max_queued_bytes=*/1 << 20, /*history=*/16});
  auto slow = subscribe(hub, {StateChange::Table::kKv, ""});
  auto fast = subscribe(hub, {StateChange::Table::kKv, ""});
  int wakeups = 0;
  slow->set_wakeup([&] { ++wakeups; });
  hub.publish(kv_change(1, "k", std::nullopt, "1"));
  ASSERT_EQ(drain(*slow).size(), 1u);  // read one, then stop reading
  ASSERT_EQ(drain(*fast).size(), 1u);
  for (raft::Index i = 2; i <= 6; ++i) {
    hub.publish(kv_change(i, "k", std::to_string(i - 1), std::to_string(i)));
    EXPECT_EQ(drain(*fast).size(), 1u) << "the fast watcher is not held back";
  }
  EXPECT_EQ(hub.dropped(), 1u);
  std::optional<Refusal> end;
  EXPECT_TRUE(drain(*slow, &end).empty()) << "its backlog is discarded, not sent";
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->code, ErrorCode::kTooSlow);
  EXPECT_NE(end->message.find("--from-index 2"), std::string::npos) << end->message;
  EXPECT_TRUE(slow->finished());
  // Woken when an item lands in an empty queue (index 1, index 2, then the error line), not once per item.
  EXPECT_EQ(wakeups, 3);
  hub.publish(kv_change(7, "k", "6", "7"));
  EXPECT_EQ(hub.subscribers(), 1u) << "the dropped watcher is forgotten";
  EXPECT_FALSE(slow->next().has_value());
}

TEST(WatchHub, Byte_limit_drops_too) {
  WatchHub hub(WatchLimits{1000, /*max_queued_bytes=*/200, 16});
  auto s = subscribe(hub, {StateChange::Table::kKv, ""});
  hub.publish(kv_change(1, "k", std::nullopt, std::string(150, 'v')));
  hub.publish(kv_change(2, "k", std::nullopt, std::string(150, 'v')));
  std::optional<Refusal> end;
  EXPECT_TRUE(drain(*s, &end).empty());
  ASSERT_TRUE(end);
  EXPECT_EQ(end->code, ErrorCode::kTooSlow);
}

TEST(WatchHub, From_index_replays_kept_history_then_live_and_refuses_what_is_gone) {
  WatchHub hub(WatchLimits{100, 1 << 20, /*history=*/3});
  for (raft::Index i = 1; i <= 5; ++i) hub.publish(kv_change(i, "k" + std::to_string(i), std::nullopt, "v"));
  EXPECT_EQ(hub.history_from(), 3u) << "entries 1 and 2 fell out of the history";
  auto s = subscribe(hub, {StateChange::Table::kKv, ""}, 4);
  hub.publish(kv_change(6, "k6", std::nullopt, "v"));
  const auto events = drain(*s);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0]["index"], 4);
  EXPECT_EQ(events[2]["index"], 6);
  auto gone = hub.subscribe({StateChange::Table::kKv, ""}, 2);
  ASSERT_TRUE(std::holds_alternative<Refusal>(gone));
  EXPECT_EQ(std::get<Refusal>(gone).code, ErrorCode::kNotFound);
  EXPECT_NE(std::get<Refusal>(gone).message.find("before index 4"), std::string::npos)
      << std::get<Refusal>(gone).message;
  EXPECT_TRUE(std::holds_alternative<std::shared_ptr<WatchStream>>(hub.subscribe({}, 100)))
      << "a future index just waits for it";
}

TEST(WatchHub, End_all_sends_what_is_queued_then_shutting_down_and_cancel_discards) {
  WatchHub hub;
  auto a = subscribe(hub, {});
  auto b = subscribe(hub, {});
  hub.publish(kv_change(1, "k", std::nullopt, "v"));
  b->cancel();
  hub.end_all(Refusal{ErrorCode::kShuttingDown, "stopping"});
  std::optional<Refusal> end;
  EXPECT_EQ(drain(*a, &end).size(), 1u);
  ASSERT_TRUE(end);
  EXPECT_EQ(end->code, ErrorCode::kShuttingDown);
  EXPECT_FALSE(b->next().has_value());
  EXPECT_EQ(hub.subscribers(), 0u);
}

// ------------------------------------------------------------------ the state machine's change feed

TEST(WatchHub, State_machine_reports_puts_deletes_policy_and_a_restored_snapshots_difference) {
  StateMachine sm;
  WatchHub hub;
  hub.attach(sm);
  auto kv = subscribe(hub, {StateChange::Table::kKv, ""});
  auto pol = subscribe(hub, {StateChange::Table::kPolicy, ""});
  sm.apply(1, put_command("c", 1, "a", "1"));
  sm.apply(2, put_command("c", 2, "a", "2"));
  sm.apply(3, put_command("c", 2, "a", "ignored"));  // a retry applies nothing, reports nothing
  v1::Command del;
  del.set_client_id("c");
  del.set_seq(3);
  del.mutable_kv_delete()->set_key("a");
  sm.apply(4, del);
  v1::Command add;
  add.set_client_id("c");
  add.set_seq(4);
  add.mutable_policy_add()->mutable_route()->set_prefix("192.0.2.0/24");
  sm.apply(5, add);
  auto events = drain(*kv);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1], json::parse(R"({"index":2,"key":"a","old":"1","new":"2"})"));
  EXPECT_EQ(events[2], json::parse(R"({"index":4,"key":"a","old":"2","new":null})"));
  auto policy = drain(*pol);
  ASSERT_EQ(policy.size(), 1u);
  EXPECT_EQ(policy[0]["prefix"], "192.0.2.0/24");
  EXPECT_TRUE(policy[0]["old"].is_null());
  EXPECT_EQ(policy[0]["new"]["prefix"], "192.0.2.0/24");

  // A snapshot holding b=9 and no policy replaces this state: its difference, marked, at its index.
  StateMachine other;
  other.apply(1, put_command("d", 1, "b", "9"));
  for (raft::Index i = 2; i <= 10; ++i) other.skip(i);
  ASSERT_FALSE(sm.restore(other.serialize(), 10).has_value());
  events = drain(*kv);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], json::parse(R"({"index":10,"key":"b","old":null,"new":"9","snapshot":true})"));
  policy = drain(*pol);
  ASSERT_EQ(policy.size(), 1u);
  EXPECT_TRUE(policy[0]["new"].is_null());
  EXPECT_EQ(hub.history_from(), 11u) << "the history restarts after the snapshot";
  sm.apply(11, put_command("d", 2, "b", "10"));
  EXPECT_EQ(drain(*kv).size(), 1u) << "the observer survives restore()";
}

// ------------------------------------------------------------------------- status.cluster in a cluster

// Three started nodes with a leader; f is a follower.
struct Three {
  AgentNet net{3, {1, 2, 3}};
  std::size_t lead = 0, f = 1;
  Three() {
    net.start_all();
    const int l = net.wait_leader();
    EXPECT_GE(l, 0);
    lead = static_cast<std::size_t>(std::max(l, 0));
    f = (lead + 1) % 3;
  }
};

TEST(ClusterStatus, Follower_answers_with_the_leaders_view_forwarded) {
  Three t;
  auto& [net, lead, f] = t;
  ASSERT_TRUE(net.request(lead, "kv.put", {{"key", "k"}, {"value", "v"}}, "c", 1).ok);
  net.settle();
  ClientResponse r = net.request(f, "status.cluster", json::object());
  ASSERT_TRUE(r.ok) << r.code << ": " << r.message;
  EXPECT_EQ(r.result["leader"], lead + 1);
  EXPECT_EQ(r.result["node_id"], f + 1);
  EXPECT_EQ(r.result["forwarded"], true);
  EXPECT_EQ(r.result["voters"], json::array({1, 2, 3}));
  ASSERT_EQ(r.result["members"].size(), 3u);
  const std::uint64_t last = r.result["last_index"];
  for (const json& m : r.result["members"]) {
    EXPECT_EQ(m["match"].get<std::uint64_t>() + m["lag"].get<std::uint64_t>(), last) << m;
    EXPECT_EQ(m["state"], m["id"] == lead + 1 ? "self" : "replicate") << m;
    EXPECT_TRUE(m.contains("last_contact_ms")) << m;
  }
  // The leader answers the same question itself, with the same shape.
  ClientResponse own = net.request(lead, "status.cluster", json::object());
  ASSERT_TRUE(own.ok);
  EXPECT_EQ(own.result["forwarded"], false);
  EXPECT_EQ(own.result["members"].size(), 3u);
  EXPECT_EQ(own.result["term"], r.result["term"]);
}

TEST(ClusterStatus, No_leader_is_no_leader_and_nothing_is_sent) {
  AgentNet net(3, {1, 2, 3});
  net.start(0);  // alone: never elected
  net.settle(5);
  ClientResponse r = net.request(0, "status.cluster", json::object());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, ErrorCode::kNoLeader) << r.message;
  EXPECT_EQ(net.core(0).pending_requests(), 0u);
}

TEST(ClusterStatus, Leader_that_does_not_answer_is_a_timeout_naming_it) {
  Three t;
  auto& [net, lead, f] = t;
  net.fabric().set_loss(1.0);  // the forward never arrives
  ClientResponse r = net.request(f, "status.cluster", json::object(), "", 0, /*timeout_ms=*/300);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, ErrorCode::kTimeout) << r.message;
  EXPECT_NE(r.message.find("leader " + std::to_string(lead + 1) + " did not answer"), std::string::npos) << r.message;
}

TEST(ClusterStatus, Garbage_requests_are_bad_request_and_leave_nothing_pending) {
  Three t;
  AgentNet& net = t.net;
  for (const char* op : {"status.clusters", "status.", "kv.watchx"}) {
    ClientResponse r = net.request(1, op, json::object());
    EXPECT_EQ(r.code, ErrorCode::kBadRequest) << op;
  }
  for (const char* line :
       {R"({"id":1,"op":"status.cluster","args":{},"extra":true})", R"({"id":1,"op":"status.cluster","args":[]})",
        R"({"op":["status.cluster"]})", "status --cluster"}) {
    EXPECT_TRUE(std::holds_alternative<RequestError>(parse_request(line))) << line;
  }
  EXPECT_EQ(net.core(1).pending_requests(), 0u);
}

TEST(ClusterStatus, View_of_32_members_fits_one_transport_frame) {
  // 5 voters + 27 learners, every number at a large value, the longest state name.
  v1::ClusterView v;
  v.set_leader(32);
  v.set_term(1ULL << 40);
  v.set_commit(1ULL << 50);
  v.set_last_index(1ULL << 50);
  v.set_applied(1ULL << 50);
  for (std::uint64_t id = 1; id <= 32; ++id) {
    (id <= 5 ? v.add_voters(id) : v.add_learners(id));
    v1::ClusterView::Member* m = v.add_members();
    m->set_id(id);
    m->set_match((1ULL << 50) - id);
    m->set_state("replicate");
    m->set_last_contact_ms(86400000);
  }
  v1::ForwardReject answer;
  answer.set_origin_request(1ULL << 62);
  answer.set_leader(32);
  *answer.mutable_cluster_view() = v;
  raft::Message msg;
  msg.set_type(raft::MessageType::MSG_FORWARD_RESP);
  msg.set_from(32);
  msg.set_to(31);
  msg.set_term(1ULL << 40);
  msg.set_context(answer.SerializeAsString());

  TempDir dir;
  AgentConfig c = node_config(32, dir.path());
  c.members = {1, 2, 3, 4, 5};
  for (std::uint64_t id = 6; id <= 32; ++id) c.learners.push_back(id);
  auto tx = transport::Transport::create(transport_config(c, test_keys(), 1));
  ASSERT_TRUE(std::holds_alternative<transport::Transport>(tx)) << std::get<std::string>(tx);
  const std::uint64_t to = 31;
  // A presence send is refused unless it fits one fragment (transport.h): so this passing means one frame.
  const auto lines = std::get<transport::Transport>(tx).send(msg, std::span<const std::uint64_t>(&to, 1), 0);
  ASSERT_EQ(lines.size(), 1u) << "the view needs more than one frame: " << msg.ByteSizeLong() << " bytes";
  EXPECT_LT(msg.ByteSizeLong(), c.payload_budget / 2) << "and leaves room";
}

// ---------------------------------------------------------------------------------- watches in a cluster

TEST(Watch, Follower_streams_a_write_made_on_another_node) {
  Three t;
  auto& [net, lead, f] = t;
  ClientResponse w = net.request(f, "kv.watch", {{"prefix", "app/"}});
  ASSERT_TRUE(w.ok) << w.message;
  ASSERT_TRUE(w.stream);
  EXPECT_EQ(w.result["watching"], "kv");
  ClientResponse p = net.request(f, "policy.watch", json::object());
  ASSERT_TRUE(p.ok && p.stream);
  const std::size_t writer = (f + 1) % 3;
  ASSERT_TRUE(net.request(writer, "kv.put", {{"key", "app/a"}, {"value", "1"}}, "w", 1).ok);
  ASSERT_TRUE(net.request(writer, "kv.put", {{"key", "zzz"}, {"value", "1"}}, "w", 2).ok);
  ASSERT_TRUE(net.request(writer, "kv.put", {{"key", "app/a"}, {"value", "2"}}, "w", 3).ok);
  ASSERT_TRUE(net.request(writer, "policy.add", {{"prefix", "192.0.2.0/24"}}, "w", 4).ok);
  net.settle();
  const auto events = drain(*w.stream);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["key"], "app/a");
  EXPECT_TRUE(events[0]["old"].is_null());
  EXPECT_EQ(events[1]["old"], "1");
  EXPECT_EQ(events[1]["new"], "2");
  EXPECT_LT(events[0]["index"].get<std::uint64_t>(), events[1]["index"].get<std::uint64_t>());
  const auto routes = drain(*p.stream);
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0]["prefix"], "192.0.2.0/24");
  // --from-index: the same two changes again, from this node's history.
  ClientResponse again = net.request(f, "kv.watch", {{"prefix", "app/"}, {"from_index", 1}});
  ASSERT_TRUE(again.ok) << again.message;
  EXPECT_EQ(drain(*again.stream), events);
  EXPECT_EQ(net.core(f).status_json()["watches"]["subscribers"], 3);
  // Shutdown ends every stream with shutting_down.
  net.core(f).shutdown();
  std::optional<Refusal> end;
  drain(*p.stream, &end);
  ASSERT_TRUE(end);
  EXPECT_EQ(end->code, ErrorCode::kShuttingDown);
}

TEST(Watch, Bad_arguments_are_bad_request_and_subscribe_nothing) {
  AgentNet net(3, {1, 2, 3});
  net.start_all();
  for (const json& args :
       {json{{"prefix", 5}}, json{{"from_index", -1}}, json{{"from_index", "7"}}, json{{"from_index", 0}}}) {
    ClientResponse r = net.request(0, "kv.watch", args);
    EXPECT_FALSE(r.ok) << args;
    EXPECT_EQ(r.code, ErrorCode::kBadRequest) << args << ": " << r.message;
    EXPECT_FALSE(r.stream) << args;
  }
  EXPECT_EQ(net.core(0).watches().subscribers(), 0u);
}

}  // namespace
}  // namespace raftbgp::agent::test
