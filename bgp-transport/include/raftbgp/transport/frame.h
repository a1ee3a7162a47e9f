// Transport frames: the bytes carried in one BGP attribute (shared/DESIGN.md §3 "Frames").
//
// Wire layout, all integers big-endian (network byte order), 38 + 8*n bytes of header:
//   off  size  field
//     0     1  version (kFrameVersion)
//     1     1  destination count n, 1..kMaxDestinations
//     2     2  fragment index, < fragment count
//     4     2  fragment count, >= 1
//     6     4  cluster id
//    10     4  key id
//    14     8  source node id
//    22     8  sender epoch, 1..kMaxEpoch (persisted boot counter)
//    30     8  sequence, 1..kMaxSequence (per epoch, per sender, one per message)
//    38   8*n  destination node ids, strictly ascending, non-zero
// followed by AEAD(ciphertext of the fragment bytes) || 16-byte tag, with the whole header as associated
// data. Every header field is therefore authenticated.
//
// Why hand-written and not protobuf: the header is small and fixed, it must be byte-exact because it is
// the AEAD's associated data (protobuf allows several encodings of one value), and a fixed layout lets a
// receiver reject a frame for another cluster or node before decrypting anything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "raftbgp/transport/crypto.h"

namespace raftbgp::transport {

inline constexpr std::uint8_t kFrameVersion = 1;
inline constexpr std::size_t kFrameFixedHeaderBytes = 38;
inline constexpr std::size_t kMaxDestinations = 32;
// RFC 8654 caps a BGP message at 65535 bytes; after the BGP header, the mandatory attributes and one
// NLRI, 65000 is a safe ceiling for one attribute. No frame may exceed it.
inline constexpr std::size_t kMaxFrameBytes = 65000;

// Why a frame (or a line carrying one) was not delivered. Values index Counters::rejected.
enum class RejectReason : std::uint8_t {
  kMalformed,      // structurally invalid header, or the plaintext is not a valid Message from src
  kWrongVersion,   // version byte other than kFrameVersion
  kWrongCluster,   // another cluster id
  kNotForMe,       // my id is not in the destination set
  kOwnEcho,        // src == my id (FRR reflects a speaker's routes back to it, facts §1.10)
  kUnknownKey,     // key id not in the key ring
  kBadTag,         // AEAD tag does not verify (wrong key, tampered bytes)
  kReplay,         // (src, epoch, sequence) already delivered, older than the window, or an older epoch
  kTooLarge,       // frame over kMaxFrameBytes, or the message over the configured maximum
  kCount
};
inline constexpr std::size_t kRejectReasonCount = static_cast<std::size_t>(RejectReason::kCount);
std::string_view to_string(RejectReason r);

// A value or the reason there is none. Never throws.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor): ergonomic returns
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
  std::vector<std::uint64_t> destinations;  // strictly ascending, non-zero

  bool addressed_to(std::uint64_t node) const;
  std::size_t encoded_size() const { return kFrameFixedHeaderBytes + 8 * destinations.size(); }
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

// Seals one fragment. `sender_key` is the sender's subkey (KeyRing::sender_key). Preconditions: the header
// is valid and the sealed frame fits kMaxFrameBytes.
Bytes seal_frame(const FrameHeader& header, ByteView fragment, const KeyEntry& sender_key);

struct OpenedFrame {
  FrameHeader header;
  Bytes plaintext;  // the fragment bytes
};

// Parses and authenticates a frame for node `my_id` of `cluster_id`. The checks run cheapest first:
// parse (kMalformed/kWrongVersion/kTooLarge), kWrongCluster, kOwnEcho, kNotForMe, kUnknownKey, kBadTag.
// Replay is the caller's job (ReplayGuard), after authentication, so a forged frame cannot move a window.
Result<OpenedFrame> open_frame(ByteView bytes, std::uint32_t cluster_id, std::uint64_t my_id, KeyRing& keys);

}  // namespace raftbgp::transport
