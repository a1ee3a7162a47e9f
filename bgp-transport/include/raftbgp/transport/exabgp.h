// The ExaBGP 4.2 process API, text side (docs/architecture.md §3 "The ExaBGP line protocol").
//
// Commands (what the agent writes to ExaBGP, one per line; the formatter returns them without '\n'):
//   [neighbor <ip> ]announce route <prefix> next-hop <nh> attribute [ 0x<code> 0x<flags> 0x<hex> ]
//   [neighbor <ip> ]withdraw route <prefix>
// Events (what ExaBGP writes on the agent's stdin, with `encoder json`, API version string "4.0.1"):
//   "done" / "error" acks, one per command, in order; JSON objects of type update (announce / withdraw /
//   eor), state (connected / up / down + reason), notification (shutdown); other JSON types are ignored
//   (negotiated, open, keepalive, refresh, operational) or counted as unknown.
//
// The parser is strict and total: any input gives a value (an event or a LineError), never an exception.
// Pure code: no IO.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "raftbgp/transport/crypto.h"
#include "raftbgp/transport/mailbox.h"

namespace raftbgp::transport {

// A 64 KiB payload makes a ~131 KB line (docs/exabgp.md §1.7); anything over this cap is rejected unparsed.
inline constexpr std::size_t kMaxLineBytes = 200 * 1024;

// Attribute type code and flags for our frames. RFC 2042 reserves 255 for development. Refused: 0xfe
// (BIRD's internal mpls_label_stack: BIRD drops the route, docs/exabgp.md §1.8), and flags without both Optional
// (0x80) and Transitive (0x40): RFC 4271 §5 says transits drop unrecognised non-transitive attributes.
// Extended Length (0x10) is left to ExaBGP, which sets it itself for payloads over 255 bytes.
std::optional<std::string> validate_attribute(std::uint8_t code, std::uint8_t flags);

// `neighbor` empty = all peers. Precondition: validate_attribute(code, flags) and validate_next_hop.
std::string format_announce(std::string_view neighbor, const IpPrefix& prefix, std::string_view next_hop,
                            std::uint8_t code, std::uint8_t flags, ByteView payload);
std::string format_withdraw(std::string_view neighbor, const IpPrefix& prefix);

// Why a line was not understood. Values index Counters::line_errors.
enum class LineError : std::uint8_t {
  kTooLong,          // over kMaxLineBytes
  kBadJson,          // starts with '{' but is not JSON (e.g. a line cut in half)
  kWrongApiVersion,  // "exabgp" is not "4.0.1"
  kMissingField,     // valid JSON without a field the schema requires, or of the wrong JSON type
  kUnknownType,      // JSON "type" we do not know
  kBadHex,           // our attribute's value is not "0x" followed by hex digits (e.g. truncated)
  kOddHex,           // our attribute's value has an odd number of hex digits
  kBadPrefix,        // an "nlri" that is not a prefix
  kUnknownText,      // neither JSON nor an ack
  kCount
};
inline constexpr std::size_t kLineErrorCount = static_cast<std::size_t>(LineError::kCount);
std::string_view to_string(LineError e);

struct AckEvent {
  bool done = true;  // false = "error"
};

struct UpdateEvent {
  std::string peer;                         // neighbor.address.peer
  std::vector<IpPrefix> announced;          // unicast NLRI, deduplicated (an IPv6 prefix can appear twice)
  std::vector<IpPrefix> withdrawn;          // deduplicated
  std::vector<std::string> eor;             // "<afi> <safi>" per end-of-RIB marker
  std::optional<Bytes> payload;             // value of our attribute (type code match, any flags)
  std::uint32_t other_attribute_codes = 0;  // generic attributes with another code (ignored)
};

struct StateEvent {
  std::string peer;
  std::string state;   // "connected", "up", "down"
  std::string reason;  // set for "down"
};

struct NotificationEvent {
  std::string notification;  // e.g. "shutdown"
};

struct IgnoredEvent {
  std::string type;  // a known JSON type we do not act on, or an update with direction "send"
};

using ExabgpLine = std::variant<LineError, AckEvent, UpdateEvent, StateEvent, NotificationEvent, IgnoredEvent>;

// Parses one line (a trailing "\n" or "\r\n" is ignored). `attribute_code` selects our attribute.
ExabgpLine parse_exabgp_line(std::string_view line, std::uint8_t attribute_code);

}  // namespace raftbgp::transport
