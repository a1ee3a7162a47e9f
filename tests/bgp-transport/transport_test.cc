#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "raftbgp/transport/transport.h"
#include "test_util.h"

namespace raftbgp::transport {
namespace {

using namespace raftbgp::transport::testing;  // NOLINT(google-build-using-namespace)

std::vector<std::uint64_t> ids(std::initializer_list<std::uint64_t> l) { return l; }

// Every command of `tx` through the fake ExaBGP into `rx`, without acks.
std::vector<std::string> json_lines(const std::vector<std::string>& commands) {
  std::vector<std::string> out;
  for (const auto& c : commands) out.push_back(exabgp_json_for(c));
  return out;
}

std::vector<raftbgp::v1::Message> feed(Transport& rx, const std::vector<std::string>& lines, std::uint64_t tick = 0) {
  std::vector<raftbgp::v1::Message> out;
  for (const auto& l : lines) {
    auto r = rx.on_line(l, tick);
    for (auto& m : r.messages) out.push_back(std::move(m));
  }
  return out;
}

TEST(Transport, Small_message_is_delivered_with_to_rewritten) {
  Transport a = make_transport(config_for(1)), b = make_transport(config_for(2));
  const auto m = app_message(1, 99, 200);
  const auto lines = a.send(m, ids({2}));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].rfind("announce route fd72:6166:20:100::/64 next-hop fd00:255:1::1 attribute [ 0xff 0xc0 0x", 0),
            0u);
  auto got = pump(a, b, lines);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].entries(0).data(), m.entries(0).data());
  EXPECT_EQ(got[0].to(), 2u);
  EXPECT_EQ(b.counters().messages_delivered, 1u);
  EXPECT_EQ(a.counters().frames_sent, 1u);
  EXPECT_EQ(a.counters().acks_done, 1u);
}

TEST(Transport, One_announcement_serves_a_destination_set) {
  Transport a = make_transport(config_for(1)), b = make_transport(config_for(2)), c = make_transport(config_for(3));
  const auto lines = a.send(app_message(1, 0, 100), ids({3, 2, 2, 1}));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("fd72:6166:0:100::/64"), std::string::npos) << lines[0];  // group home: dst 0, src 1
  EXPECT_EQ(feed(b, json_lines(lines)).size(), 1u);
  EXPECT_EQ(feed(c, json_lines(lines)).at(0).to(), 3u);
}

TEST(Transport, Large_message_is_fragmented_and_reassembled_in_any_order_with_duplicates) {
  Transport a = make_transport(config_for(1)), b = make_transport(config_for(2));
  const auto m = app_message(1, 2, 20000);
  auto lines = a.send(m, ids({2}));
  ASSERT_EQ(lines.size(), 8u);  // 20 KB over 2838-byte fragments
  for (const auto& l : lines) EXPECT_LE((l.size() - l.find(" 0x", l.find('[') + 10) - 5) / 2, 2900u);
  auto json = json_lines(lines);
  std::reverse(json.begin(), json.end());
  json.insert(json.begin() + 3, json[1]);  // a duplicate fragment
  auto got = feed(b, json);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].entries(0).data(), m.entries(0).data());
  EXPECT_EQ(b.counters().fragment_duplicates, 1u);
  EXPECT_EQ(feed(b, json).size(), 0u);  // the whole message again: every fragment is a replay
  EXPECT_EQ(b.counters().rejected_for(RejectReason::kReplay), json.size());
}

TEST(Transport, Lost_fragment_loses_the_message_and_ages_out) {
  TransportConfig cb = config_for(2);
  cb.reassembly.max_age_ticks = 5;
  Transport a = make_transport(config_for(1)), b = make_transport(cb);
  auto json = json_lines(a.send(app_message(1, 2, 6000), ids({2})));
  ASSERT_EQ(json.size(), 3u);
  json.erase(json.begin() + 1);
  EXPECT_TRUE(feed(b, json, 10).empty());
  EXPECT_EQ(b.counters().fragments_pending, 1u);
  b.tick(16);
  EXPECT_EQ(b.counters().fragments_pending, 0u);
  EXPECT_EQ(b.counters().reassembly_expired, 1u);
}

TEST(Transport, Session_reset_resend_delivers_nothing_twice) {
  Transport a = make_transport(config_for(1)), b = make_transport(config_for(2));
  std::vector<std::string> all;
  for (int i = 0; i < 40; ++i) {
    auto lines = a.send(app_message(1, 2, 50 + static_cast<std::size_t>(i) * 100), ids({2}));
    all.insert(all.end(), lines.begin(), lines.end());
  }
  auto json = json_lines(all);
  EXPECT_EQ(feed(b, json).size(), 40u);
  feed(b, {state_line("down"), state_line("connected"), state_line("up")});
  EXPECT_EQ(feed(b, json).size(), 0u);  // ExaBGP re-sends everything still announced
  EXPECT_EQ(b.counters().rejected_for(RejectReason::kReplay), json.size());
  EXPECT_EQ(b.counters().peer_down, 1u);
  EXPECT_EQ(b.counters().peer_up, 1u);
}

// The reviewer's finding: a frame refused as a replay was delivered again once the receiver restarted with
// empty windows. With the windows saved and restored, a new receiver process refuses it too.
TEST(Transport, Replay_after_a_receiver_restart_is_refused_when_the_state_is_restored) {
  Transport a = make_transport(config_for(1)), b = make_transport(config_for(2));
  std::vector<std::string> json;
  for (int i = 0; i < 5; ++i) {
    auto lines = json_lines(a.send(app_message(1, 2, 100 + static_cast<std::size_t>(i) * 2000), ids({2})));
    json.insert(json.end(), lines.begin(), lines.end());
  }
  EXPECT_EQ(feed(b, json).size(), 5u);
  EXPECT_EQ(b.replay_marks(), 5u);
  const Bytes saved = b.export_replay_state();

  Transport forgetful = make_transport(config_for(2));  // the old behaviour: nothing restored
  EXPECT_EQ(feed(forgetful, json).size(), 5u);          // every message delivered a second time

  Transport restarted = make_transport(config_for(2));
  auto state = ReplayGuard::import_state(saved);
  ASSERT_TRUE(std::holds_alternative<ReplayGuard>(state)) << std::get<std::string>(state);
  restarted.restore_replay_state(std::move(std::get<ReplayGuard>(state)));
  EXPECT_EQ(restarted.replay_senders(), 1u);
  EXPECT_EQ(feed(restarted, json).size(), 0u);
  EXPECT_EQ(restarted.counters().rejected_for(RejectReason::kReplay), json.size());
  EXPECT_EQ(feed(restarted, json_lines(a.send(app_message(1, 2, 10), ids({2})))).size(), 1u);  // new ones flow
}

TEST(Transport, Sender_reboot_with_a_higher_epoch_is_accepted_a_lower_one_is_replay) {
  Transport a = make_transport(config_for(1)), b = make_transport(config_for(2));
  for (int i = 0; i < 3; ++i) feed(b, json_lines(a.send(app_message(1, 2, 10), ids({2}))));
  TransportConfig c2 = config_for(1);
  c2.epoch = 2;
  Transport a2 = make_transport(c2);
  const auto new_boot = json_lines(a2.send(app_message(1, 2, 10), ids({2})));  // sequence 1 again
  EXPECT_EQ(feed(b, new_boot).size(), 1u);
  Transport a_old = make_transport(config_for(1));
  feed(b, json_lines(a_old.send(app_message(1, 2, 10), ids({2}))));
  EXPECT_EQ(b.counters().rejected_for(RejectReason::kReplay), 1u);
}

TEST(Transport, Own_echo_is_dropped_before_crypto) {
  Transport a = make_transport(config_for(1));
  feed(a, json_lines(a.send(app_message(1, 2, 10), ids({2}))));
  EXPECT_EQ(a.counters().rejected_for(RejectReason::kOwnEcho), 1u);
  EXPECT_EQ(a.counters().frames_received, 0u);
}

TEST(Transport, Frames_are_rejected_by_reason) {
  Transport a = make_transport(config_for(1));
  const auto to3 = json_lines(a.send(app_message(1, 3, 10), ids({3})));
  Transport b = make_transport(config_for(2));
  feed(b, to3);  // mail for 3 (a missing filter): ignored before any parsing of the frame
  EXPECT_EQ(b.counters().foreign_mail, 1u);
  EXPECT_EQ(b.counters().frames_received, 0u);
  feed(b, json_lines(a.send(app_message(1, 0, 10), ids({3, 4}))));  // the group home, but 2 is not named
  EXPECT_EQ(b.counters().rejected_for(RejectReason::kNotForMe), 1u);

  TransportConfig other_cluster = config_for(2);
  other_cluster.cluster_id = 8;
  Transport b8 = make_transport(other_cluster);
  feed(b8, json_lines(a.send(app_message(1, 2, 10), ids({2}))));
  EXPECT_EQ(b8.counters().rejected_for(RejectReason::kWrongCluster), 1u);

  TransportConfig wrong_key = config_for(2);
  wrong_key.keys = ring_with(1, 0x77);
  Transport bk = make_transport(wrong_key);
  feed(bk, json_lines(a.send(app_message(1, 2, 10), ids({2}))));
  EXPECT_EQ(bk.counters().rejected_for(RejectReason::kBadTag), 1u);

  TransportConfig no_key = config_for(2);
  no_key.keys = ring_with(2, 0x10);
  no_key.active_key_id = 2;
  Transport bn = make_transport(no_key);
  feed(bn, json_lines(a.send(app_message(1, 2, 10), ids({2}))));
  EXPECT_EQ(bn.counters().rejected_for(RejectReason::kUnknownKey), 1u);
  EXPECT_EQ(bn.counters().messages_delivered, 0u);
}

std::string announce_on(const std::string& prefix, const std::string& hex) {
  return exabgp_json_for("announce route " + prefix + " next-hop fd00::1 attribute [ 0xff 0xc0 0x" + hex + " ]");
}

TEST(Transport, Malformed_wrong_version_and_too_large_frames_on_a_mailbox_are_counted) {
  Transport b = make_transport(config_for(2));
  const std::string box = "fd72:6166:20:103::/64";  // dst 2 | src 1 | slot 3
  feed(b, {announce_on(box, "01020304")});
  EXPECT_EQ(b.counters().rejected_for(RejectReason::kMalformed), 1u);
  feed(b, {announce_on(box, "04" + std::string(200, '0'))});  // 3 is v3 (compressed), 4 is no version
  EXPECT_EQ(b.counters().rejected_for(RejectReason::kWrongVersion), 1u);
  feed(b, {announce_on(box, "01" + std::string(2 * kMaxFrameBytes, '0'))});
  EXPECT_EQ(b.counters().rejected_for(RejectReason::kTooLarge), 1u);
  // A genuine frame from node 1 replayed into node 3's mailbox.
  Transport a = make_transport(config_for(1));
  std::string moved = json_lines(a.send(app_message(1, 2, 10), ids({2})))[0];
  moved.replace(moved.find("fd72:6166:20:1"), 14, "fd72:6166:20:3");  // as if sent by 3
  feed(b, {moved});
  EXPECT_EQ(b.counters().rejected_for(RejectReason::kMalformed), 2u);
  // Authenticated bytes whose Message claims another sender: sealed by a key holder, so only a bug does this.
  FrameHeader h;
  h.cluster_id = 7;
  h.key_id = 1;
  h.src = 3;
  h.epoch = 1;
  h.sequence = 1;
  h.boot_id = 9;
  h.destinations = {2};
  const std::string claims_1 = app_message(1, 2, 10).SerializeAsString();
  KeyRing ring = ring_with(1, 0x10);
  const Bytes frame = seal_frame(h, Bytes(claims_1.begin(), claims_1.end()), *ring.sender_key(h.subkey_id()));
  feed(b, {announce_on("fd72:6166:20:300::/64", to_hex(frame))});
  EXPECT_EQ(b.counters().rejected_for(RejectReason::kMalformed), 3u);
  EXPECT_EQ(b.counters().messages_delivered, 0u);
}

TEST(Transport, Oversize_or_misaddressed_sends_are_refused) {
  TransportConfig c = config_for(1);
  c.reassembly.max_message_bytes = 10000;
  Transport a = make_transport(c);
  EXPECT_TRUE(a.send(app_message(1, 2, 20000), ids({2})).empty());
  EXPECT_TRUE(a.send(app_message(1, 2, 10), ids({1})).empty());     // only myself
  EXPECT_TRUE(a.send(app_message(1, 2, 10), ids({5000})).empty());  // does not fit the mailbox
  EXPECT_TRUE(a.send(app_message(7, 2, 10), ids({2})).empty());     // from is not me
  EXPECT_EQ(a.counters().send_refused, 4u);
  TransportConfig small = config_for(1);
  small.ipv6.slot_bits = 3;  // a ring of 4 slots: a message needing 8 fragments would overwrite itself
  Transport s = make_transport(small);
  EXPECT_TRUE(s.send(app_message(1, 2, 20000), ids({2})).empty());
}

TEST(Transport, Acks_pace_the_window_and_an_error_maps_to_its_command) {
  TransportConfig c = config_for(1);
  c.ack_window = 2;
  Transport a = make_transport(c);
  std::vector<std::string> written;
  for (int i = 0; i < 5; ++i) {
    auto l = a.send(app_message(1, 2, 10), ids({2}));
    written.insert(written.end(), l.begin(), l.end());
  }
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(a.counters().queue_waiting, 3u);
  auto r = a.on_line("error", 0);
  EXPECT_EQ(a.last_error_command(), written[0]);
  ASSERT_EQ(r.lines.size(), 1u);
  a.on_line("done", 0);
  a.on_line("done", 0);
  a.on_line("done", 0);
  a.on_line("done", 0);
  EXPECT_EQ(a.on_line("done", 0).lines.size(), 0u);
  EXPECT_EQ(a.counters().acks_done, 5u);
  EXPECT_EQ(a.counters().acks_error, 1u);
  EXPECT_EQ(a.counters().acks_unexpected, 1u);
}

TEST(Transport, Slots_rotate_and_withdraw_announced_cleans_up) {
  TransportConfig c = config_for(1);
  c.ipv6.slot_bits = 3;  // a ring of 4 slots beside the 4 presence slots
  Transport a = make_transport(c);
  std::vector<std::string> prefixes;
  for (int i = 0; i < 5; ++i) {
    auto l = a.send(app_message(1, 2, 10), ids({2}));
    prefixes.push_back(l.at(0).substr(15, l.at(0).find(' ', 15) - 15));
    a.on_line("done", 0);
  }
  EXPECT_EQ(prefixes[0], prefixes[4]);
  EXPECT_NE(prefixes[0], prefixes[1]);
  auto w = a.withdraw_announced();
  EXPECT_EQ(w.size(), 4u);
  EXPECT_EQ(w[0].rfind("withdraw route fd72:6166:20:10", 0), 0u);
  EXPECT_TRUE(a.withdraw_announced().empty());
}

// The prefix an announce or withdraw command names.
std::string prefix_of(const std::string& command) {
  const std::size_t start = command.find("route ") + 6;
  return command.substr(start, command.find(' ', start) - start);
}

TEST(Transport, A_slot_is_reused_only_after_slot_reuse_ticks_and_the_ring_grows_meanwhile) {
  TransportConfig c = config_for(1);
  c.slot_reuse_ticks = 2;
  c.slot_ttl_ticks = 10;
  Transport a = make_transport(c);
  std::vector<std::string> at0;
  for (int i = 0; i < 3; ++i) at0.push_back(prefix_of(a.send(app_message(1, 2, 10), ids({2})).at(0)));
  for (int i = 0; i < 3; ++i) a.on_line("done", 0);  // ExaBGP took them at tick 0: they age from there
  EXPECT_EQ(at0, (std::vector<std::string>{"fd72:6166:20:100::/64", "fd72:6166:20:101::/64", "fd72:6166:20:102::/64"}));
  a.tick(1);  // one tick later: still too young to be replaced (a transit may hold the update in its queue)
  EXPECT_EQ(prefix_of(a.send(app_message(1, 2, 10), ids({2})).at(0)), "fd72:6166:20:103::/64");
  a.on_line("done", 1);
  a.tick(2);  // slots 0..2 are two ticks old now: the lowest is taken again
  EXPECT_EQ(prefix_of(a.send(app_message(1, 2, 10), ids({2})).at(0)), "fd72:6166:20:100::/64");
  EXPECT_EQ(a.counters().slots_reused_early, 0u);
  EXPECT_EQ(a.counters().mailbox_routes, 4u);
}

TEST(Transport, Idle_slots_are_withdrawn_after_slot_ttl_ticks_and_the_footprint_returns_to_zero) {
  TransportConfig c = config_for(1);
  c.slot_ttl_ticks = 5;
  Transport a = make_transport(c), b = make_transport(config_for(2));
  std::vector<std::string> sent;
  for (int i = 0; i < 40; ++i)  // a burst: the ring grows to 40 slots at tick 0
    for (auto& l : a.send(app_message(1, 2, 10), ids({2}))) sent.push_back(l);
  for (int i = 0; i < 40; ++i) a.on_line("done", 0);
  EXPECT_EQ(a.counters().mailbox_routes, 40u);
  EXPECT_TRUE(a.tick(4).empty());
  a.send(app_message(1, 3, 10), ids({3}));  // at tick 4: lives until tick 9
  a.on_line("done", 4);
  const auto withdrawn = a.tick(5);
  EXPECT_EQ(withdrawn.size(), 40u);
  EXPECT_EQ(withdrawn.front(), "withdraw route fd72:6166:20:100::/64");
  EXPECT_EQ(a.counters().mailbox_routes, 1u);
  for (int i = 0; i < 40; ++i) a.on_line("done", 5);
  EXPECT_EQ(a.tick(9), std::vector<std::string>{"withdraw route fd72:6166:30:100::/64"});
  EXPECT_EQ(a.counters().mailbox_routes, 0u);
  EXPECT_TRUE(a.withdraw_announced().empty());
  // The receiver counts the withdrawals and delivers nothing twice.
  EXPECT_EQ(feed(b, json_lines(sent)).size(), 40u);
  EXPECT_TRUE(feed(b, json_lines(withdrawn)).empty());
  EXPECT_EQ(b.counters().prefixes_withdrawn, 40u);
}

TEST(Transport, A_slot_whose_announcement_still_waits_is_neither_retaken_nor_withdrawn) {
  TransportConfig c = config_for(1);
  c.ack_window = 1;  // ExaBGP is slow: commands wait in our queue
  c.slot_ttl_ticks = 5;
  Transport a = make_transport(c);
  for (int i = 0; i < 3; ++i) a.send(app_message(1, 2, 10), ids({2}));
  EXPECT_EQ(a.counters().queue_waiting, 2u);
  EXPECT_TRUE(a.tick(20).empty()) << "nothing acknowledged yet: nothing to age, nothing to withdraw";
  // Taking slot 0 again now would put two versions of one prefix in the pipe together, and a transit keeps only
  // the newer (docs/exabgp.md §4.1).
  a.send(app_message(1, 2, 10), ids({2}));
  std::vector<std::string> written;
  for (int i = 0; i < 4; ++i)
    for (auto& l : a.on_line("done", 20).lines) written.push_back(prefix_of(l));
  EXPECT_EQ(written,
            (std::vector<std::string>{"fd72:6166:20:101::/64", "fd72:6166:20:102::/64", "fd72:6166:20:103::/64"}));
  EXPECT_EQ(a.counters().slots_reused_early, 0u);
  EXPECT_EQ(a.tick(25).size(), 1u);  // acknowledged at tick 20: withdrawn 5 ticks later (one line: window 1)
}

TEST(Transport, When_every_slot_is_young_the_oldest_is_reused_and_counted) {
  TransportConfig c = config_for(1);
  c.ipv6.slot_bits = 3;  // a ring of 4 slots beside the 4 presence slots
  Transport a = make_transport(c);
  for (int i = 0; i < 4; ++i) a.send(app_message(1, 2, 10), ids({2}));
  a.tick(1);
  a.send(app_message(1, 2, 10), ids({2}));  // slot 0 was announced at tick 0, the oldest
  EXPECT_EQ(a.counters().slots_reused_early, 1u);
  EXPECT_EQ(a.counters().mailbox_routes, 4u);
}

TEST(Transport, A_presence_route_outlives_the_slot_ttl_is_replaced_in_place_and_goes_only_when_released) {
  TransportConfig c = config_for(1);
  c.slot_ttl_ticks = 5;
  Transport a = make_transport(c);
  const auto first = a.send(app_message(1, 0, 10), ids({2, 3}), 0);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(prefix_of(first[0]), "fd72:6166:0:1ff::/64");  // group home, slot 255: the top slot
  a.on_line("done", 0);
  EXPECT_TRUE(a.tick(100).empty()) << "a presence route is never withdrawn by age";
  EXPECT_EQ(prefix_of(a.send(app_message(1, 0, 10), ids({2, 3}), 0).at(0)), "fd72:6166:0:1ff::/64");
  EXPECT_EQ(prefix_of(a.send(app_message(1, 0, 10), ids({2, 3}), 1).at(0)), "fd72:6166:0:1fe::/64");
  EXPECT_EQ(a.presence_routes(), 2u);
  EXPECT_EQ(a.counters().mailbox_routes, 2u);
  a.on_line("done", 100);
  a.on_line("done", 100);
  const auto released = a.release_presence();
  EXPECT_EQ(released,
            (std::vector<std::string>{"withdraw route fd72:6166:0:1fe::/64", "withdraw route fd72:6166:0:1ff::/64"}));
  EXPECT_EQ(a.presence_routes(), 0u);
  EXPECT_EQ(a.counters().mailbox_routes, 0u);
  EXPECT_TRUE(a.release_presence().empty());
}

TEST(Transport, The_ring_never_takes_a_presence_slot_and_a_presence_message_must_fit_one_fragment) {
  TransportConfig c = config_for(1);
  c.ipv6.slot_bits = 3;  // 8 slots: ring 0..3, presence 4..7
  Transport a = make_transport(c);
  std::set<std::string> ring;
  for (int i = 0; i < 6; ++i) ring.insert(prefix_of(a.send(app_message(1, 2, 10), ids({2})).at(0)));
  EXPECT_EQ(ring.size(), 4u) << "six sends in one tick: four ring slots, two reused early";
  EXPECT_EQ(a.counters().slots_reused_early, 2u);
  for (std::uint32_t n = 0; n < kPresenceSlots; ++n)
    EXPECT_EQ(ring.count(prefix_of(a.send(app_message(1, 2, 10), ids({2}), n).at(0))), 0u) << "presence " << n;
  EXPECT_TRUE(a.send(app_message(1, 2, 5000), ids({2}), 0).empty()) << "two fragments cannot share one presence slot";
  EXPECT_TRUE(a.send(app_message(1, 2, 10), ids({2}), kPresenceSlots).empty());
  EXPECT_EQ(a.counters().send_refused, 2u);
  c.ipv6.slot_bits = 2;
  EXPECT_TRUE(std::holds_alternative<std::string>(Transport::create(c))) << "no room for a ring beside presence";
}

TEST(Transport, A_receiver_reports_the_withdrawal_of_a_presence_route_for_it_and_nothing_else) {
  Transport a = make_transport(config_for(1)), b = make_transport(config_for(2));
  std::vector<std::string> lines = a.send(app_message(1, 0, 10), ids({2, 3}), 0);  // group presence
  for (auto& l : a.send(app_message(1, 3, 10), ids({3}), 0)) lines.push_back(l);   // presence for node 3 only
  for (auto& l : a.send(app_message(1, 2, 10), ids({2}))) lines.push_back(l);      // ring slot for node 2
  EXPECT_EQ(feed(b, json_lines(lines)).size(), 2u) << "node 3's mail is not for node 2";
  for (int i = 0; i < 3; ++i) a.on_line("done", 0);
  std::vector<std::string> gone = a.withdraw_announced();
  ASSERT_EQ(gone.size(), 3u);
  std::vector<std::uint64_t> reported;
  for (const std::string& l : json_lines(gone))
    for (std::uint64_t src : b.on_line(l, 0).presence_withdrawn) reported.push_back(src);
  EXPECT_EQ(reported, std::vector<std::uint64_t>{1});
  EXPECT_EQ(b.counters().presence_withdrawn, 1u);
}

TEST(Transport, Leftovers_of_an_earlier_incarnation_are_withdrawn_unless_announced_again) {
  Transport first = make_transport(config_for(1));
  first.send(app_message(1, 2, 10), ids({2}));
  first.send(app_message(1, 0, 10), ids({2, 3}));
  const std::vector<IpPrefix> record = first.slot_prefixes();
  ASSERT_EQ(record.size(), 2u);
  Transport again = make_transport(config_for(1));
  again.send(app_message(1, 2, 10), ids({2}));  // takes slot 0 of mailbox 2 again: not withdrawn
  std::vector<IpPrefix> with_junk = record;
  with_junk.push_back(*IpPrefix::parse("fd72:6166:20:300::/64"));  // 3 -> 2: not ours, never withdrawn
  with_junk.push_back(*IpPrefix::parse("10.9.0.0/24"));
  std::vector<std::string> lines;
  for (auto& l : again.withdraw_leftovers(with_junk)) lines.push_back(l);
  for (int i = 0; i < 3; ++i)
    for (auto& l : again.on_line("done", 0).lines) lines.push_back(l);
  EXPECT_EQ(lines, std::vector<std::string>{"withdraw route fd72:6166:0:100::/64"});
}

TEST(Transport, Frames_in_the_v1_layout_are_still_opened_and_own_echoes_in_either_reading_dropped) {
  Transport a = make_transport(config_for(1)), b = make_transport(config_for(2));
  // What a raftbgp 0.1 node 1 announced for node 2: its prefix in the v1 layout (src first).
  std::string line = a.send(app_message(1, 2, 10), ids({2})).at(0);
  line.replace(line.find("fd72:6166:20:100"), 16, "fd72:6166:10:200");
  EXPECT_EQ(feed(b, json_lines({line})).size(), 1u);
  // v1 group home of node 1 (src 1, dst 0).
  std::string group = a.send(app_message(1, 0, 10), ids({2, 3})).at(0);
  group.replace(group.find("fd72:6166:0:100::/64"), 20, "fd72:6166:10::/64");
  EXPECT_EQ(feed(b, json_lines({group})).size(), 1u);
  // Node 1's own v2 route to 2 comes back to it (FRR echo); read as v1 it would be mail from 2 for 1.
  feed(a, json_lines(a.send(app_message(1, 2, 10), ids({2}))));
  EXPECT_EQ(a.counters().rejected_for(RejectReason::kOwnEcho), 1u);
  EXPECT_EQ(b.counters().rejected_for(RejectReason::kMalformed), 0u);
}

TEST(Transport, Ipv4_mailboxes_use_next_hop_self) {
  Transport a = make_transport(config_for(1, Family::kIpv4)), b = make_transport(config_for(2, Family::kIpv4));
  auto lines = a.send(app_message(1, 2, 100), ids({2}));
  EXPECT_EQ(lines.at(0).rfind("announce route 10.200.16.64/32 next-hop self attribute [ 0xff 0xc0 0x", 0), 0u);
  EXPECT_EQ(pump(a, b, lines).size(), 1u);
}

TEST(Transport, Other_lines_are_counted_not_fatal) {
  Transport b = make_transport(config_for(2));
  feed(b, {"garbage", exabgp_json_for("announce route 10.9.0.0/24 next-hop self attribute [ 0xff 0xc0 0x01 ]"),
           exabgp_json_for("withdraw route fd72:6166:10:203::/64"), R"({ "exabgp": "4.0.1", "type": "x" })",
           R"({ "exabgp": "4.0.1", "type": "notification", "notification": "shutdown" })"});
  EXPECT_EQ(b.counters().line_errors_for(LineError::kUnknownText), 1u);
  EXPECT_EQ(b.counters().line_errors_for(LineError::kUnknownType), 1u);
  EXPECT_EQ(b.counters().not_mailbox, 1u);
  EXPECT_EQ(b.counters().prefixes_withdrawn, 1u);
  EXPECT_EQ(b.counters().notifications, 1u);
  EXPECT_EQ(b.counters().lines, 5u);
}

TEST(Transport, Config_errors_name_the_field) {
  auto err = [](TransportConfig c) {
    auto t = Transport::create(std::move(c));
    return std::holds_alternative<std::string>(t) ? std::get<std::string>(t) : std::string();
  };
  TransportConfig c = config_for(1);
  c.attribute_code = 0xfe;
  EXPECT_NE(err(c).find("attribute"), std::string::npos);
  c = config_for(1);
  c.next_hop_ipv6 = "self";
  EXPECT_NE(err(c).find("next_hop"), std::string::npos);
  c = config_for(1);
  c.epoch = 0;
  EXPECT_NE(err(c).find("epoch"), std::string::npos);
  c = config_for(1);
  c.active_key_id = 9;
  EXPECT_NE(err(c).find("active_key_id"), std::string::npos);
  c = config_for(1);
  c.payload_budget = 70000;
  EXPECT_NE(err(c).find("payload_budget"), std::string::npos);
  c = config_for(1);
  c.members.push_back(5000);
  EXPECT_NE(err(c).find("members"), std::string::npos);
  c = config_for(1);
  c.ipv4.src_bits = 16;
  EXPECT_NE(err(c).find("ipv4"), std::string::npos);
}

}  // namespace
}  // namespace raftbgp::transport
