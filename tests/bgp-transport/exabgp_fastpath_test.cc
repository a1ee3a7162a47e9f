// The ExaBGP line parser's fast path (a pre-pass that decodes our attribute's hex in place and hides it from
// nlohmann, src/exabgp_parse.cc) must not change any outcome. These tests compare parse_exabgp_line with
// the plain parser it replaced (kept here verbatim as reference_parse), on the shapes the pre-pass must
// recognise or refuse, on every truncation and on single-character mutations of real lines, and on the
// fuzz corpus; and the word-at-a-time hex decoder with a per-digit one on every pair of bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "raftbgp/transport/exabgp.h"
#include "raftbgp/transport/hex.h"
#include "test_util.h"

namespace raftbgp::transport {
namespace {

using testing::exabgp_json_for;

// ---- The parser as it was before the fast path (DOM only, std::regex keys) ----------------------------
namespace reference {

using nlohmann::json;
struct Failure {
  LineError error;
};

const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}
const json& require(const json& obj, const char* key) {
  const json* v = member(obj, key);
  if (v == nullptr) throw Failure{LineError::kMissingField};
  return *v;
}
std::string require_string(const json& obj, const char* key) {
  const json& v = require(obj, key);
  if (!v.is_string()) throw Failure{LineError::kMissingField};
  return v.get<std::string>();
}
void add_unique(std::vector<IpPrefix>& list, const json& entry) {
  const json& nlri = require(entry, "nlri");
  if (!nlri.is_string()) throw Failure{LineError::kMissingField};
  std::optional<IpPrefix> p = IpPrefix::parse(nlri.get_ref<const std::string&>());
  if (!p) throw Failure{LineError::kBadPrefix};
  if (std::find(list.begin(), list.end(), *p) == list.end()) list.push_back(*p);
}
bool is_unicast_family(const std::string& family) { return family == "ipv4 unicast" || family == "ipv6 unicast"; }
void parse_announce(const json& announce, UpdateEvent& ev) {
  if (!announce.is_object()) throw Failure{LineError::kMissingField};
  for (const auto& [family, by_next_hop] : announce.items()) {
    if (!is_unicast_family(family)) continue;
    if (!by_next_hop.is_object()) throw Failure{LineError::kMissingField};
    for (const auto& [next_hop, list] : by_next_hop.items()) {
      if (!list.is_array()) throw Failure{LineError::kMissingField};
      for (const json& entry : list) add_unique(ev.announced, entry);
    }
  }
}
void parse_withdraw(const json& withdraw, UpdateEvent& ev) {
  if (!withdraw.is_object()) throw Failure{LineError::kMissingField};
  for (const auto& [family, list] : withdraw.items()) {
    if (!is_unicast_family(family)) continue;
    if (!list.is_array()) throw Failure{LineError::kMissingField};
    for (const json& entry : list) add_unique(ev.withdrawn, entry);
  }
}
void parse_attributes(const json& attributes, std::uint8_t code, UpdateEvent& ev) {
  if (!attributes.is_object()) throw Failure{LineError::kMissingField};
  static const std::regex kKey("^attribute-0x([0-9A-F]{2})-0x([0-9A-F]{2})$");
  for (const auto& [key, value] : attributes.items()) {
    if (key.rfind("attribute-", 0) != 0) continue;
    std::smatch m;
    if (!std::regex_match(key, m, kKey)) continue;
    if (std::stoul(m[1].str(), nullptr, 16) != code) {
      ++ev.other_attribute_codes;
      continue;
    }
    if (!value.is_string()) throw Failure{LineError::kMissingField};
    const std::string& text = value.get_ref<const std::string&>();
    if (text.size() < 2 || text[0] != '0' || text[1] != 'x') throw Failure{LineError::kBadHex};
    const std::string_view hex = std::string_view(text).substr(2);
    if (hex.size() % 2 != 0) throw Failure{LineError::kOddHex};
    std::optional<Bytes> bytes = from_hex(hex);
    if (!bytes) throw Failure{LineError::kBadHex};
    ev.payload = std::move(*bytes);
  }
}
ExabgpLine parse_update(const json& root, std::uint8_t code) {
  const json& neighbor = require(root, "neighbor");
  UpdateEvent ev;
  ev.peer = require_string(require(neighbor, "address"), "peer");
  if (const json* dir = member(neighbor, "direction"); dir != nullptr && *dir != "receive")
    return IgnoredEvent{"update-send"};
  const json& message = require(neighbor, "message");
  if (const json* eor = member(message, "eor")) {
    ev.eor.push_back(require_string(*eor, "afi") + " " + require_string(*eor, "safi"));
    return ev;
  }
  const json& update = require(message, "update");
  if (const json* a = member(update, "attribute")) parse_attributes(*a, code, ev);
  if (const json* a = member(update, "announce")) parse_announce(*a, ev);
  if (const json* w = member(update, "withdraw")) parse_withdraw(*w, ev);
  return ev;
}
ExabgpLine parse_state(const json& root) {
  const json& neighbor = require(root, "neighbor");
  StateEvent ev;
  ev.peer = require_string(require(neighbor, "address"), "peer");
  ev.state = require_string(neighbor, "state");
  if (const json* r = member(neighbor, "reason"); r != nullptr && r->is_string()) ev.reason = r->get<std::string>();
  return ev;
}
ExabgpLine parse_json(std::string_view line, std::uint8_t code) {
  json root = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) return LineError::kBadJson;
  const json* version = member(root, "exabgp");
  if (version == nullptr || !version->is_string() || *version != "4.0.1") return LineError::kWrongApiVersion;
  const std::string type = require_string(root, "type");
  if (type == "update") return parse_update(root, code);
  if (type == "state") return parse_state(root);
  if (type == "notification") return NotificationEvent{require_string(root, "notification")};
  if (type == "negotiated" || type == "open" || type == "keepalive" || type == "refresh" || type == "operational" ||
      type == "signal")
    return IgnoredEvent{type};
  return LineError::kUnknownType;
}
ExabgpLine parse(std::string_view line, std::uint8_t attribute_code) {
  if (line.size() > kMaxLineBytes) return LineError::kTooLong;
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line == "done") return AckEvent{true};
  if (line == "error") return AckEvent{false};
  if (line == "shutdown") return NotificationEvent{"shutdown"};
  if (line.empty() || line.front() != '{') return LineError::kUnknownText;
  try {
    return parse_json(line, attribute_code);
  } catch (const Failure& f) {
    return f.error;
  } catch (const std::exception&) {
    return LineError::kMissingField;
  }
}

}  // namespace reference

// Every field of a parsed line, as text, so two results compare (and print) in one EXPECT_EQ.
std::string describe(const ExabgpLine& l) {
  std::ostringstream o;
  o << "variant " << l.index() << ": ";
  if (const auto* e = std::get_if<LineError>(&l)) o << to_string(*e);
  if (const auto* a = std::get_if<AckEvent>(&l)) o << a->done;
  if (const auto* u = std::get_if<UpdateEvent>(&l)) {
    o << "peer=" << u->peer << " other=" << u->other_attribute_codes << " announced=";
    for (const IpPrefix& p : u->announced) o << p.to_string() << ",";
    o << " withdrawn=";
    for (const IpPrefix& p : u->withdrawn) o << p.to_string() << ",";
    o << " eor=";
    for (const std::string& e : u->eor) o << e << ",";
    o << " payload=" << (u->payload ? "0x" + to_hex(*u->payload) : "none");
  }
  if (const auto* s = std::get_if<StateEvent>(&l)) o << s->peer << "|" << s->state << "|" << s->reason;
  if (const auto* n = std::get_if<NotificationEvent>(&l)) o << n->notification;
  if (const auto* i = std::get_if<IgnoredEvent>(&l)) o << i->type;
  return o.str();
}

std::string parsed(std::string_view line, std::uint8_t code = 0xff) { return describe(parse_exabgp_line(line, code)); }

std::string expected(std::string_view line, std::uint8_t code = 0xff) { return describe(reference::parse(line, code)); }

// An update line as ExaBGP prints it, with `attributes` as the members of its "attribute" object.
std::string update_with(const std::string& attributes, const std::string& extra_update_members = "") {
  return R"({ "exabgp": "4.0.1", "time": 1.5, "host" : "vm", "type": "update", )" +
         testing::neighbor_header("10.255.3.1") + R"("direction": "receive", "message": { "update": { )" +
         R"("attribute": { "origin": "igp", )" + attributes + R"( }, )" + extra_update_members +
         R"("announce": { "ipv6 unicast": { "fe80::1": [ { "nlri": "fd72:6166:10:200::/64" } ] } } } } } })";
}

std::string hex_of(std::size_t n, std::uint8_t seed = 1) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 37);
  return to_hex(b);
}

std::string payload_of(const std::string& line) {
  ExabgpLine l = parse_exabgp_line(line, 0xff);
  const auto* u = std::get_if<UpdateEvent>(&l);
  return u == nullptr ? "not an update: " + describe(l) : u->payload ? to_hex(*u->payload) : "none";
}

TEST(ExabgpFastPath, Payload_matches_the_plain_parser_for_every_size_and_both_cases) {
  for (std::size_t n : {0u, 1u, 3u, 4u, 5u, 7u, 8u, 9u, 255u, 256u, 2900u, 4040u}) {
    const std::string hex = hex_of(n);
    std::string upper = hex;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
    for (const std::string& h : {hex, upper}) {
      const std::string line = update_with(R"("attribute-0xFF-0xF0": "0x)" + h + "\"");
      EXPECT_EQ(parsed(line), expected(line)) << "n=" << n;
      EXPECT_EQ(payload_of(line), hex) << "n=" << n;
    }
  }
}

TEST(ExabgpFastPath, Attribute_key_text_inside_another_string_is_not_taken) {
  const std::string fake = R"(\"attribute-0xFF-0xF0\": \"0x0badc0de\")";
  // In another member's value, in a key of another object, and in the peer address.
  for (const std::string& line :
       {update_with(R"("as-path": ")" + fake + R"(", "attribute-0xFF-0xE0": "0x0102")"),
        update_with(R"("attribute-0xFF-0xE0": "0x0102", "community": ")" + fake + "\""),
        update_with(R"("attribute-0xFF-0xE0": "0x0102")", R"("x": { "attribute-0xFF-0xF0": "0xdead" }, )"),
        update_with(R"("x": { "attribute-0xFF-0xF0": "0xdead" }, "attribute-0xFF-0xE0": "0x0102")")}) {
    EXPECT_EQ(parsed(line), expected(line)) << line;
    EXPECT_EQ(payload_of(line), "0102") << line;
  }
  // Our key at the wrong depth or in the wrong object: not our attribute.
  std::string elsewhere = update_with(R"("med": 5)");
  elsewhere.replace(elsewhere.find(R"("host")"), 6, R"("attribute": { "attribute-0xFF-0xF0": "0xdead" }, "host")");
  EXPECT_EQ(parsed(elsewhere), expected(elsewhere));
  EXPECT_EQ(payload_of(elsewhere), "none");
  std::string in_array = update_with(R"("as-set": [ { "attribute-0xFF-0xF0": "0xdead" } ])");
  EXPECT_EQ(parsed(in_array), expected(in_array));
  EXPECT_EQ(payload_of(in_array), "none");
}

TEST(ExabgpFastPath, Two_keys_of_our_code_keep_the_plain_parsers_choice_and_errors) {
  const std::vector<std::string> values = {"\"0x0102\"", "\"0xABCD\"",           "\"0x010\"",
                                           "\"0x01zz\"", "\"0X0102\"",           "\"0x\"",
                                           "7",          "\"0x\\u0030\\u0031\"", "\"\""};
  for (const std::string& a : values) {
    for (const std::string& b : values) {
      for (const std::string& line :
           {update_with(R"("attribute-0xFF-0xE0": )" + a + R"(, "attribute-0xFF-0xF0": )" + b),
            update_with(R"("attribute-0xFF-0xF0": )" + a + R"(, "attribute-0xFF-0xE0": )" + b),
            update_with(R"("attribute-0xFF-0xF0": )" + a + R"(, "attribute-0xF0-0xE0": )" + b),
            update_with(R"("attribute-0xFF-0xF0": )" + a + R"(, "attribute-0xFF-0xf0": )" + b)}) {
        EXPECT_EQ(parsed(line), expected(line)) << line;
      }
    }
  }
}

TEST(ExabgpFastPath, Repeated_or_escaped_keys_on_the_path_resolve_as_nlohmann_does) {
  const std::string good = R"("attribute-0xFF-0xF0": "0x0102")";
  const std::vector<std::string> lines = {
      // The same key twice: nlohmann keeps the last.
      update_with(good + R"(, "attribute-0xFF-0xF0": "0x0304")"),
      update_with(good + R"(, "attribute-0xFF-0xF0": "0xzz")"),
      update_with(R"("attribute-0xFF-0xF0": "0xzz", )" + good),
      // An escape that makes a second key equal to the first, or to a path key.
      update_with(good + R"(, "attribute-0xFF-0xF\u0030": "0x0304")"),
      update_with(R"("attribute-0xFF-0xF\u0030": "0x0304", )" + good),
      update_with(good, R"("attribut\u0065": { "attribute-0xFF-0xF0": "0x0506" }, )"),
      update_with(good, R"("attribute": { "attribute-0xFF-0xF0": "0x0506" }, )"),
      update_with(good, R"("attribute": 5, )"),
      // A second "update" / "message" / "neighbor" replacing the first.
      // (The line ends "} } } } } }": announce, update, message, neighbor, root.)
      update_with(good).insert(update_with(good).size() - 5, R"(, "update": { "withdraw": {} })"),
      update_with(good).insert(update_with(good).size() - 3, R"(, "message": { "update": {} })"),
      update_with(good).insert(update_with(good).size() - 1, R"(, "neighbor": { "address": { "peer": "1.2.3.4" } })"),
      update_with(good).insert(
          update_with(good).size() - 1,
          R"(, "neighb\u006fr": { "address": { "peer": "1.2.3.4" }, "message": { "update": {} } })"),
  };
  for (const std::string& line : lines) EXPECT_EQ(parsed(line), expected(line)) << line;
  EXPECT_EQ(payload_of(lines[0]), "0304");
}

TEST(ExabgpFastPath, Values_the_pre_pass_leaves_alone_are_classified_as_before) {
  for (const char* v : {"\"0x010\"", "\"0x01zz\"", "\"0x01\\u0030\"", "\"0X0102\"", "\"0102\"", "\"0x 0102\"",
                        "\"0x0102 \"", "\"0x\xc3\xa9\"", "12", "null", "[ \"0x0102\" ]", "{ \"a\": \"0x01\" }"}) {
    const std::string line = update_with(std::string(R"("attribute-0xFF-0xF0": )") + v);
    EXPECT_EQ(parsed(line), expected(line)) << v;
  }
  EXPECT_EQ(parsed(update_with(R"("attribute-0xFF-0xF0": "0x010")")), describe(LineError::kOddHex));
  EXPECT_EQ(parsed(update_with(R"("attribute-0xFF-0xF0": "0x01zz")")), describe(LineError::kBadHex));
  // Another code's attribute is counted, never decoded, whatever it holds.
  const std::string other = update_with(R"("attribute-0xF0-0xF0": "0x)" + hex_of(300) + "\"");
  EXPECT_EQ(parsed(other), expected(other));
  EXPECT_EQ(parsed(other, 0xf0), expected(other, 0xf0));
}

TEST(ExabgpFastPath, Broken_json_around_an_elided_value_is_still_bad_json) {
  const std::string good = update_with(R"("attribute-0xFF-0xF0": "0x)" + hex_of(64) + "\"");
  const std::size_t value = good.find("\"0x");
  const std::vector<std::string> lines = {
      good + "x",
      good + " {}",
      good.substr(0, good.size() - 1),
      "{ {" + good.substr(1),
      good.substr(0, value) + "," + good.substr(value),
      good.substr(0, value - 1) + good.substr(value),  // no colon
      std::string(good).replace(good.find("\"time\": 1.5"), 11, "\"time\": 1.5.5"),
      std::string(good).replace(good.find("\"nlri\""), 6, "\"nlri\x01\""),
      std::string(good).replace(good.find("igp"), 3, "\xff\xfe"),
      std::string(40, '[') + good,
  };
  for (const std::string& line : lines) EXPECT_EQ(parsed(line), expected(line)) << line;
  EXPECT_EQ(parsed(good + "x"), describe(LineError::kBadJson));
  // Deep nesting: the pre-pass gives up (past 32 levels) and nlohmann decides.
  std::string deep = good;
  deep.replace(deep.find("\"origin\": \"igp\""), 15, "\"deep\": " + std::string(40, '[') + std::string(40, ']'));
  EXPECT_EQ(parsed(deep), expected(deep));
  EXPECT_NE(payload_of(deep), "none");
}

TEST(ExabgpFastPath, Every_truncation_and_single_character_mutation_matches_the_plain_parser) {
  const std::string cmd =
      format_announce("", *IpPrefix::parse("fd72:6166:10:203::/64"), "fd00::1", 0xff, 0xc0, Bytes(24, 0xab));
  const std::string line = exabgp_json_for(cmd);
  for (std::size_t n = 0; n <= line.size(); ++n) ASSERT_EQ(parsed(line.substr(0, n)), expected(line.substr(0, n))) << n;
  for (std::size_t i = 0; i < line.size(); ++i) {
    for (char c : {'"', '\\', '}', ']', '{', ',', ':', 'z', 'A', ' ', '\0', '\x7f', '\xff'}) {
      std::string m = line;
      m[i] = c;
      ASSERT_EQ(parsed(m), expected(m)) << "position " << i << " char " << static_cast<int>(c) << ": " << m;
    }
  }
}

TEST(ExabgpFastPath, Corpus_and_golden_lines_match_the_plain_parser) {
  std::size_t n = 0;
  for (const std::string& dir : {std::string(RAFTBGP_CORPUS_DIR) + "/exabgp", std::string(RAFTBGP_GOLDEN_DIR)}) {
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
      if (!f.is_regular_file()) continue;
      std::ifstream in(f.path(), std::ios::binary);
      std::stringstream all;
      all << in.rdbuf();
      const std::string text = all.str();
      // A corpus file is one input; a golden log is one line per input. Check both readings.
      EXPECT_EQ(parsed(text), expected(text)) << f.path();
      std::istringstream lines(text);
      for (std::string l; std::getline(lines, l); ++n) EXPECT_EQ(parsed(l), expected(l)) << f.path() << ": " << l;
    }
  }
  EXPECT_GT(n, 100u);
}

// The pruned DOM (src/exabgp_parse.cc PrunedDom) keeps only what the schema walk reads. Insert members
// named like the kept and skipped keys, holding every kind of value, at random object openings of real
// lines (updates, end-of-RIB, state, notification): the outcome must always be the full DOM's.
TEST(ExabgpFastPath, Pruned_dom_matches_the_full_dom_under_random_member_insertions) {
  const std::string cmd =
      format_announce("", *IpPrefix::parse("fd72:6166:10:203::/64"), "fd00::1", 0xff, 0xc0, Bytes(24, 0xab));
  const std::vector<std::string> bases = {
      exabgp_json_for(cmd), testing::state_line("down"), update_with(R"("attribute-0xFF-0xF0": "0x0102")"),
      R"({ "exabgp": "4.0.1", "time": 1.5, "type": "update", )" + testing::neighbor_header("10.255.3.1") +
          R"("direction": "receive", "message": { "eor": { "afi" : "ipv6", "safi" : "unicast" } } } })",
      R"({ "exabgp": "4.0.1", "time": 1.5, "type": "notification", "notification": "shutdown" })"};
  const std::vector<std::string> keys = {"exabgp",
                                         "type",
                                         "notification",
                                         "neighbor",
                                         "address",
                                         "peer",
                                         "direction",
                                         "state",
                                         "reason",
                                         "message",
                                         "eor",
                                         "afi",
                                         "safi",
                                         "update",
                                         "attribute",
                                         "announce",
                                         "withdraw",
                                         "attribute-0xFF-0xF0",
                                         "attribute-0xFF-0xE0",
                                         "attribute-0x01-0x40",
                                         "nlri",
                                         "ipv6 unicast",
                                         "fe80::1",
                                         "time",
                                         "x"};
  const std::vector<std::string> values = {R"("4.0.1")",
                                           R"("update")",
                                           R"("state")",
                                           R"("receive")",
                                           R"("send")",
                                           R"("0x0304")",
                                           R"("0xzz")",
                                           "7",
                                           "-1.5",
                                           "null",
                                           "true",
                                           "{}",
                                           "[]",
                                           R"([ "0x0506" ])",
                                           R"({ "peer": "1.2.3.4" })",
                                           R"({ "afi": "ipv4", "safi": "x" })",
                                           R"({ "ipv4 unicast": [ { "nlri": "10.0.0.0/8" } ] })",
                                           R"({ "ipv6 unicast": { "fe80::2": [ { "nlri": "fd00::/8" } ] } })",
                                           R"({ "update": { "attribute": { "attribute-0xFF-0xF0": "0x0708" } } })",
                                           R"([ { "nlri": "bad" } ])"};
  std::uint64_t rng = 0x9e3779b97f4a7c15ULL;
  auto next = [&](std::size_t n) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return static_cast<std::size_t>(rng % n);
  };
  for (int round = 0; round < 6000; ++round) {
    std::string line = bases[next(bases.size())];
    for (int k = 1 + static_cast<int>(next(3)); k > 0; --k) {
      std::vector<std::size_t> opens;
      for (std::size_t i = 0; i < line.size(); ++i)
        if (line[i] == '{') opens.push_back(i);
      const std::string member = " \"" + keys[next(keys.size())] + "\": " + values[next(values.size())] + ",";
      // Inserted first in the object (an earlier duplicate) or, at the closing of the root, last.
      if (next(4) == 0) {
        line.insert(line.size() - 1, "," + member.substr(0, member.size() - 1));
      } else {
        line.insert(opens[next(opens.size())] + 1, member);
      }
    }
    ASSERT_EQ(parsed(line), expected(line)) << line;
  }
}

// ---- decode_hex ----------------------------------------------------------------------------------------

int digit_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

TEST(DecodeHex, Every_pair_of_bytes_at_every_lane_of_a_word_decodes_as_digit_by_digit) {
  // 12 digits = one 8-digit word plus 2 bytes by table: the pair is tried in every position of both.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const bool valid = digit_value(a) >= 0 && digit_value(b) >= 0;
      for (std::size_t at = 0; at < 12; at += 2) {
        std::string hex = "0123456789ab";
        hex[at] = static_cast<char>(a);
        hex[at + 1] = static_cast<char>(b);
        std::array<std::uint8_t, 6> out{};
        ASSERT_EQ(decode_hex(hex, out), valid) << a << " " << b << " at " << at;
        if (valid) {
          ASSERT_EQ(static_cast<int>(out[at / 2]), digit_value(a) * 16 + digit_value(b))
              << a << " " << b << " at " << at;
        }
      }
    }
  }
}

TEST(DecodeHex, Rejects_odd_length_size_mismatch_and_a_bad_digit_anywhere_in_a_long_string) {
  std::array<std::uint8_t, 4> four{};
  EXPECT_FALSE(decode_hex("0102030", four));
  EXPECT_FALSE(decode_hex("010203", four));
  EXPECT_TRUE(decode_hex("DEADbeef", four));
  EXPECT_EQ(four, (std::array<std::uint8_t, 4>{0xde, 0xad, 0xbe, 0xef}));
  const std::string hex = hex_of(100);
  Bytes out(100);
  ASSERT_TRUE(decode_hex(hex, out));
  EXPECT_EQ(to_hex(out), hex);
  for (std::size_t i = 0; i < hex.size(); ++i) {
    for (char c : {'g', 'G', '/', ':', '@', '`', '\0', '\x80', '\xb0', '\xe1'}) {
      std::string bad = hex;
      bad[i] = c;
      EXPECT_FALSE(decode_hex(bad, out)) << i << " " << static_cast<int>(c);
      EXPECT_FALSE(from_hex(bad)) << i;
    }
  }
}

}  // namespace
}  // namespace raftbgp::transport
