// Strict parser for what ExaBGP 4.2.21 writes on the helper's stdin (encoder json, API "4.0.1").
// Formats: docs/exabgp.md §1.7 and the golden lines in tests/bgp-transport/golden/.
//
// Speed (issue 3): nearly all of an update line is our attribute's hex (5.8 KB for a 2.9 KB frame), and
// nlohmann's lexer copies a string one char at a time. So a pre-pass (PayloadScan) finds that value,
// decodes it in place, and hands nlohmann a copy of the line with the value replaced by "". The schema
// walk is the same for both paths; the pre-pass only changes how a value is read, never whether the line
// parses or what it means, and when the line is not in the plain shape ExaBGP writes, it steps aside and
// the whole line goes through nlohmann as it is.
#include <algorithm>
#include <array>
#include <cstring>
#include <new>

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

bool is_unicast_family(const std::string& family) { return family == "ipv4 unicast" || family == "ipv6 unicast"; }

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
// only the code is compared (docs/exabgp.md §1.7). Returns the code, or -1 for a key not of exactly that form
// (uppercase digits, as ExaBGP prints them).
int attribute_key_code(std::string_view key) {
  constexpr std::string_view kPrefix = "attribute-0x";
  if (key.size() != kPrefix.size() + 7 || key.substr(0, kPrefix.size()) != kPrefix || key.substr(14, 3) != "-0x")
    return -1;
  auto digit = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; };
  const int hi = digit(key[12]), lo = digit(key[13]);
  if (hi < 0 || lo < 0 || digit(key[17]) < 0 || digit(key[18]) < 0) return -1;
  return hi * 16 + lo;
}

// A value of our attribute that the pre-pass decoded, and replaced by "" in the text given to nlohmann.
struct ElidedValue {
  std::string_view key;   // as written (it has no escapes)
  std::size_t begin = 0;  // the value's token in the line, quotes included: [begin, end)
  std::size_t end = 0;
  Bytes bytes;
};
using ElidedValues = std::vector<ElidedValue>;

// The elided copy does not say what the line said (never expected): the line takes the plain path.
struct Inconsistent {};

// The value is "0x" + hex digits (ExaBGP prints lowercase; either case is accepted).
void parse_payload(const json& value, UpdateEvent& ev) {
  if (!value.is_string()) throw Failure{LineError::kMissingField};
  const std::string& text = value.get_ref<const std::string&>();
  if (text.size() < 2 || text[0] != '0' || text[1] != 'x') throw Failure{LineError::kBadHex};
  const std::string_view hex = std::string_view(text).substr(2);
  if (hex.size() % 2 != 0) throw Failure{LineError::kOddHex};
  std::optional<Bytes> bytes = from_hex(hex);
  if (!bytes) throw Failure{LineError::kBadHex};
  ev.payload = std::move(*bytes);
}

// Items come in key order; with two keys of our code, the last one's value is the payload.
void parse_attributes(const json& attributes, std::uint8_t code, ElidedValues& elided, UpdateEvent& ev) {
  if (!attributes.is_object()) throw Failure{LineError::kMissingField};
  for (const auto& [key, value] : attributes.items()) {
    const int key_code = attribute_key_code(key);
    if (key_code < 0) continue;
    if (key_code != code) {
      ++ev.other_attribute_codes;
      continue;
    }
    auto it = std::find_if(elided.begin(), elided.end(), [&key = key](const ElidedValue& e) { return e.key == key; });
    if (it == elided.end()) {
      parse_payload(value, ev);
      continue;
    }
    // The pre-pass admits each key once, so each elided value is met (and moved from) once.
    if (!value.is_string() || !value.get_ref<const std::string&>().empty()) throw Inconsistent{};
    ev.payload = std::move(it->bytes);
  }
}

// ---- The pruned DOM -----------------------------------------------------------------------------------
//
// nlohmann's DOM of a whole update line costs more than everything else per frame (allocating and freeing
// ~40 values, most of which the schema walk never reads: time, host, pid, counter, asn, origin, as-path...).
// PrunedDom is a SAX handler that builds the same DOM nlohmann would, minus the subtrees the walk above
// cannot reach; what it keeps it builds exactly as json_sax_dom_parser does (a repeated key overwrites:
// the last one wins), so every reachable value, and so every outcome, is the same. The lexer and its
// errors are nlohmann's own (sax_parse, strict, no comments, as json::parse).
//   kept  root: exabgp, type, notification, neighbor; neighbor: address, direction, state, reason, message;
//         address: peer; message: eor, update; eor: afi, safi; update: attribute, announce, withdraw
//         (whole); attribute: every key of the form attribute-0xHH-0xHH (whole values).
// A kept leaf (e.g. "peer") whose value is a container keeps the container's type but not its contents:
// the walk reads only strings there.
class PrunedDom {
 public:
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  explicit PrunedDom(json& root) : root_(root) {}

  bool null() { return put(nullptr); }
  bool boolean(bool v) { return put(v); }
  bool number_integer(number_integer_t v) { return put(v); }
  bool number_unsigned(number_unsigned_t v) { return put(v); }
  bool number_float(number_float_t v, const string_t& /*text*/) { return put(v); }
  bool string(string_t& v) { return put(v); }
  bool binary(binary_t& v) { return put(std::move(v)); }
  bool start_object(std::size_t /*len*/) { return open(json::value_t::object); }
  bool start_array(std::size_t /*len*/) { return open(json::value_t::array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(string_t& k) {
    const Frame& f = stack_.back();
    json::object_t* object = f.node == nullptr ? nullptr : f.node->get_ptr<json::object_t*>();
    element_kind_ = object == nullptr ? Kind::kSkip : child_kind(f.kind, k);
    element_ = element_kind_ == Kind::kSkip || object == nullptr ? nullptr : &(*object)[k];
    return true;
  }
  template <class Exception>
  bool parse_error(std::size_t /*position*/, const std::string& /*token*/, const Exception& /*e*/) {
    errored_ = true;
    return false;
  }
  bool errored() const { return errored_; }

 private:
  // Where a value sits, as far as the schema walk is concerned.
  enum class Kind : std::uint8_t {
    kSkip,
    kLeaf,
    kWhole,
    kRoot,
    kNeighbor,
    kAddress,
    kMessage,
    kEor,
    kUpdate,
    kAttribute
  };
  struct Frame {
    json* node;  // nullptr: a skipped subtree
    Kind kind;
  };

  static Kind child_kind(Kind parent, std::string_view k) {
    switch (parent) {
      case Kind::kWhole: return Kind::kWhole;
      case Kind::kRoot:
        return k == "neighbor"                                         ? Kind::kNeighbor
               : (k == "exabgp" || k == "type" || k == "notification") ? Kind::kLeaf
                                                                       : Kind::kSkip;
      case Kind::kNeighbor:
        return k == "address"                                        ? Kind::kAddress
               : k == "message"                                      ? Kind::kMessage
               : (k == "direction" || k == "state" || k == "reason") ? Kind::kLeaf
                                                                     : Kind::kSkip;
      case Kind::kAddress: return k == "peer" ? Kind::kLeaf : Kind::kSkip;
      case Kind::kMessage: return k == "eor" ? Kind::kEor : k == "update" ? Kind::kUpdate : Kind::kSkip;
      case Kind::kEor: return (k == "afi" || k == "safi") ? Kind::kLeaf : Kind::kSkip;
      case Kind::kUpdate:
        return k == "attribute" ? Kind::kAttribute : (k == "announce" || k == "withdraw") ? Kind::kWhole : Kind::kSkip;
      case Kind::kAttribute: return attribute_key_code(k) >= 0 ? Kind::kWhole : Kind::kSkip;
      default: return Kind::kSkip;
    }
  }

  // Where the next value goes (nullptr: nowhere) and what it is, as json_sax_dom_parser::handle_value.
  json* slot(Kind& kind) {
    if (stack_.empty()) {
      kind = Kind::kRoot;
      return &root_;
    }
    const Frame& f = stack_.back();
    if (f.node == nullptr) return nullptr;
    if (auto* array = f.node->get_ptr<json::array_t*>()) {
      // Only whole subtrees read array elements (announce/withdraw lists).
      if (f.kind != Kind::kWhole) return nullptr;
      kind = Kind::kWhole;
      return &array->emplace_back();
    }
    kind = element_kind_;
    return element_;
  }
  template <class Value>
  bool put(Value&& v) {
    Kind kind = Kind::kSkip;
    if (json* target = slot(kind)) *target = json(std::forward<Value>(v));
    return true;
  }
  bool open(json::value_t type) {
    Kind kind = Kind::kSkip;
    json* target = slot(kind);
    if (target != nullptr) *target = json(type);
    stack_.push_back({kind == Kind::kLeaf ? nullptr : target, kind});
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  json& root_;
  std::vector<Frame> stack_;
  json* element_ = nullptr;  // the value slot of the last key read in a kept object
  Kind element_kind_ = Kind::kSkip;
  bool errored_ = false;
};

// json::parse(line, nullptr, false) minus the unread subtrees; false where that returns a discarded value.
bool parse_pruned(std::string_view line, json& root) {
  PrunedDom dom(root);
  return json::sax_parse(line.begin(), line.end(), &dom) && !dom.errored();
}

ExabgpLine parse_update(const json& root, std::uint8_t code, ElidedValues& elided) {
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
  if (const json* a = member(update, "attribute")) parse_attributes(*a, code, elided, ev);
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

ExabgpLine parse_json(std::string_view line, std::uint8_t code, ElidedValues& elided) {
  json root;
  if (!parse_pruned(line, root) || !root.is_object()) return LineError::kBadJson;
  const json* version = member(root, "exabgp");
  if (version == nullptr || !version->is_string() || *version != "4.0.1") return LineError::kWrongApiVersion;
  const std::string type = require_string(root, "type");
  if (type == "update") return parse_update(root, code, elided);
  if (type == "state") return parse_state(root);
  if (type == "notification") return NotificationEvent{require_string(root, "notification")};
  if (type == "negotiated" || type == "open" || type == "keepalive" || type == "refresh" || type == "operational" ||
      type == "signal")
    return IgnoredEvent{type};
  return LineError::kUnknownType;
}

// Throws only Inconsistent.
ExabgpLine parse_json_classified(std::string_view line, std::uint8_t code, ElidedValues& elided) {
  try {
    return parse_json(line, code, elided);
  } catch (const Failure& f) {
    return f.error;
  } catch (const std::exception&) {
    // nlohmann type errors on unexpected shapes, or allocation failure: the line is not what the schema
    // says, and the stream goes on.
    return LineError::kMissingField;
  }
}

// ---- The pre-pass -------------------------------------------------------------------------------------

// The objects on the way to our attribute: root -> "neighbor" -> "message" -> "update" -> "attribute".
// kPathKeys[d] is the key, in the path object at depth d (root = 1), of the path object one deeper.
constexpr std::array<std::string_view, 5> kPathKeys = {"", "neighbor", "message", "update", "attribute"};
constexpr int kAttributeDepth = 5;
constexpr int kMaxScanDepth = 32;  // ExaBGP's lines nest 7 deep; deeper lines take the plain path

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool ends_scalar(char c) {
  return is_json_space(c) || c == ',' || c == ':' || c == '{' || c == '}' || c == '[' || c == ']' || c == '"';
}

// The index of the quote that closes the string opened at `open`, or npos. `escaped`: the string holds a
// backslash, so its text is not its value. The common case (no backslash) is two memchr calls.
std::size_t string_end(std::string_view line, std::size_t open, bool& escaped) {
  const char* data = line.data();
  const std::size_t from = open + 1;
  const void* quote = std::memchr(data + from, '"', line.size() - from);
  if (quote == nullptr) return std::string_view::npos;
  const auto close = static_cast<std::size_t>(static_cast<const char*>(quote) - data);
  escaped = std::memchr(data + from, '\\', close - from) != nullptr;
  if (!escaped) return close;
  for (std::size_t i = from; i < line.size(); ++i) {
    if (data[i] == '\\') {
      ++i;
    } else if (data[i] == '"') {
      return i;
    }
  }
  return std::string_view::npos;
}

// Finds the values of our attribute that can be decoded in place: strings of "0x" and an even number of
// hex digits, without escapes, under a key "attribute-0x<code>-0x<flags>" directly inside
// root.neighbor.message.update.attribute. run() returns nullopt (= parse the line as it is) whenever the
// line is not in the plain shape ExaBGP writes: an escaped or repeated key in an object on that path
// (nlohmann keeps the last of equal keys, and escapes can make two keys equal), structure the scan does not
// follow, or text that ends early. It does not validate: nlohmann does, on the elided copy. Replacing one
// string token by another ("") changes neither whether the text is JSON nor, as long as the text before
// it is a valid beginning of JSON (which the scan follows exactly), where the token sits; and if that text
// is not valid, nlohmann rejects both lines there, before the token.
class PayloadScan {
 public:
  PayloadScan(std::string_view line, std::uint8_t code) : line_(line), code_(code) {}
  std::optional<ElidedValues> run();

 private:
  enum class Expect : std::uint8_t { kValue, kKey, kColon, kNext };

  bool on_string(std::size_t& i);
  bool on_key(std::string_view text, bool escaped);
  bool on_open(bool object);
  bool on_close(bool object);
  void try_elide(std::string_view text, std::size_t begin, std::size_t end);

  std::string_view line_;
  std::uint8_t code_;
  std::array<bool, kMaxScanDepth> is_object_{};  // per open container, outermost first
  int depth_ = 0;                                // containers open
  int path_ = 0;                                 // how many of them, from the root, are path objects
  Expect expect_ = Expect::kValue;
  std::string_view key_;      // the last key read
  bool key_is_ours_ = false;  // key_ names our attribute, in the attribute object
  std::array<bool, kAttributeDepth> path_key_seen_{};
  std::vector<std::string_view> our_keys_;  // our attribute's keys met in the attribute object
  ElidedValues found_;
};

std::optional<ElidedValues> PayloadScan::run() {
  const std::size_t n = line_.size();
  std::size_t i = 0;
  while (i < n) {
    const char c = line_[i];
    bool ok = true;
    if (is_json_space(c)) {
      ++i;
    } else if (c == '"') {
      ok = on_string(i);
    } else if (c == '{' || c == '[') {
      ok = on_open(c == '{');
      ++i;
    } else if (c == '}' || c == ']') {
      ok = on_close(c == '}');
      ++i;
    } else if (c == ':') {
      ok = expect_ == Expect::kColon;
      expect_ = Expect::kValue;
      ++i;
    } else if (c == ',') {
      ok = expect_ == Expect::kNext && depth_ > 0;
      if (ok) expect_ = is_object_[static_cast<std::size_t>(depth_ - 1)] ? Expect::kKey : Expect::kValue;
      ++i;
    } else {
      // A number or a literal; nlohmann checks its spelling.
      ok = expect_ == Expect::kValue;
      do ++i;
      while (i < n && !ends_scalar(line_[i]));
      expect_ = Expect::kNext;
    }
    if (!ok) return std::nullopt;
  }
  if (depth_ != 0) return std::nullopt;
  return std::move(found_);
}

bool PayloadScan::on_string(std::size_t& i) {
  bool escaped = false;
  const std::size_t close = string_end(line_, i, escaped);
  if (close == std::string_view::npos) return false;
  const std::size_t begin = i;
  const std::string_view text = line_.substr(begin + 1, close - begin - 1);
  i = close + 1;
  if (expect_ == Expect::kKey) return on_key(text, escaped);
  if (expect_ != Expect::kValue) return false;
  if (key_is_ours_ && depth_ == kAttributeDepth && path_ == depth_ && !escaped) try_elide(text, begin, i);
  expect_ = Expect::kNext;
  return true;
}

bool PayloadScan::on_key(std::string_view text, bool escaped) {
  expect_ = Expect::kColon;
  key_ = text;
  key_is_ours_ = false;
  if (path_ != depth_) return true;  // not in a path object
  if (escaped) return false;
  if (depth_ < kAttributeDepth) {
    if (text != kPathKeys[static_cast<std::size_t>(depth_)]) return true;
    bool& seen = path_key_seen_[static_cast<std::size_t>(depth_)];
    if (seen) return false;
    seen = true;
    return true;
  }
  if (attribute_key_code(text) != code_) return true;
  if (std::find(our_keys_.begin(), our_keys_.end(), text) != our_keys_.end()) return false;
  our_keys_.push_back(text);
  key_is_ours_ = true;
  return true;
}

bool PayloadScan::on_open(bool object) {
  if (expect_ != Expect::kValue || depth_ == kMaxScanDepth) return false;
  // In a path object expect_ == kValue means key_ is this value's key (and has no escape).
  if (object && path_ == depth_ &&
      (depth_ == 0 || (depth_ < kAttributeDepth && key_ == kPathKeys[static_cast<std::size_t>(depth_)])))
    ++path_;
  is_object_[static_cast<std::size_t>(depth_)] = object;
  ++depth_;
  expect_ = object ? Expect::kKey : Expect::kValue;
  return true;
}

bool PayloadScan::on_close(bool object) {
  // Accepts "{}" and "[]" (and, loosely, a trailing comma, which nlohmann then rejects).
  if (depth_ == 0 || is_object_[static_cast<std::size_t>(depth_ - 1)] != object) return false;
  --depth_;
  path_ = std::min(path_, depth_);
  expect_ = Expect::kNext;
  return true;
}

void PayloadScan::try_elide(std::string_view text, std::size_t begin, std::size_t end) {
  // Anything else ("0X", odd length, a non-hex digit) is left in the line for parse_payload to classify.
  if (text.size() < 2 || text[0] != '0' || text[1] != 'x' || text.size() % 2 != 0) return;
  Bytes bytes(text.size() / 2 - 1);
  if (!decode_hex(text.substr(2), bytes)) return;
  found_.push_back(ElidedValue{key_, begin, end, std::move(bytes)});
}

// The line with each elided value replaced by "".
std::string without_values(std::string_view line, const ElidedValues& elided) {
  std::size_t size = line.size();
  for (const ElidedValue& e : elided) size -= e.end - e.begin - 2;
  std::string out;
  out.reserve(size);
  std::size_t at = 0;
  for (const ElidedValue& e : elided) {
    out.append(line.substr(at, e.begin - at));
    out.append("\"\"");
    at = e.end;
  }
  out.append(line.substr(at));
  return out;
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
  ElidedValues elided;
  try {
    std::optional<ElidedValues> found = PayloadScan(line, attribute_code).run();
    if (found && !found->empty()) {
      elided = std::move(*found);
      return parse_json_classified(without_values(line, elided), attribute_code, elided);
    }
  } catch (const Inconsistent&) {
  } catch (const std::bad_alloc&) {
  }
  elided.clear();
  return parse_json_classified(line, attribute_code, elided);
}

}  // namespace raftbgp::transport
