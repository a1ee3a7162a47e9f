// Transport frames: the bytes carried in one BGP attribute (docs/architecture.md §3 "Frames").
//
// Wire layout, version 2 (sealed), all integers big-endian (network byte order), 46 + 8*n bytes of header:
//   off  size  field
//     0     1  version (kFrameVersion = 2)
//     1     1  destination count n, 1..kMaxDestinations
//     2     2  fragment index, < fragment count
//     4     2  fragment count, >= 1
//     6     4  cluster id
//    10     4  key id
//    14     8  source node id
//    22     8  sender epoch, 1..kMaxEpoch (persisted boot counter)
//    30     8  sequence, 1..kMaxSequence (per epoch, per sender, one per message)
//    38     8  boot id, non-zero: random per sender process start, mixed into the subkey (crypto.h)
//    46   8*n  destination node ids, strictly ascending, non-zero
// followed by AEAD(ciphertext of the fragment bytes) || 16-byte tag, with the whole header as associated
// data. Every header field is therefore authenticated.
//
// Version 3 is version 2's layout, sealed the same way; it says that the message its fragments reassemble to is
// the raw DEFLATE stream (deflate.h) of the serialized Message rather than the Message itself. A sender uses it
// only when that is shorter, so a message that does not shrink (a heartbeat, an acknowledgement) stays v2.
// Older nodes refuse v3 as wrong_version: `compression: off` keeps a node on v2 during a rolling upgrade
// (docs/operator-guide.md).
//
// Version 1 is the same without the boot id (38 + 8*n bytes of header; destinations at offset 38) and
// sealed with the v1 subkey. v1 frames are still opened, so a cluster can be upgraded one node at a time
// (an upgraded node hears old ones; old nodes refuse v2 as wrong_version, so keep a quorum of either
// version talking: upgrade a minority at a time or all at once). They are never sealed: sealing v1 is what
// repeats nonces after a rolled-back epoch. Opening a v1 frame is as safe as before: its sequence and epoch
// go through the same replay window.
//
// Why hand-written and not protobuf: the header is small and fixed, it must be byte-exact because it is
// the AEAD's associated data (protobuf allows several encodings of one value), and a fixed layout lets a
// receiver reject a frame for another cluster or node before decrypting anything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "raftbgp/transport/crypto.h"

namespace raftbgp::transport {

inline constexpr std::uint8_t kFrameVersion = 2;         // what seal_frame writes for a message as it is
inline constexpr std::uint8_t kFrameVersionDeflate = 3;  // ... and for a compressed message (see above)
inline constexpr std::uint8_t kFrameVersionV1 = 1;       // still opened (see above)
inline constexpr std::size_t kFrameFixedHeaderBytes = 46;
inline constexpr std::size_t kFrameFixedHeaderBytesV1 = 38;
inline constexpr std::size_t kMaxDestinations = 32;
// RFC 8654 caps a BGP message at 65535 bytes; after the BGP header, the mandatory attributes and one
// NLRI, 65000 is a safe ceiling for one attribute. No frame may exceed it.
inline constexpr std::size_t kMaxFrameBytes = 65000;

// Why a frame (or a line carrying one) was not delivered. Values index Counters::rejected.
enum class RejectReason : std::uint8_t {
  kMalformed,     // structurally invalid header, or the plaintext is not a valid Message from src
  kWrongVersion,  // version byte other than kFrameVersion or kFrameVersionV1
  kWrongCluster,  // another cluster id
  kNotForMe,      // my id is not in the destination set
  kOwnEcho,       // src == my id (FRR reflects a speaker's routes back to it, docs/exabgp.md §1.10)
  kUnknownKey,    // key id not in the key ring
  kBadTag,        // AEAD tag does not verify (wrong key, tampered bytes)
  kReplay,        // (src, epoch, sequence) already delivered, older than the window, or an older epoch
  kTooLarge,      // frame over kMaxFrameBytes, or the message over the configured maximum
  kCount
};
inline constexpr std::size_t kRejectReasonCount = static_cast<std::size_t>(RejectReason::kCount);
std::string_view to_string(RejectReason r);

// A value or the reason there is none. Never throws.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}    // NOLINT(google-explicit-constructor): ergonomic returns
  Result(RejectReason reason) : v_(reason) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  const T& value() const& { return std::get<0>(v_); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  RejectReason reason() const { return std::get<1>(v_); }

 private:
  std::variant<T, RejectReason> v_;
};

struct FrameHeader {
  std::uint8_t version = kFrameVersion;
  std::uint32_t cluster_id = 0;
  std::uint32_t key_id = 0;
  std::uint64_t src = 0;
  std::uint64_t epoch = 0;
  std::uint64_t sequence = 0;
  std::uint16_t fragment_index = 0;
  std::uint16_t fragment_count = 1;
  std::uint64_t boot_id = 0;                // v2, v3: non-zero; v1: 0 (absent)
  std::vector<std::uint64_t> destinations;  // strictly ascending, non-zero

  bool addressed_to(std::uint64_t node) const;
  std::size_t encoded_size() const {
    return (version == kFrameVersionV1 ? kFrameFixedHeaderBytesV1 : kFrameFixedHeaderBytes) + 8 * destinations.size();
  }
  // The subkey this frame is sealed with (boot id 0 selects the v1 derivation).
  SubkeyId subkey_id() const { return {cluster_id, key_id, src, boot_id}; }
  // Appends the wire form to `out`. Precondition: the header is valid (see the layout above).
  void encode(Bytes& out) const;
};

// Bytes of header + tag for a frame with n destinations: what a fragment's budget must leave room for.
constexpr std::size_t frame_overhead(std::size_t n_destinations) {
  return kFrameFixedHeaderBytes + 8 * n_destinations + kTagBytes;
}

// A structurally valid frame, not yet authenticated. Views point into the parsed buffer, which must
// outlive the Frame.
struct Frame {
  FrameHeader header;
  ByteView aad;     // the header bytes exactly as received
  ByteView sealed;  // ciphertext || tag

  // Structural checks only: kMalformed, kWrongVersion, kTooLarge.
  static Result<Frame> parse(ByteView bytes);
};

// Seals one fragment. `sender_key` is the sender's subkey (KeyRing::sender_key(header.subkey_id())).
// Preconditions: the header is a valid v2 header (never v1, see above) and the sealed frame fits
// kMaxFrameBytes.
Bytes seal_frame(const FrameHeader& header, ByteView fragment, const KeyEntry& sender_key);

struct OpenedFrame {
  FrameHeader header;
  Bytes plaintext;  // the fragment bytes
};

// Parses and authenticates a frame for node `my_id` of `cluster_id`. The checks run cheapest first, and
// all before any key work: parse (kMalformed/kWrongVersion/kTooLarge), kWrongCluster, kOwnEcho, kNotForMe,
// kMalformed when `expected_src` is given and differs from the header's source (the mailbox prefix names
// the sender), kUnknownKey; then the subkey (cached, or derived without caching) and kBadTag. A subkey
// enters the key ring's cache only after its tag verified, so forged ids cannot churn it.
// Replay is the caller's job (ReplayGuard), after authentication, so a forged frame cannot move a window.
Result<OpenedFrame> open_frame(ByteView bytes, std::uint32_t cluster_id, std::uint64_t my_id, KeyRing& keys,
                               std::optional<std::uint64_t> expected_src = std::nullopt);

}  // namespace raftbgp::transport
