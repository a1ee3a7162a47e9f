#include "raftbgp/transport/frame.h"

#include <algorithm>

#include "raftbgp/raft/types.h"
#include "raftbgp/transport/big_endian.h"

namespace raftbgp::transport {
namespace {

bool header_is_valid(const FrameHeader& h) {
  if (h.version == kFrameVersion || h.version == kFrameVersionDeflate
          ? h.boot_id == 0
          : (h.version != kFrameVersionV1 || h.boot_id != 0))
    return false;
  if (h.destinations.empty() || h.destinations.size() > kMaxDestinations) return false;
  if (h.fragment_count == 0 || h.fragment_index >= h.fragment_count) return false;
  if (h.epoch == 0 || h.epoch > kMaxEpoch || h.sequence == 0 || h.sequence > kMaxSequence) return false;
  if (h.destinations.front() == 0) return false;
  return std::adjacent_find(h.destinations.begin(), h.destinations.end(),
                            [](std::uint64_t a, std::uint64_t b) { return a >= b; }) == h.destinations.end();
}

}  // namespace

std::string_view to_string(RejectReason r) {
  switch (r) {
    case RejectReason::kMalformed: return "malformed";
    case RejectReason::kWrongVersion: return "wrong_version";
    case RejectReason::kWrongCluster: return "wrong_cluster";
    case RejectReason::kNotForMe: return "not_for_me";
    case RejectReason::kOwnEcho: return "own_echo";
    case RejectReason::kUnknownKey: return "unknown_key";
    case RejectReason::kBadTag: return "bad_tag";
    case RejectReason::kReplay: return "replay";
    case RejectReason::kTooLarge: return "too_large";
    case RejectReason::kCount: break;
  }
  return "unknown";
}

bool FrameHeader::addressed_to(std::uint64_t node) const {
  return std::binary_search(destinations.begin(), destinations.end(), node);
}

void FrameHeader::encode(Bytes& out) const {
  RAFT_ASSERT(header_is_valid(*this));
  out.reserve(out.size() + encoded_size());
  put_be(out, version, 1);
  put_be(out, destinations.size(), 1);
  put_be(out, fragment_index, 2);
  put_be(out, fragment_count, 2);
  put_be(out, cluster_id, 4);
  put_be(out, key_id, 4);
  put_be(out, src, 8);
  put_be(out, epoch, 8);
  put_be(out, sequence, 8);
  if (version != kFrameVersionV1) put_be(out, boot_id, 8);
  for (std::uint64_t d : destinations) put_be(out, d, 8);
}

Result<Frame> Frame::parse(ByteView bytes) {
  if (bytes.empty()) return RejectReason::kMalformed;
  // The version byte comes first so a future layout is reported as such, not as garbage.
  if (bytes[0] != kFrameVersion && bytes[0] != kFrameVersionDeflate && bytes[0] != kFrameVersionV1)
    return RejectReason::kWrongVersion;
  if (bytes.size() > kMaxFrameBytes) return RejectReason::kTooLarge;
  const std::size_t fixed = bytes[0] == kFrameVersionV1 ? kFrameFixedHeaderBytesV1 : kFrameFixedHeaderBytes;
  if (bytes.size() < fixed) return RejectReason::kMalformed;
  const std::uint8_t* p = bytes.data();
  Frame f;
  FrameHeader& h = f.header;
  h.version = p[0];
  const std::size_t n = p[1];
  h.fragment_index = static_cast<std::uint16_t>(get_be(p + 2, 2));
  h.fragment_count = static_cast<std::uint16_t>(get_be(p + 4, 2));
  h.cluster_id = static_cast<std::uint32_t>(get_be(p + 6, 4));
  h.key_id = static_cast<std::uint32_t>(get_be(p + 10, 4));
  h.src = get_be(p + 14, 8);
  h.epoch = get_be(p + 22, 8);
  h.sequence = get_be(p + 30, 8);
  if (h.version != kFrameVersionV1) h.boot_id = get_be(p + 38, 8);
  const std::size_t header_bytes = fixed + 8 * n;
  if (n == 0 || n > kMaxDestinations || bytes.size() < header_bytes + kTagBytes) return RejectReason::kMalformed;
  h.destinations.reserve(n);
  for (std::size_t i = 0; i < n; ++i) h.destinations.push_back(get_be(p + fixed + 8 * i, 8));
  if (!header_is_valid(h)) return RejectReason::kMalformed;
  f.aad = bytes.first(header_bytes);
  f.sealed = bytes.subspan(header_bytes);
  return f;
}

Bytes seal_frame(const FrameHeader& header, ByteView fragment, const KeyEntry& sender_key) {
  RAFT_ASSERT(header.version == kFrameVersion || header.version == kFrameVersionDeflate);  // never v1: see frame.h
  Bytes out;
  out.reserve(header.encoded_size() + fragment.size() + kTagBytes);
  header.encode(out);
  const Nonce nonce = derive_nonce(header.epoch, header.sequence, header.fragment_index);
  const Bytes sealed = aead_seal(sender_key.algorithm, sender_key.key, nonce, out, fragment);
  out.insert(out.end(), sealed.begin(), sealed.end());
  RAFT_ASSERT(out.size() <= kMaxFrameBytes);
  return out;
}

Result<OpenedFrame> open_frame(ByteView bytes, std::uint32_t cluster_id, std::uint64_t my_id, KeyRing& keys,
                               std::optional<std::uint64_t> expected_src) {
  Result<Frame> parsed = Frame::parse(bytes);
  if (!parsed.ok()) return parsed.reason();
  Frame& f = parsed.value();
  if (f.header.cluster_id != cluster_id) return RejectReason::kWrongCluster;
  if (f.header.src == my_id) return RejectReason::kOwnEcho;
  if (!f.header.addressed_to(my_id)) return RejectReason::kNotForMe;
  if (expected_src && f.header.src != *expected_src) return RejectReason::kMalformed;
  if (!keys.contains(f.header.key_id)) return RejectReason::kUnknownKey;
  const SubkeyId id = f.header.subkey_id();
  const KeyEntry key = *keys.sender_key(id, /*cache=*/false);
  const Nonce nonce = derive_nonce(f.header.epoch, f.header.sequence, f.header.fragment_index);
  std::optional<Bytes> plain = aead_open(key.algorithm, key.key, nonce, f.aad, f.sealed);
  if (!plain) return RejectReason::kBadTag;
  keys.remember(id, key.key);
  return OpenedFrame{std::move(f.header), std::move(*plain)};
}

}  // namespace raftbgp::transport
