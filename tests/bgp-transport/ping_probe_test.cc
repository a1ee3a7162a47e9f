// raftbgp-ping's probe bytes (bgp-transport/tools/ping_probe.h): the layout in its header, byte for byte.
#include "ping_probe.h"

#include <gtest/gtest.h>

#include <string>

namespace raftbgp::ping {
namespace {

Probe sample() {
  Probe p;
  p.kind = Kind::kPong;
  p.mode = Mode::kRaw;
  p.src = 0x0102030405060708;
  p.dst = 2;
  p.epoch = 3;
  p.id = 0x1122;
  p.t_send_ns = 0xa0b0c0d0e0f00010;
  p.size = 60;
  return p;
}

TEST(PingProbe, Encodes_the_documented_big_endian_layout_and_filler) {
  const std::string s = encode_probe(sample());
  ASSERT_EQ(s.size(), 60u);
  const std::string header(
      "RBPG\x02\x01\x00\x00"
      "\x01\x02\x03\x04\x05\x06\x07\x08"
      "\x00\x00\x00\x00\x00\x00\x00\x02"
      "\x00\x00\x00\x00\x00\x00\x00\x03"
      "\x00\x00\x00\x00\x00\x00\x11\x22"
      "\xa0\xb0\xc0\xd0\xe0\xf0\x00\x10"
      "\x00\x00\x00\x3c",
      kProbeHeaderBytes);
  EXPECT_EQ(s.substr(0, kProbeHeaderBytes), header);
  EXPECT_EQ(static_cast<unsigned char>(s[kProbeHeaderBytes]), (kProbeHeaderBytes * 7 + 0x1122) & 0xff);
}

TEST(PingProbe, Decodes_what_it_encodes_and_refuses_a_short_or_foreign_header) {
  const Probe p = sample();
  const auto d = decode_probe(encode_probe(p));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, p.kind);
  EXPECT_EQ(d->mode, p.mode);
  EXPECT_EQ(d->src, p.src);
  EXPECT_EQ(d->dst, p.dst);
  EXPECT_EQ(d->epoch, p.epoch);
  EXPECT_EQ(d->id, p.id);
  EXPECT_EQ(d->t_send_ns, p.t_send_ns);
  EXPECT_EQ(d->size, p.size);
  EXPECT_FALSE(decode_probe(encode_probe(p).substr(0, kProbeHeaderBytes - 1)));
  std::string bad_kind = encode_probe(p);
  bad_kind[4] = 3;
  EXPECT_FALSE(decode_probe(bad_kind));
  EXPECT_FALSE(decode_probe(std::string(kProbeHeaderBytes, 'x')));
}

}  // namespace
}  // namespace raftbgp::ping
