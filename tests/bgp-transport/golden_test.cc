// Golden tests: lines captured from the real ExaBGP 4.2.21 (tests/bgp-transport/golden/README.md).
//  - the formatter still prints exactly the commands ExaBGP acknowledged with "done";
//  - every line ExaBGP wrote parses, and C's stream decodes to the outcome in c_stdin.expected.
// RAFTBGP_GOLDEN_REWRITE=1 rewrites c_stdin.expected from the current decoder (then review the diff).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "golden_commands.h"
#include "raftbgp/transport/transport.h"

namespace raftbgp::transport {
namespace {

const std::string kDir = RAFTBGP_GOLDEN_DIR;

std::vector<std::string> read_lines(const std::string& name) {
  std::ifstream in(kDir + "/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

std::string read_text(const std::string& name) {
  std::ifstream in(kDir + "/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool is_ack(const std::string& l) { return l == "done" || l == "error"; }

TEST(Golden, Formatter_prints_exactly_the_commands_exabgp_accepted) {
  EXPECT_EQ(golden::golden_commands("fd00:255:2::1"), read_lines("commands.txt"));
  const auto sent = read_lines("a_commands_sent.txt");
  std::vector<std::string> acks;
  for (const auto& l : read_lines("a_stdin.log"))
    if (is_ack(l)) acks.push_back(l);
  ASSERT_EQ(acks.size(), sent.size());
  const auto commands = read_lines("commands.txt");
  for (std::size_t i = 0; i < sent.size(); ++i) {
    const bool ours = std::find(commands.begin(), commands.end(), sent[i]) != commands.end() ||
                      sent[i].rfind("withdraw route ", 0) == 0;
    EXPECT_EQ(acks[i], ours ? "done" : "error") << sent[i].substr(0, 80);
  }
  // The withdraw commands sent are what format_withdraw prints.
  EXPECT_EQ(sent[sent.size() - 2], format_withdraw("", *IpPrefix::parse("fd72:6166:20:100::/64")));
  EXPECT_EQ(sent.back(), format_withdraw("", *IpPrefix::parse("10.200.16.64/32")));
}

TEST(Golden, Every_line_exabgp_wrote_parses) {
  for (const char* file : {"a_stdin.log", "c_stdin.log", "v1/c_stdin.log", "layout-v1/c_stdin.log"})
    for (const auto& l : read_lines(file)) {
      const ExabgpLine p = parse_exabgp_line(l, 0xff);
      EXPECT_FALSE(std::holds_alternative<LineError>(p))
          << to_string(std::get<LineError>(p)) << ": " << l.substr(0, 120);
    }
}

std::string describe_message(const raftbgp::v1::Message& m) {
  std::ostringstream o;
  o << "delivered " << raftbgp::v1::MessageType_Name(m.type()) << " from=" << m.from() << " to=" << m.to()
    << " term=" << m.term() << " index=" << m.index() << " entries=" << m.entries_size();
  if (m.entries_size() > 0) o << " data=" << m.entries(0).data().size();
  return o.str();
}

// One line per input line: what the transport of node 2 made of it.
std::string describe(Transport& t, const std::string& line) {
  const ExabgpLine raw = parse_exabgp_line(line, 0xff);
  const Counters before = t.counters();
  const Transport::Received r = t.on_line(line, 0);
  std::ostringstream o;
  if (const auto* s = std::get_if<StateEvent>(&raw)) {
    o << "state " << s->state << " peer=" << s->peer << (s->reason.empty() ? "" : " reason=" + s->reason);
  } else if (const auto* n = std::get_if<NotificationEvent>(&raw)) {
    o << "notification " << n->notification;
  } else if (const auto* u = std::get_if<UpdateEvent>(&raw)) {
    for (const auto& e : u->eor) o << "eor " << e;
    for (const auto& w : u->withdrawn) o << "withdraw " << w.to_string();
    for (const auto& a : u->announced) o << "announce " << a.to_string();
    if (u->payload)
      o << " attr=" << u->payload->size() << (line.find("-0xF0\"") != std::string::npos ? " 0xF0" : " 0xE0");
    for (const auto& m : r.messages) o << " " << describe_message(m);
    for (std::size_t i = 0; i < kRejectReasonCount; ++i)
      if (t.counters().rejected[i] != before.rejected[i]) o << " rejected " << to_string(static_cast<RejectReason>(i));
    if (t.counters().fragments_pending > before.fragments_pending) o << " fragment pending";
  } else {
    o << "other";
  }
  return o.str();
}

// Decodes `dir`c_stdin.log as node 2 and compares with `dir`c_stdin.expected.
void check_stream_received_by_c(const std::string& dir) {
  TransportConfig c;
  c.cluster_id = 7;
  c.my_id = 2;
  c.members = {1, 2, 3};
  c.next_hop_ipv6 = "fd00:255:3::2";
  auto ring = parse_key_file(read_text("golden.key"), "golden.key");
  ASSERT_TRUE(std::holds_alternative<KeyRing>(ring));
  c.keys = std::get<KeyRing>(ring);
  c.active_key_id = 1;
  c.epoch = 1;
  Transport t = std::get<Transport>(Transport::create(c));
  std::string got;
  for (const auto& l : read_lines(dir + "c_stdin.log")) got += describe(t, l) + "\n";
  if (std::getenv("RAFTBGP_GOLDEN_REWRITE") != nullptr) std::ofstream(kDir + "/" + dir + "c_stdin.expected") << got;
  EXPECT_EQ(got, read_text(dir + "c_stdin.expected"));
  // Six messages (one in two fragments), one rejected for its key, none delivered twice after the reset.
  EXPECT_EQ(t.counters().messages_delivered, 5u);
  EXPECT_EQ(t.counters().rejected_for(RejectReason::kBadTag), 1u);
  EXPECT_EQ(t.counters().rejected_for(RejectReason::kReplay), 4u);
  EXPECT_EQ(t.counters().peer_down, 3u);
}

TEST(Golden, Stream_received_by_c_decodes_with_the_golden_key) { check_stream_received_by_c(""); }

// The capture of frame version 1 (golden/v1, ExaBGP 4.2.21, 2026-11-26): a node already on v2 still opens
// what a not yet upgraded node seals (frame.h, rolling upgrades).
TEST(Golden, V1_stream_from_a_not_yet_upgraded_sender_still_decodes) { check_stream_received_by_c("v1/"); }

// The capture of mailbox layout v1 (golden/layout-v1: frame v2, source bits first in the prefix, ExaBGP 4.2.21,
// 2026-12-04): during a rolling upgrade a node on layout v2 still opens every frame of a node on layout v1.
TEST(Golden, Layout_v1_stream_from_a_not_yet_upgraded_sender_still_decodes) {
  check_stream_received_by_c("layout-v1/");
}

}  // namespace
}  // namespace raftbgp::transport
