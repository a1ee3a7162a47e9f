// Shared helpers for bgp-transport tests: keys, configs, and a fake ExaBGP that turns our announce and
// withdraw commands into the JSON lines ExaBGP 4.2.21 writes (shapes from the golden captures).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "raftbgp/transport/hex.h"
#include "raftbgp/transport/transport.h"

namespace raftbgp::transport::testing {

inline Key key_of(std::uint8_t fill) {
  Key k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(fill + i);
  return k;
}

inline KeyRing ring_with(std::uint32_t id, std::uint8_t fill, AeadAlgorithm a = AeadAlgorithm::kChaCha20Poly1305) {
  KeyRing r;
  r.add(id, key_of(fill), a);
  return r;
}

inline TransportConfig config_for(std::uint64_t me, Family family = Family::kIpv6) {
  TransportConfig c;
  c.cluster_id = 7;
  c.my_id = me;
  c.members = {1, 2, 3};
  c.family = family;
  c.next_hop_ipv6 = "fd00:255:1::" + std::to_string(me);
  c.next_hop_ipv4 = "self";
  c.keys = ring_with(1, 0x10);
  c.active_key_id = 1;
  c.epoch = 1;
  // Uncompressed (frame v2) unless a test turns it on: app_message's data is periodic and would shrink, which
  // would change every fragment count and byte figure the other tests check. deflate_test.cc covers v3.
  c.compress = false;
  return c;
}

inline Transport make_transport(TransportConfig c) {
  auto t = Transport::create(std::move(c));
  if (auto* e = std::get_if<std::string>(&t)) ADD_FAILURE() << *e;
  return std::move(std::get<Transport>(t));
}

inline raftbgp::v1::Message app_message(std::uint64_t from, std::uint64_t to, std::size_t data_bytes,
                                        std::uint64_t term = 3) {
  raftbgp::v1::Message m;
  m.set_type(raftbgp::v1::MSG_APP);
  m.set_from(from);
  m.set_to(to);
  m.set_term(term);
  m.set_index(41);
  m.set_log_term(2);
  m.set_commit(40);
  if (data_bytes > 0) {
    auto* e = m.add_entries();
    e->set_term(term);
    e->set_index(42);
    std::string data(data_bytes, '\0');
    for (std::size_t i = 0; i < data_bytes; ++i) data[i] = static_cast<char>((i * 131 + 7) & 0xff);
    e->set_data(data);
  }
  return m;
}

inline std::string neighbor_header(const std::string& peer) {
  return R"("neighbor": { "address": { "local": "10.255.3.2", "peer": ")" + peer +
         R"(" }, "asn": { "local": 65003, "peer": 65002 } , )";
}

// The JSON line a receiving ExaBGP 4.2.21 writes for one of our commands, or "" for other commands.
// Announce: key attribute-0xFF-0xE0 (<= 255 bytes) or -0xF0; withdraw: "withdraw" list.
inline std::string exabgp_json_for(const std::string& command, const std::string& peer = "10.255.3.1") {
  const std::string head = R"({ "exabgp": "4.0.1", "time": 1795671073.9343026, "host" : "vm", "pid" : 11007, )"
                           R"("ppid" : 1, "counter": 5, "type": "update", )" +
                           neighbor_header(peer) + R"("direction": "receive", "message": { "update": { )";
  if (command.rfind("announce route ", 0) == 0) {
    const std::size_t p0 = 15, p1 = command.find(' ', p0);
    const std::string prefix = command.substr(p0, p1 - p0);
    const std::size_t h0 = command.find(" 0x", command.find("attribute [ ") + 20) + 3;
    const std::string hex = command.substr(h0, command.find(" ]", h0) - h0);
    const bool v6 = prefix.find(':') != std::string::npos;
    const char* flags = hex.size() / 2 > 255 ? "0xF0" : "0xE0";
    return head + R"("attribute": { "origin": "igp", "as-path": [ 65002, 65001 ], "confederation-path": [], )" +
           R"("attribute-0xFF-)" + std::string(flags) + R"(": "0x)" + hex + R"(" }, "announce": { ")" +
           (v6 ? "ipv6 unicast" : "ipv4 unicast") + R"(": { ")" + peer + R"(": [ { "nlri": ")" + prefix +
           R"(" } ] } } } } } })";
  }
  if (command.rfind("withdraw route ", 0) == 0) {
    const std::string prefix = command.substr(15);
    const bool v6 = prefix.find(':') != std::string::npos;
    return head + R"("withdraw": { ")" + (v6 ? "ipv6 unicast" : "ipv4 unicast") + R"(": [ { "nlri": ")" + prefix +
           R"(" } ] } } } } })";
  }
  return "";
}

inline std::string state_line(const std::string& state, const std::string& peer = "10.255.3.1") {
  std::string s = R"({ "exabgp": "4.0.1", "time": 1795673236.3642814, "host" : "vm", "pid" : 24982, "ppid" : 1, )"
                  R"("counter": 1, "type": "state", )" +
                  neighbor_header(peer) + R"("state": ")" + state + "\"";
  if (state == "down") s += R"x(, "reason": "peer reset, message (notification received (6,2)) error(Cease)")x";
  return s + " } }";
}

// Feeds every command through the fake ExaBGP into `rx`; acks each command on `tx`. Returns what `rx`
// delivered.
inline std::vector<raftbgp::v1::Message> pump(Transport& tx, Transport& rx, const std::vector<std::string>& lines,
                                              std::uint64_t tick = 0) {
  std::vector<raftbgp::v1::Message> out;
  std::vector<std::string> todo = lines;
  while (!todo.empty()) {
    std::vector<std::string> next;
    for (const std::string& cmd : todo) {
      auto r = rx.on_line(exabgp_json_for(cmd), tick);
      for (auto& m : r.messages) out.push_back(std::move(m));
      auto acked = tx.on_line("done", tick);
      next.insert(next.end(), acked.lines.begin(), acked.lines.end());
    }
    todo = std::move(next);
  }
  return out;
}

}  // namespace raftbgp::transport::testing
