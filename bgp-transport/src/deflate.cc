#include "raftbgp/transport/deflate.h"

#include <zlib.h>

#include <algorithm>

#include "raftbgp/raft/types.h"

namespace raftbgp::transport {
namespace {

constexpr int kRawWindowBits = -15;  // negative: raw DEFLATE, no zlib header or checksum (the AEAD tag checks)
constexpr int kLevel = 6;            // zlib's default: level 1 saves ~8% fewer bytes on log entries here
constexpr int kMemLevel = 8;

// zlib counts in uInt; every buffer here is far below that (kMaxFrameBytes x fragments, max_message_bytes).
uInt as_uint(std::size_t n) {
  RAFT_ASSERT(n <= UINT32_MAX);
  return static_cast<uInt>(n);
}

}  // namespace

struct Deflater::State {
  z_stream z{};
};

Deflater::Deflater() : state_(std::make_unique<State>()) {
  if (deflateInit2(&state_->z, kLevel, Z_DEFLATED, kRawWindowBits, kMemLevel, Z_DEFAULT_STRATEGY) != Z_OK)
    RAFT_PANIC("zlib deflateInit2 failed (out of memory)");
}

Deflater::~Deflater() { deflateEnd(&state_->z); }

std::optional<Bytes> Deflater::compress(ByteView in) {
  if (in.size() < kMinDeflateBytes) return std::nullopt;
  z_stream& z = state_->z;
  if (deflateReset(&z) != Z_OK) RAFT_PANIC("zlib deflateReset failed");
  // Anything not shorter than the input is useless; one byte less than the input is the most we accept.
  Bytes out(in.size() - 1);
  z.next_in = const_cast<Bytef*>(in.data());  // zlib's API is not const-correct; it does not write the input
  z.avail_in = as_uint(in.size());
  z.next_out = out.data();
  z.avail_out = as_uint(out.size());
  const int rc = deflate(&z, Z_FINISH);
  if (rc != Z_STREAM_END) return std::nullopt;  // Z_OK or Z_BUF_ERROR: it did not fit, so it does not shrink
  out.resize(out.size() - z.avail_out);
  return out;
}

Result<Bytes> inflate_bounded(ByteView in, std::size_t max_out) {
  z_stream z{};
  if (inflateInit2(&z, kRawWindowBits) != Z_OK) RAFT_PANIC("zlib inflateInit2 failed (out of memory)");
  Bytes out(std::min<std::size_t>(std::max<std::size_t>(in.size() * 4, 1024), max_out));
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = as_uint(in.size());
  int rc = Z_OK;
  std::size_t produced = 0;
  for (;;) {
    z.next_out = out.data() + produced;
    z.avail_out = as_uint(out.size() - produced);
    rc = inflate(&z, Z_NO_FLUSH);
    produced = out.size() - z.avail_out;
    if (rc != Z_OK) break;
    if (z.avail_out != 0) continue;  // it stopped for want of input: the loop sees Z_BUF_ERROR next
    if (out.size() == max_out) {
      // Full at the cap: the stream must end exactly here, which one more call with no room tells.
      rc = inflate(&z, Z_NO_FLUSH);
      if (rc == Z_BUF_ERROR || rc == Z_OK) rc = Z_MEM_ERROR;  // it has more to write
      break;
    }
    out.resize(std::min(out.size() * 2, max_out));
  }
  const bool trailing = z.avail_in != 0;
  inflateEnd(&z);
  if (rc == Z_MEM_ERROR) return RejectReason::kTooLarge;
  if (rc != Z_STREAM_END || trailing) return RejectReason::kMalformed;
  out.resize(produced);
  return out;
}

}  // namespace raftbgp::transport
