// Mailbox addressing (docs/architecture.md §3 "Mailbox prefixes").
//
// Inside a configured base prefix, every (destination-or-group, source, slot) owns one prefix:
//   base bits | dst (dst_bits) | src (src_bits) | slot (slot_bits) | zero bits
// announced with length base_len + dst_bits + src_bits + slot_bits. Destination bits come first so that all
// mail *for* one router is one contiguous prefix (base_len + dst_bits long): the BGP speaker next to an agent
// hands that agent's ExaBGP only its own mail with one prefix-list line (configs/filters/). dst = 0 is the group
// home: frames with several destinations (the frame header names them), which every agent accepts.
// A sender uses a few slots per mailbox (Transport picks them, transport.h "Slots"): a newer announcement on a
// prefix replaces the older one at every hop (BGP is state, docs/exabgp.md §4.1).
//
// Layout v1 (raftbgp 0.1) put the source first: base | src | dst | slot, same field widths. Receivers still
// read it (parse_v1) so a cluster can be upgraded one router at a time; a prefix that reads as mail for us in
// both layouts is resolved by the frame header's authenticated source (Transport::on_update).
//
// Defaults: IPv6 fd72:6166::/32 with 12+12+8 bits -> /64 per slot (4095 nodes, 256 slots); IPv4
// 10.200.0.0/16 with 5+5+6 bits -> /32 per slot (31 nodes, 64 slots).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace raftbgp::transport {

enum class Family : std::uint8_t { kIpv4, kIpv6 };

struct IpPrefix {
  Family family = Family::kIpv6;
  std::array<std::uint8_t, 16> address{};  // IPv4 uses the first 4 bytes; bits past `length` are zero
  std::uint8_t length = 0;

  // "a.b.c.d/n" or "x:y::/n" (inet_pton forms). nullopt if malformed, length out of range, or host bits set.
  static std::optional<IpPrefix> parse(std::string_view text);
  // Canonical text (inet_ntop, RFC 5952 for IPv6) with "/length".
  std::string to_string() const;
  bool operator==(const IpPrefix&) const = default;
  auto operator<=>(const IpPrefix&) const = default;
};

// Parses a bare address ("10.0.0.1", "fd00::1"); nullopt if it is neither.
std::optional<IpPrefix> parse_address(std::string_view text);

// The next hop for announcements of `family`. IPv4: "self" or an IPv4 address. IPv6: an explicit IPv6
// address, never "self" (ExaBGP would send a 4-byte next hop on an IPv4 session and the peer resets the
// session until the route is withdrawn, docs/exabgp.md §1.6). Returns an error message, or nullopt when valid.
std::optional<std::string> validate_next_hop(Family family, std::string_view next_hop);

struct MailboxLayout {
  IpPrefix base;
  std::uint8_t src_bits = 12;
  std::uint8_t dst_bits = 12;
  std::uint8_t slot_bits = 8;

  static MailboxLayout default_ipv6();  // fd72:6166::/32, 12/12/8 -> /64
  static MailboxLayout default_ipv4();  // 10.200.0.0/16, 5/5/6 -> /32
};

struct MailboxAddress {
  std::uint64_t src = 0;
  std::uint64_t dst = 0;  // 0 = group mailbox
  std::uint32_t slot = 0;
  bool operator==(const MailboxAddress&) const = default;
};

class MailboxPlan {
 public:
  // Validates the layout: the fields fit the family's address width, each field 1..32 bits.
  static std::variant<MailboxPlan, std::string> create(const MailboxLayout& layout);

  Family family() const { return layout_.base.family; }
  std::uint32_t slots() const { return std::uint32_t{1} << layout_.slot_bits; }
  std::uint8_t prefix_length() const;
  // Largest node id a mailbox can name (ids 1..max_node_id).
  std::uint64_t max_node_id() const;
  bool fits(std::uint64_t node) const { return node >= 1 && node <= max_node_id(); }

  // Precondition: fits(src), dst == 0 || fits(dst), slot < slots().
  IpPrefix prefix_for(const MailboxAddress& a) const;
  // The mailbox a received prefix names, or nullopt if it is not one of ours (other family, length, base,
  // non-zero trailing bits, or a zero source).
  std::optional<MailboxAddress> parse(const IpPrefix& p) const { return parse_in(p, Order::kDstFirst); }
  // The same prefix read in layout v1 (source first), for frames from routers not yet upgraded.
  std::optional<MailboxAddress> parse_v1(const IpPrefix& p) const { return parse_in(p, Order::kSrcFirst); }

  // All mail for `dst` (0: the group home) is inside this prefix: what a per-router filter permits.
  IpPrefix mail_for(std::uint64_t dst) const;

 private:
  enum class Order : std::uint8_t { kDstFirst, kSrcFirst };
  explicit MailboxPlan(const MailboxLayout& l) : layout_(l) {}
  std::optional<MailboxAddress> parse_in(const IpPrefix& p, Order order) const;
  MailboxLayout layout_;
};

}  // namespace raftbgp::transport
