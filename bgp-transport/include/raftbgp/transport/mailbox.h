// Mailbox addressing (docs/architecture.md §3 "Mailbox prefixes").
//
// Inside a configured base prefix, every (source, destination-or-group, slot) owns one prefix:
//   base bits | src (src_bits) | dst (dst_bits) | slot (slot_bits) | zero bits
// announced with length base_len + src_bits + dst_bits + slot_bits. dst = 0 is the source's group mailbox,
// used for frames with several destinations (the frame header names them). A sender rotates through its
// K = 2^slot_bits slots per mailbox: a newer announcement on a prefix replaces the older one at every hop
// (BGP is state, docs/exabgp.md §4.1), so K bounds how many fragments per mailbox can be in flight.
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
  std::optional<MailboxAddress> parse(const IpPrefix& p) const;

 private:
  explicit MailboxPlan(const MailboxLayout& l) : layout_(l) {}
  MailboxLayout layout_;
};

}  // namespace raftbgp::transport
