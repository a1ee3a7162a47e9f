// Hex text <-> bytes, as ExaBGP writes and reads attribute payloads ("0x" + lowercase hex on output; either
// case accepted on input).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "raftbgp/transport/crypto.h"

namespace raftbgp::transport {

// Lowercase hex, no prefix. Appends to `out` (so a command line is built in one buffer).
void append_hex(std::string& out, ByteView bytes);
std::string to_hex(ByteView bytes);

// Decodes an even-length string of hex digits (no "0x"). nullopt on odd length or a non-hex digit.
std::optional<Bytes> from_hex(std::string_view hex);

}  // namespace raftbgp::transport
