// Whole-message compression for frame version 3 (frame.h): raw DEFLATE (RFC 1951, zlib) of the serialized
// Message, applied before fragmentation and sealing, undone after reassembly and opening
// (docs/architecture.md §3 "Compression").
//
// Compress, then encrypt: a transit that sees frame lengths learns how well a message compressed. The usual attack
// on that (CRIME) needs the attacker to put chosen bytes into the same message as a secret; here only a client of a
// node's control socket can put bytes into the log, and such a client can read the whole replicated state anyway.
// `compression: off` turns it off (docs/operator-guide.md).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>

#include "raftbgp/transport/crypto.h"
#include "raftbgp/transport/frame.h"

namespace raftbgp::transport {

// Messages shorter than this are sent as they are: a heartbeat or an acknowledgement does not shrink.
inline constexpr std::size_t kMinDeflateBytes = 128;

// One sender's compressor. It keeps its zlib state (about 256 KiB) between messages, so a message costs no
// allocation of it; not copyable or movable (zlib's state points back at its stream), hence held by pointer.
class Deflater {
 public:
  Deflater();
  ~Deflater();
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // The raw DEFLATE stream of `in` if it is shorter than `in`; nullopt if it is not (or `in` is shorter than
  // kMinDeflateBytes), and the caller sends `in` as it is.
  std::optional<Bytes> compress(ByteView in);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Inflates `in`, which must be exactly one complete raw DEFLATE stream. kTooLarge: the output would exceed
// `max_out` bytes (inflation stops there, so a small frame cannot make the receiver allocate more); kMalformed:
// anything else (a corrupt or truncated stream, or bytes after its end).
Result<Bytes> inflate_bounded(ByteView in, std::size_t max_out);

}  // namespace raftbgp::transport
