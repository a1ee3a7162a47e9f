#include <gtest/gtest.h>

#include "raftbgp/transport/exabgp.h"
#include "test_util.h"

namespace raftbgp::transport {
namespace {

using testing::exabgp_json_for;
using testing::state_line;

LineError error_of(std::string_view line) {
  ExabgpLine l = parse_exabgp_line(line, 0xff);
  EXPECT_TRUE(std::holds_alternative<LineError>(l)) << line.substr(0, 200);
  return std::holds_alternative<LineError>(l) ? std::get<LineError>(l) : LineError::kCount;
}

UpdateEvent update_of(std::string_view line) {
  ExabgpLine l = parse_exabgp_line(line, 0xff);
  EXPECT_TRUE(std::holds_alternative<UpdateEvent>(l))
      << (std::holds_alternative<LineError>(l) ? to_string(std::get<LineError>(l)) : "other");
  return std::holds_alternative<UpdateEvent>(l) ? std::get<UpdateEvent>(l) : UpdateEvent{};
}

TEST(Format, Announce_and_withdraw_match_exabgp_grammar) {
  const IpPrefix v4 = *IpPrefix::parse("10.200.1.0/24");
  const Bytes payload{0x01, 0x02, 0x03, 0x04, 0x05};
  EXPECT_EQ(format_announce("", v4, "self", 0xff, 0xc0, payload),
            "announce route 10.200.1.0/24 next-hop self attribute [ 0xff 0xc0 0x0102030405 ]");
  EXPECT_EQ(
      format_announce("10.255.1.2", *IpPrefix::parse("fd00:200::/64"), "fd00:255:1::1", 0xf0, 0xc0, Bytes{0xde, 0xad}),
      "neighbor 10.255.1.2 announce route fd00:200::/64 next-hop fd00:255:1::1 attribute [ 0xf0 0xc0 0xdead ]");
  EXPECT_EQ(format_withdraw("", v4), "withdraw route 10.200.1.0/24");
  EXPECT_EQ(format_withdraw("10.255.1.2", v4), "neighbor 10.255.1.2 withdraw route 10.200.1.0/24");
}

TEST(Format, Attribute_code_0xfe_and_non_transitive_flags_are_refused) {
  EXPECT_FALSE(validate_attribute(0xff, 0xc0));
  EXPECT_FALSE(validate_attribute(0xf0, 0xe0));
  EXPECT_TRUE(validate_attribute(0xfe, 0xc0));
  EXPECT_TRUE(validate_attribute(0xff, 0x80));
  EXPECT_TRUE(validate_attribute(0xff, 0x40));
  EXPECT_TRUE(validate_attribute(0xff, 0xd0));
}

TEST(Parse, Acks_and_plain_shutdown) {
  EXPECT_TRUE(std::get<AckEvent>(parse_exabgp_line("done", 0xff)).done);
  EXPECT_FALSE(std::get<AckEvent>(parse_exabgp_line("error\n", 0xff)).done);
  EXPECT_TRUE(std::get<AckEvent>(parse_exabgp_line("done\r\n", 0xff)).done);
  EXPECT_EQ(std::get<NotificationEvent>(parse_exabgp_line("shutdown", 0xff)).notification, "shutdown");
}

TEST(Parse, Update_announce_extracts_prefix_and_payload_for_both_flag_keys) {
  for (std::size_t n : {4u, 300u}) {
    const Bytes payload(n, 0xab);
    const std::string cmd =
        format_announce("", *IpPrefix::parse("fd72:6166:10:203::/64"), "fd00::1", 0xff, 0xc0, payload);
    const std::string line = exabgp_json_for(cmd);
    EXPECT_NE(line.find(n > 255 ? "attribute-0xFF-0xF0" : "attribute-0xFF-0xE0"), std::string::npos);
    UpdateEvent u = update_of(line);
    EXPECT_EQ(u.peer, "10.255.3.1");
    ASSERT_EQ(u.announced.size(), 1u);
    EXPECT_EQ(u.announced[0].to_string(), "fd72:6166:10:203::/64");
    ASSERT_TRUE(u.payload);
    EXPECT_EQ(*u.payload, payload);
  }
}

TEST(Parse, Same_prefix_twice_in_one_update_is_deduplicated) {
  const std::string line =
      R"({ "exabgp": "4.0.1", "type": "update", "neighbor": { "address": { "peer": "10.255.3.1" }, "direction": "receive", )"
      R"("message": { "update": { "attribute": { "attribute-0xFF-0xE0": "0x01" }, "announce": { "ipv6 unicast": { )"
      R"("fd00:255:3::1": [ { "nlri": "fd72:6166:10:203::/64" } ], "fe80::1": [ { "nlri": "fd72:6166:10:203::/64" } ] } } } } } })";
  EXPECT_EQ(update_of(line).announced.size(), 1u);
}

TEST(Parse, Withdraw_eor_state_notification_and_ignored_types) {
  UpdateEvent w = update_of(exabgp_json_for("withdraw route 10.200.8.131/32"));
  ASSERT_EQ(w.withdrawn.size(), 1u);
  EXPECT_EQ(w.withdrawn[0].to_string(), "10.200.8.131/32");
  EXPECT_FALSE(w.payload);
  const std::string eor =
      R"({ "exabgp": "4.0.1", "type": "update", "neighbor": { "address": { "local": "10.255.3.2", "peer": "10.255.3.1" }, )"
      R"("direction": "receive", "message": { "eor": { "afi" : "ipv6", "safi" : "unicast" } } } })";
  EXPECT_EQ(update_of(eor).eor, (std::vector<std::string>{"ipv6 unicast"}));
  auto st = std::get<StateEvent>(parse_exabgp_line(state_line("down"), 0xff));
  EXPECT_EQ(st.state, "down");
  EXPECT_NE(st.reason.find("Cease"), std::string::npos);
  EXPECT_EQ(std::get<StateEvent>(parse_exabgp_line(state_line("up"), 0xff)).state, "up");
  const std::string note = R"({ "exabgp": "4.0.1", "time": 1.0, "type": "notification", "notification": "shutdown" })";
  EXPECT_EQ(std::get<NotificationEvent>(parse_exabgp_line(note, 0xff)).notification, "shutdown");
  const std::string neg = R"({ "exabgp": "4.0.1", "type": "negotiated", "neighbor": {} })";
  EXPECT_EQ(std::get<IgnoredEvent>(parse_exabgp_line(neg, 0xff)).type, "negotiated");
}

TEST(Parse, Attribute_of_another_code_is_counted_not_taken) {
  std::string line = exabgp_json_for("announce route 10.200.8.131/32 next-hop self attribute [ 0xff 0xc0 0x0102 ]");
  line.replace(line.find("attribute-0xFF"), 14, "attribute-0xF0");
  UpdateEvent u = update_of(line);
  EXPECT_FALSE(u.payload);
  EXPECT_EQ(u.other_attribute_codes, 1u);
  EXPECT_EQ(u.announced.size(), 1u);
}

TEST(Parse, Bad_input_is_classified_never_thrown) {
  const std::string good =
      exabgp_json_for("announce route 10.200.8.131/32 next-hop self attribute [ 0xff 0xc0 0x0102 ]");
  std::string truncated_hex = good;
  truncated_hex.replace(truncated_hex.find("\"0x0102\""), 8, "\"0x01zz\"");
  EXPECT_EQ(error_of(truncated_hex), LineError::kBadHex);
  std::string odd = good;
  odd.replace(odd.find("\"0x0102\""), 8, "\"0x010\"");
  EXPECT_EQ(error_of(odd), LineError::kOddHex);
  std::string no_0x = good;
  no_0x.replace(no_0x.find("\"0x0102\""), 8, "\"0102\"");
  EXPECT_EQ(error_of(no_0x), LineError::kBadHex);
  EXPECT_EQ(error_of(good.substr(0, good.size() / 2)), LineError::kBadJson);
  EXPECT_EQ(error_of(std::string(1 << 20, 'a')), LineError::kTooLong);
  EXPECT_EQ(error_of("{" + std::string(kMaxLineBytes, ' ') + "}"), LineError::kTooLong);
  EXPECT_EQ(error_of(R"({ "exabgp": "4.0.1", "type": "surprise" })"), LineError::kUnknownType);
  EXPECT_EQ(error_of(R"({ "exabgp": "5.0.0", "type": "update" })"), LineError::kWrongApiVersion);
  EXPECT_EQ(error_of(R"({ "exabgp": "4.0.1" })"), LineError::kMissingField);
  EXPECT_EQ(error_of(R"({ "exabgp": "4.0.1", "type": "update", "neighbor": { "address": { "peer": 3 } } })"),
            LineError::kMissingField);
  std::string bad_prefix = good;
  bad_prefix.replace(bad_prefix.find("10.200.8.131/32"), 15, "10.200.8.131/99");
  EXPECT_EQ(error_of(bad_prefix), LineError::kBadPrefix);
  EXPECT_EQ(error_of("bogus"), LineError::kUnknownText);
  EXPECT_EQ(error_of(""), LineError::kUnknownText);
  EXPECT_EQ(error_of("[1,2]"), LineError::kUnknownText);
  EXPECT_EQ(error_of("{]"), LineError::kBadJson);
  for (std::size_t i = 0; i < kLineErrorCount; ++i) EXPECT_NE(to_string(static_cast<LineError>(i)), "unknown");
}

}  // namespace
}  // namespace raftbgp::transport
