#include "raftbgp/transport/mailbox.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "raftbgp/raft/types.h"

namespace raftbgp::transport {
namespace {

unsigned width(Family f) { return f == Family::kIpv4 ? 32 : 128; }

// Bit i counts from the most significant bit of the address (network order).
void set_bits(std::array<std::uint8_t, 16>& a, unsigned offset, unsigned count, std::uint64_t value) {
  for (unsigned i = 0; i < count; ++i) {
    const unsigned bit = offset + i;
    const bool on = (value >> (count - 1 - i)) & 1U;
    const auto mask = static_cast<std::uint8_t>(0x80U >> (bit % 8));
    a[bit / 8] = static_cast<std::uint8_t>(on ? (a[bit / 8] | mask) : (a[bit / 8] & ~mask));
  }
}

std::uint64_t get_bits(const std::array<std::uint8_t, 16>& a, unsigned offset, unsigned count) {
  std::uint64_t v = 0;
  for (unsigned i = 0; i < count; ++i) {
    const unsigned bit = offset + i;
    v = (v << 1) | ((static_cast<unsigned>(a[bit / 8]) >> (7 - bit % 8)) & 1U);
  }
  return v;
}

bool bits_zero_from(const std::array<std::uint8_t, 16>& a, unsigned from, unsigned to) {
  for (unsigned bit = from; bit < to; ++bit)
    if ((static_cast<unsigned>(a[bit / 8]) >> (7 - bit % 8)) & 1U) return false;
  return true;
}

}  // namespace

std::optional<IpPrefix> parse_address(std::string_view text) {
  if (text.size() > 45) return std::nullopt;
  const std::string s(text);
  IpPrefix p;
  if (::inet_pton(AF_INET, s.c_str(), p.address.data()) == 1) {
    p.family = Family::kIpv4;
    p.length = 32;
    return p;
  }
  if (::inet_pton(AF_INET6, s.c_str(), p.address.data()) == 1) {
    p.family = Family::kIpv6;
    p.length = 128;
    return p;
  }
  return std::nullopt;
}

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::optional<IpPrefix> p = parse_address(text.substr(0, slash));
  if (!p) return std::nullopt;
  const std::string_view len_text = text.substr(slash + 1);
  unsigned len = 0;
  auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (ec != std::errc() || ptr != len_text.data() + len_text.size() || len_text.empty()) return std::nullopt;
  if (len > width(p->family) || !bits_zero_from(p->address, len, width(p->family))) return std::nullopt;
  p->length = static_cast<std::uint8_t>(len);
  return p;
}

std::string IpPrefix::to_string() const {
  char buf[64];
  const int af = family == Family::kIpv4 ? AF_INET : AF_INET6;
  if (::inet_ntop(af, address.data(), buf, sizeof buf) == nullptr) RAFT_PANIC("inet_ntop failed");
  return std::string(buf) + "/" + std::to_string(length);
}

std::optional<std::string> validate_next_hop(Family family, std::string_view next_hop) {
  if (family == Family::kIpv4) {
    if (next_hop == "self") return std::nullopt;
    std::optional<IpPrefix> a = parse_address(next_hop);
    if (!a || a->family != Family::kIpv4) return "IPv4 next hop must be 'self' or an IPv4 address";
    return std::nullopt;
  }
  std::optional<IpPrefix> a = parse_address(next_hop);
  if (!a || a->family != Family::kIpv6)
    return "IPv6 next hop must be an explicit IPv6 address (never 'self': docs/exabgp.md §1.6)";
  return std::nullopt;
}

MailboxLayout MailboxLayout::default_ipv6() { return {*IpPrefix::parse("fd72:6166::/32"), 12, 12, 8}; }
MailboxLayout MailboxLayout::default_ipv4() { return {*IpPrefix::parse("10.200.0.0/16"), 5, 5, 6}; }

std::variant<MailboxPlan, std::string> MailboxPlan::create(const MailboxLayout& l) {
  for (unsigned bits : {l.src_bits, l.dst_bits, l.slot_bits})
    if (bits < 1 || bits > 32) return std::string("mailbox: src_bits, dst_bits and slot_bits must be 1..32");
  if (l.slot_bits > 16) return std::string("mailbox: slot_bits must be at most 16");
  const unsigned total = unsigned{l.base.length} + l.src_bits + l.dst_bits + l.slot_bits;
  if (total > width(l.base.family))
    return "mailbox: base /" + std::to_string(l.base.length) + " + src/dst/slot bits = " + std::to_string(total) +
           " exceeds the address width";
  return MailboxPlan(l);
}

std::uint8_t MailboxPlan::prefix_length() const {
  return static_cast<std::uint8_t>(layout_.base.length + layout_.src_bits + layout_.dst_bits + layout_.slot_bits);
}

std::uint64_t MailboxPlan::max_node_id() const {
  const unsigned bits = std::min(layout_.src_bits, layout_.dst_bits);
  return (std::uint64_t{1} << bits) - 1;
}

IpPrefix MailboxPlan::prefix_for(const MailboxAddress& a) const {
  RAFT_ASSERT(fits(a.src) && (a.dst == 0 || fits(a.dst)) && a.slot < slots());
  IpPrefix p = layout_.base;
  unsigned off = layout_.base.length;
  set_bits(p.address, off, layout_.dst_bits, a.dst);
  off += layout_.dst_bits;
  set_bits(p.address, off, layout_.src_bits, a.src);
  off += layout_.src_bits;
  set_bits(p.address, off, layout_.slot_bits, a.slot);
  p.length = prefix_length();
  return p;
}

IpPrefix MailboxPlan::mail_for(std::uint64_t dst) const {
  RAFT_ASSERT(dst == 0 || fits(dst));
  IpPrefix p = layout_.base;
  set_bits(p.address, layout_.base.length, layout_.dst_bits, dst);
  p.length = static_cast<std::uint8_t>(layout_.base.length + layout_.dst_bits);
  return p;
}

std::optional<MailboxAddress> MailboxPlan::parse_in(const IpPrefix& p, Order order) const {
  if (p.family != family() || p.length != prefix_length()) return std::nullopt;
  const unsigned base_len = layout_.base.length;
  for (unsigned bit = 0; bit < base_len; ++bit)
    if (get_bits(p.address, bit, 1) != get_bits(layout_.base.address, bit, 1)) return std::nullopt;
  if (!bits_zero_from(p.address, prefix_length(), width(family()))) return std::nullopt;
  MailboxAddress a;
  unsigned off = base_len;
  const bool dst_first = order == Order::kDstFirst;
  std::uint64_t& first = dst_first ? a.dst : a.src;
  std::uint64_t& second = dst_first ? a.src : a.dst;
  const std::uint8_t first_bits = dst_first ? layout_.dst_bits : layout_.src_bits;
  const std::uint8_t second_bits = dst_first ? layout_.src_bits : layout_.dst_bits;
  first = get_bits(p.address, off, first_bits);
  off += first_bits;
  second = get_bits(p.address, off, second_bits);
  off += second_bits;
  a.slot = static_cast<std::uint32_t>(get_bits(p.address, off, layout_.slot_bits));
  if (a.src == 0) return std::nullopt;
  return a;
}

}  // namespace raftbgp::transport
