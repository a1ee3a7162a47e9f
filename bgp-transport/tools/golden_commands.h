// The commands of the golden capture (tests/bgp-transport/golden/README.md): frames from node 1 of cluster 7,
// sealed with the golden key (key id 1, bytes 0x00..0x1f), deterministic because the nonce is derived
// from (epoch, sequence, fragment) and each sender's boot id is fixed here (real senders draw one at random). Shared by
// tools/golden_commands.cc and the golden test, so the test proves the formatter still prints exactly the lines
// ExaBGP 4.2.21 acknowledged with "done".
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "raftbgp/transport/transport.h"

namespace raftbgp::transport::golden {

namespace rt = raftbgp::transport;

inline rt::Transport make(rt::Family family, std::uint64_t epoch, std::uint8_t key_base, const std::string& nh6) {
  rt::TransportConfig c;
  c.cluster_id = 7;
  c.my_id = 1;
  c.members = {1, 2, 3};
  c.family = family;
  c.next_hop_ipv6 = nh6;
  rt::Key k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(key_base + i);
  c.keys.add(1, k);
  c.active_key_id = 1;
  c.epoch = epoch;
  c.compress = false;                                        // the captures predate frame v3 and are byte-exact
  c.boot_id = 0x676f6c64656e0000 | (epoch << 8) | key_base;  // "golden", epoch, key: fixed for byte-exact output
  auto t = rt::Transport::create(c);
  if (auto* e = std::get_if<std::string>(&t)) {
    std::fprintf(stderr, "config: %s\n", e->c_str());
    std::exit(2);
  }
  return std::move(std::get<rt::Transport>(t));
}

inline raftbgp::v1::Message msg(raftbgp::v1::MessageType type, std::size_t data_bytes) {
  raftbgp::v1::Message m;
  m.set_type(type);
  m.set_from(1);
  m.set_to(2);
  m.set_term(5);
  m.set_index(100);
  m.set_log_term(4);
  m.set_commit(99);
  if (data_bytes > 0) {
    auto* e = m.add_entries();
    e->set_term(5);
    e->set_index(101);
    std::string d(data_bytes, '\0');
    for (std::size_t i = 0; i < data_bytes; ++i) d[i] = static_cast<char>('a' + i % 26);
    e->set_data(d);
  }
  return m;
}

// The commands, in order, for an IPv6 next hop `nh6`.
inline std::vector<std::string> golden_commands(const std::string& nh6) {
  std::vector<std::string> out;
  auto add = [&out](const std::vector<std::string>& lines) { out.insert(out.end(), lines.begin(), lines.end()); };
  const std::vector<std::uint64_t> to2{2}, to23{2, 3};
  rt::Transport v6 = make(rt::Family::kIpv6, 1, 0x00, nh6);
  add(v6.send(msg(raftbgp::v1::MSG_HEARTBEAT, 0), to2));  // seq 1: < 255 bytes -> attribute-0xFF-0xE0
  add(v6.send(msg(raftbgp::v1::MSG_APP, 1000), to2));     // seq 2: > 255 bytes -> attribute-0xFF-0xF0
  add(v6.send(msg(raftbgp::v1::MSG_APP, 4000), to2));     // seq 3: two fragments
  add(v6.send(msg(raftbgp::v1::MSG_VOTE, 0), to23));      // seq 4: group mailbox, destinations {2,3}
  rt::Transport wrong = make(rt::Family::kIpv6, 1, 0x80, nh6);
  add(wrong.send(msg(raftbgp::v1::MSG_HEARTBEAT, 0), to2));  // another key: rejected as bad_tag
  rt::Transport v4 = make(rt::Family::kIpv4, 2, 0x00, nh6);
  add(v4.send(msg(raftbgp::v1::MSG_HEARTBEAT_RESP, 0), to2));  // epoch 2, seq 1, IPv4 /32, next-hop self
  return out;
}

}  // namespace raftbgp::transport::golden
