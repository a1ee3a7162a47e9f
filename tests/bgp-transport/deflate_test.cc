// Frame version 3: messages compressed with raw DEFLATE before they are cut and sealed (deflate.h, frame.h).
#include "raftbgp/transport/deflate.h"

#include <gtest/gtest.h>

#include <random>

#include "raftbgp/transport/transport.h"
#include "test_util.h"

namespace raftbgp::transport {
namespace {

using namespace raftbgp::transport::testing;  // NOLINT(google-build-using-namespace)

Bytes text_like(std::size_t n) {
  const std::string words = "route 10.0.0.0/24 community 65000:1 med 10 next-hop self ";
  Bytes b;
  while (b.size() < n) b.insert(b.end(), words.begin(), words.end());
  b.resize(n);
  return b;
}

Bytes random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  return b;
}

TEST(Deflate, Round_trips_and_only_ever_shrinks) {
  Deflater d;
  const Bytes text = text_like(5000);
  const auto z = d.compress(text);
  ASSERT_TRUE(z.has_value());
  EXPECT_LT(z->size(), text.size() / 10);
  const Result<Bytes> back = inflate_bounded(*z, text.size());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value(), text);
  // The same Deflater again (its state is reset between messages): identical output.
  EXPECT_EQ(d.compress(text), z);
  EXPECT_FALSE(d.compress(random_bytes(5000, 1)).has_value());            // would grow: sent as it is
  EXPECT_FALSE(d.compress(text_like(kMinDeflateBytes - 1)).has_value());  // too short to bother
}

TEST(Deflate, Corrupt_truncated_or_trailing_input_is_malformed) {
  Deflater d;
  const Bytes z = *d.compress(text_like(4000));
  EXPECT_EQ(inflate_bounded(Bytes(z.begin(), z.end() - 3), 1 << 20).reason(), RejectReason::kMalformed);
  Bytes trailing = z;
  trailing.push_back(0);
  EXPECT_EQ(inflate_bounded(trailing, 1 << 20).reason(), RejectReason::kMalformed);
  EXPECT_EQ(inflate_bounded(random_bytes(300, 2), 1 << 20).reason(), RejectReason::kMalformed);
  EXPECT_EQ(inflate_bounded(Bytes{}, 1 << 20).reason(), RejectReason::kMalformed);
}

TEST(Deflate, Output_is_capped_so_a_small_stream_cannot_make_the_receiver_allocate_more) {
  Deflater d;
  const Bytes zeros(1 << 20, 0);
  const Bytes bomb = *d.compress(zeros);
  ASSERT_LT(bomb.size(), 2000u);  // a megabyte in about a kilobyte
  EXPECT_EQ(inflate_bounded(bomb, 64 * 1024).reason(), RejectReason::kTooLarge);
  EXPECT_EQ(inflate_bounded(bomb, zeros.size() - 1).reason(), RejectReason::kTooLarge);
  const Result<Bytes> exact = inflate_bounded(bomb, zeros.size());  // exactly at the cap is fine
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact.value(), zeros);
}

// The version byte of the frame a command announces (its attribute's first byte).
std::string frame_version(const std::string& command) {
  const std::size_t h0 = command.find(" 0x", command.find("attribute [ ") + 20) + 3;
  return command.substr(h0, 2);
}

raftbgp::v1::Message entries_message(std::size_t n_entries) {
  raftbgp::v1::Message m = app_message(1, 2, 0);
  for (std::size_t i = 0; i < n_entries; ++i) {
    auto* e = m.add_entries();
    e->set_term(3);
    e->set_index(42 + i);
    const Bytes t = text_like(300 + i);
    e->set_data(std::string(t.begin(), t.end()));
  }
  return m;
}

TEST(Transport, A_message_that_shrinks_travels_as_v3_in_fewer_fragments_and_arrives_identical) {
  TransportConfig ca = config_for(1);
  ca.compress = true;
  Transport a = make_transport(ca), b = make_transport(config_for(2));  // b's compress setting is irrelevant
  Transport plain = make_transport(config_for(1));
  const auto m = entries_message(30);  // ~9.5 KB: four fragments uncompressed
  const auto uncompressed = plain.send(m, std::vector<std::uint64_t>{2});
  ASSERT_EQ(uncompressed.size(), 4u);
  EXPECT_EQ(frame_version(uncompressed[0]), "02");
  const auto lines = a.send(m, std::vector<std::uint64_t>{2});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(frame_version(lines[0]), "03");
  EXPECT_EQ(a.counters().messages_deflated, 1u);
  EXPECT_GT(a.counters().deflate_saved_bytes, 8000u);
  EXPECT_LT(a.counters().frame_bytes_sent, plain.counters().frame_bytes_sent / 5);
  auto got = pump(a, b, lines);
  ASSERT_EQ(got.size(), 1u);
  got[0].set_to(2);
  raftbgp::v1::Message want = m;
  want.set_to(2);
  EXPECT_EQ(got[0].SerializeAsString(), want.SerializeAsString());

  // A heartbeat does not shrink: it stays v2, which every release opens.
  raftbgp::v1::Message hb;
  hb.set_type(raftbgp::v1::MSG_HEARTBEAT);
  hb.set_from(1);
  hb.set_term(3);
  hb.set_commit(70);
  const auto hb_lines = a.send(hb, std::vector<std::uint64_t>{2});
  EXPECT_EQ(frame_version(hb_lines.at(0)), "02");
  EXPECT_EQ(pump(a, b, hb_lines).size(), 1u);
  EXPECT_EQ(a.counters().messages_deflated, 1u);
}

TEST(Transport, A_compressed_message_cut_into_fragments_reassembles_in_any_order) {
  TransportConfig ca = config_for(1);
  ca.compress = true;
  Transport a = make_transport(ca), b = make_transport(config_for(2));
  raftbgp::v1::Message m = app_message(1, 2, 0);
  auto* e = m.add_entries();  // half random (does not shrink), half text: deflated, still over one fragment
  Bytes data = random_bytes(6000, 3);
  const Bytes t = text_like(6000);
  data.insert(data.end(), t.begin(), t.end());
  e->set_data(std::string(data.begin(), data.end()));
  auto lines = a.send(m, std::vector<std::uint64_t>{2});
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& l : lines) EXPECT_EQ(frame_version(l), "03");
  std::vector<std::string> json;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) json.push_back(exabgp_json_for(*it));
  std::vector<raftbgp::v1::Message> got;
  for (const auto& j : json)
    for (auto& msg : b.on_line(j, 0).messages) got.push_back(std::move(msg));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].entries(0).data(), m.entries(0).data());
}

// A header of node 1 in cluster 7 (key 1, epoch 1, boot id 9) to `destinations`.
FrameHeader header_from_1(std::uint8_t version, std::uint64_t sequence, std::vector<std::uint64_t> destinations) {
  FrameHeader h;
  h.version = version;
  h.cluster_id = 7;
  h.key_id = 1;
  h.src = 1;
  h.epoch = 1;
  h.sequence = sequence;
  h.boot_id = 9;
  h.destinations = std::move(destinations);
  return h;
}

// Frames a key holder sealed by hand: what a buggy or hostile member could announce.
class SealedByHand : public ::testing::Test {
 protected:
  std::string frame_line(std::uint8_t version, std::uint64_t sequence, ByteView plaintext, std::uint16_t index = 0,
                         std::uint16_t count = 1) {
    FrameHeader h = header_from_1(version, sequence, {2});
    h.fragment_index = index;
    h.fragment_count = count;
    const Bytes frame = seal_frame(h, plaintext, *ring_.sender_key(h.subkey_id()));
    const std::string slot = std::to_string(100 + sequence * 4 + index);  // dst 2 | src 1 | a slot of its own
    return exabgp_json_for("announce route fd72:6166:20:" + slot + "::/64 next-hop fd00::1 attribute [ 0xff 0xc0 0x" +
                           to_hex(frame) + " ]");
  }
  std::size_t feed(const std::string& line) { return b_.on_line(line, 0).messages.size(); }

  KeyRing ring_ = ring_with(1, 0x10);
  TransportConfig config_ = [] {
    TransportConfig c = config_for(2);
    c.reassembly.max_message_bytes = 64 * 1024;
    return c;
  }();
  Transport b_ = make_transport(config_);
};

TEST_F(SealedByHand, A_v3_frame_that_is_not_deflate_is_malformed_and_delivers_nothing) {
  const std::string msg = app_message(1, 2, 10).SerializeAsString();
  const Bytes plain(msg.begin(), msg.end());
  EXPECT_EQ(feed(frame_line(kFrameVersionDeflate, 1, plain)), 0u);  // a Message, but not deflated
  EXPECT_EQ(b_.counters().rejected_for(RejectReason::kMalformed), 1u);
  EXPECT_EQ(feed(frame_line(kFrameVersion, 2, plain)), 1u);  // the same bytes as v2 are fine
}

TEST_F(SealedByHand, A_v3_frame_inflating_past_max_message_bytes_is_too_large) {
  Deflater d;
  const Bytes bomb = *d.compress(Bytes(1 << 20, 0));  // ~1 KB on the wire, 1 MiB inflated, the cap is 64 KiB
  EXPECT_EQ(feed(frame_line(kFrameVersionDeflate, 1, bomb)), 0u);
  EXPECT_EQ(b_.counters().rejected_for(RejectReason::kTooLarge), 1u);
  EXPECT_EQ(b_.counters().messages_delivered, 0u);
}

TEST_F(SealedByHand, Fragments_of_one_message_in_two_versions_are_inconsistent) {
  const Bytes piece = text_like(400);
  EXPECT_EQ(feed(frame_line(kFrameVersion, 1, piece, 0, 2)), 0u);
  EXPECT_EQ(feed(frame_line(kFrameVersionDeflate, 1, piece, 1, 2)), 0u);
  EXPECT_EQ(b_.counters().rejected_for(RejectReason::kMalformed), 1u);
  EXPECT_EQ(b_.counters().messages_delivered, 0u);
}

TEST(Frame, Version_3_has_the_v2_layout_and_needs_a_boot_id) {
  const FrameHeader h = header_from_1(kFrameVersionDeflate, 5, {2, 3});
  KeyRing ring = ring_with(1, 0x10);
  const Bytes frame = seal_frame(h, text_like(50), *ring.sender_key(h.subkey_id()));
  const Result<Frame> f = Frame::parse(frame);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.value().header.version, kFrameVersionDeflate);
  EXPECT_EQ(f.value().header.boot_id, 9u);
  EXPECT_EQ(f.value().aad.size(), kFrameFixedHeaderBytes + 16);
  Bytes no_boot = frame;
  for (std::size_t i = 38; i < 46; ++i) no_boot[i] = 0;  // boot id 0 is v1's; a v3 header with it is malformed
  EXPECT_EQ(Frame::parse(no_boot).reason(), RejectReason::kMalformed);
  Bytes v4 = frame;
  v4[0] = 4;
  EXPECT_EQ(Frame::parse(v4).reason(), RejectReason::kWrongVersion);
}

}  // namespace
}  // namespace raftbgp::transport
