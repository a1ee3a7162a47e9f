// Hex text <-> bytes, as ExaBGP writes and reads attribute payloads ("0x" + lowercase hex on output; either
// case accepted on input).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "raftbgp/transport/crypto.h"

namespace raftbgp::transport {

// Lowercase hex, no prefix. Appends to `out` (so a command line is built in one buffer).
void append_hex(std::string& out, ByteView bytes);
std::string to_hex(ByteView bytes);

// Decodes an even-length string of hex digits (no "0x"). nullopt on odd length or a non-hex digit.
std::optional<Bytes> from_hex(std::string_view hex);

// The same without allocating: decodes `hex` into `out`, which must hold exactly hex.size() / 2 bytes.
// Returns false on odd length, a size mismatch, or a non-hex digit (then `out` holds garbage). This is on
// the receive path of every frame (a 2.9 KB attribute is 5.8 KB of hex), so it reads the text in place.
bool decode_hex(std::string_view hex, std::span<std::uint8_t> out);

}  // namespace raftbgp::transport
