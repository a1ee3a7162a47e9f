// Strict parser for what ExaBGP 4.2.21 writes on the helper's stdin (encoder json, API "4.0.1").
// Formats: shared/facts/exabgp-transport.md §1.7 and the golden lines in tests/bgp-transport/golden/.
#include <algorithm>
#include <regex>

#include <nlohmann/json.hpp>

#include "raftbgp/transport/exabgp.h"
#include "raftbgp/transport/hex.h"

namespace raftbgp::transport {
namespace {

using nlohmann::json;

// Distinguishes "the schema is violated" from the other reasons while walking the JSON.
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
  // Dedupe by prefix within one update: through BIRD or FRR an IPv6 prefix is listed once per next hop.
  if (std::find(list.begin(), list.end(), *p) == list.end()) list.push_back(*p);
}

bool is_unicast_family(const std::string& family) {
  return family == "ipv4 unicast" || family == "ipv6 unicast";
}

// "announce": { "<afi safi>": { "<next hop>": [ { "nlri": "<prefix>" }, ... ] } }
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

// "withdraw": { "<afi safi>": [ { "nlri": "<prefix>" }, ... ] }
void parse_withdraw(const json& withdraw, UpdateEvent& ev) {
  if (!withdraw.is_object()) throw Failure{LineError::kMissingField};
  for (const auto& [family, list] : withdraw.items()) {
    if (!is_unicast_family(family)) continue;
    if (!list.is_array()) throw Failure{LineError::kMissingField};
    for (const json& entry : list) add_unique(ev.withdrawn, entry);
  }
}

// Attribute keys are "attribute-0x%02X-0x%02X" % (code, flags); the receiving ExaBGP ORs in Partial, so
// only the code is compared (facts §1.7). The value is "0x" + lowercase hex.
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
  if (type == "negotiated" || type == "open" || type == "keepalive" || type == "refresh" ||
      type == "operational" || type == "signal")
    return IgnoredEvent{type};
  return LineError::kUnknownType;
}

}  // namespace

std::string_view to_string(LineError e) {
  switch (e) {
    case LineError::kTooLong: return "too_long";
    case LineError::kBadJson: return "bad_json";
    case LineError::kWrongApiVersion: return "wrong_api_version";
    case LineError::kMissingField: return "missing_field";
    case LineError::kUnknownType: return "unknown_type";
    case LineError::kBadHex: return "bad_hex";
    case LineError::kOddHex: return "odd_hex";
    case LineError::kBadPrefix: return "bad_prefix";
    case LineError::kUnknownText: return "unknown_text";
    case LineError::kCount: break;
  }
  return "unknown";
}

ExabgpLine parse_exabgp_line(std::string_view line, std::uint8_t attribute_code) {
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
    // nlohmann type errors on unexpected shapes, or allocation failure: the line is not what the schema
    // says, and the stream goes on.
    return LineError::kMissingField;
  }
}

}  // namespace raftbgp::transport
