// Command formatting for the ExaBGP text API (grammar: exabgp/configuration/static/parser.py attribute()).
#include <cstdio>

#include "raftbgp/transport/exabgp.h"
#include "raftbgp/transport/hex.h"

namespace raftbgp::transport {
namespace {

void append_byte_literal(std::string& out, std::uint8_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", static_cast<unsigned>(v));
  out += buf;
}

void append_neighbor(std::string& out, std::string_view neighbor) {
  if (neighbor.empty()) return;
  out += "neighbor ";
  out += neighbor;
  out += ' ';
}

}  // namespace

std::optional<std::string> validate_attribute(std::uint8_t code, std::uint8_t flags) {
  if (code == 0xfe) return "attribute code 0xfe is BIRD's internal mpls_label_stack; BIRD drops the route";
  if ((flags & 0xc0) != 0xc0) return "attribute flags must be optional transitive (0xc0 or 0xe0)";
  if ((flags & 0x1f) != 0) return "attribute flags: only 0xc0 or 0xe0 (ExaBGP sets Extended Length itself)";
  return std::nullopt;
}

std::string format_announce(std::string_view neighbor, const IpPrefix& prefix, std::string_view next_hop,
                            std::uint8_t code, std::uint8_t flags, ByteView payload) {
  std::string out;
  out.reserve(96 + 2 * payload.size());
  append_neighbor(out, neighbor);
  out += "announce route ";
  out += prefix.to_string();
  out += " next-hop ";
  out += next_hop;
  out += " attribute [ ";
  append_byte_literal(out, code);
  out += ' ';
  append_byte_literal(out, flags);
  out += " 0x";
  append_hex(out, payload);
  out += " ]";
  return out;
}

std::string format_withdraw(std::string_view neighbor, const IpPrefix& prefix) {
  std::string out;
  append_neighbor(out, neighbor);
  out += "withdraw route ";
  out += prefix.to_string();
  return out;
}

}  // namespace raftbgp::transport
