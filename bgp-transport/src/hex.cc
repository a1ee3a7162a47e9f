#include "raftbgp/transport/hex.h"

#include <array>
#include <bit>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace raftbgp::transport {
namespace {

constexpr char kDigits[] = "0123456789abcdef";

// Digit values, 0xff = not a hex digit. A table: decoding a 2.9 KB payload is on every received frame.
constexpr std::array<std::uint8_t, 256> kValues = [] {
  std::array<std::uint8_t, 256> t{};
  t.fill(0xff);
  for (int c = 0; c < 10; ++c) t[static_cast<std::size_t>('0' + c)] = static_cast<std::uint8_t>(c);
  for (int c = 0; c < 6; ++c) {
    t[static_cast<std::size_t>('a' + c)] = static_cast<std::uint8_t>(10 + c);
    t[static_cast<std::size_t>('A' + c)] = static_cast<std::uint8_t>(10 + c);
  }
  return t;
}();

// Eight digits (four bytes) as one 64-bit word, little-endian (first digit in the low lane): validated and
// converted with a handful of word operations instead of a table look-up per digit. Writes the 4 bytes and
// returns a word whose lane top bits mark the lanes that are not hex digits (0 = all valid).
std::uint64_t decode_word(const char* in, std::uint8_t* out) {
  constexpr std::uint64_t k01 = 0x0101010101010101;
  constexpr std::uint64_t k80 = k01 * 0x80;
  std::uint64_t x;
  std::memcpy(&x, in, sizeof x);
  // For a lane below 0x80, adding (0x80 - lo) sets its top bit iff lane >= lo, and adding (0x7f - hi) iff
  // lane > hi, with no carry out of the lane. A lane at or over 0x80 (which may carry) is rejected anyway.
  const std::uint64_t digit = (x + k01 * (0x80 - '0')) & ~(x + k01 * (0x7f - '9'));
  const std::uint64_t folded = x | k01 * 0x20;  // 'A'-'F' -> 'a'-'f'; digits already have 0x20
  const std::uint64_t letter = (folded + k01 * (0x80 - 'a')) & ~(folded + k01 * (0x7f - 'f')) & k80;
  const std::uint64_t invalid = (x | ~(digit | letter)) & k80;
  // '0'-'9' -> 0-9 and 'a'-'f' / 'A'-'F' -> 1-6, plus 9 for letters.
  const std::uint64_t nibbles = (x & k01 * 0x0f) + (letter >> 7) * 9;
  // Lane 2k becomes byte k (high nibble from lane 2k, low from lane 2k+1), then the even lanes are packed.
  std::uint64_t t = ((nibbles << 4) | (nibbles >> 8)) & 0x00ff00ff00ff00ff;
  t = (t | (t >> 8)) & 0x0000ffff0000ffff;
  t = (t | (t >> 16)) & 0x00000000ffffffff;
  const auto bytes = static_cast<std::uint32_t>(t);
  std::memcpy(out, &bytes, sizeof bytes);
  return invalid;
}

#if defined(__SSE2__)
// Sixteen digits (eight bytes) at a time with SSE2 (baseline on x86-64): the same rules as decode_word,
// with signed byte compares (a byte >= 0x80 is negative, so never in range). Decodes n / 8 groups of eight
// bytes and returns how many bytes it wrote; `invalid` gets a non-zero bit for any non-digit.
std::size_t decode_sse2(const char* in, std::uint8_t* out, std::size_t n, bool& invalid) {
  const __m128i below_0 = _mm_set1_epi8('0' - 1), above_9 = _mm_set1_epi8('9' + 1);
  const __m128i below_a = _mm_set1_epi8('a' - 1), above_f = _mm_set1_epi8('f' + 1);
  const __m128i fold = _mm_set1_epi8(0x20), low4 = _mm_set1_epi8(0x0f), nine = _mm_set1_epi8(9);
  const __m128i even = _mm_set1_epi16(0x00ff);
  __m128i valid_all = _mm_set1_epi8(-1);
  std::size_t done = 0;
  for (; n - done >= 8; done += 8, in += 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in));
    const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, below_0), _mm_cmplt_epi8(x, above_9));
    const __m128i folded = _mm_or_si128(x, fold);
    const __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(folded, below_a), _mm_cmplt_epi8(folded, above_f));
    valid_all = _mm_and_si128(valid_all, _mm_or_si128(digit, letter));
    const __m128i nibbles = _mm_add_epi8(_mm_and_si128(x, low4), _mm_and_si128(letter, nine));
    // Per 16-bit lane: (first digit << 4) | second digit, then the lanes packed to bytes.
    const __m128i pairs = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(nibbles, even), 4), _mm_srli_epi16(nibbles, 8));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + done), _mm_packus_epi16(pairs, pairs));
  }
  invalid = _mm_movemask_epi8(valid_all) != 0xffff;
  return done;
}
#endif

}  // namespace

void append_hex(std::string& out, ByteView bytes) {
  const std::size_t start = out.size();
  out.resize(start + 2 * bytes.size());
  char* p = out.data() + start;
  for (std::uint8_t b : bytes) {
    *p++ = kDigits[b >> 4];
    *p++ = kDigits[b & 0x0f];
  }
}

std::string to_hex(ByteView bytes) {
  std::string out;
  append_hex(out, bytes);
  return out;
}

bool decode_hex(std::string_view hex, std::span<std::uint8_t> out) {
  if (hex.size() % 2 != 0 || out.size() != hex.size() / 2) return false;
  const char* in = hex.data();
  std::uint8_t* dst = out.data();
  std::size_t n = out.size();
  std::uint64_t invalid = 0;
#if defined(__SSE2__)
  bool sse_invalid = false;
  const std::size_t sse_done = decode_sse2(in, dst, n, sse_invalid);
  invalid |= static_cast<std::uint64_t>(sse_invalid);
  n -= sse_done;
  in += 2 * sse_done;
  dst += sse_done;
#endif
  if constexpr (std::endian::native == std::endian::little) {
    for (; n >= 4; n -= 4, in += 8, dst += 4) invalid |= decode_word(in, dst);
  }
  // The rest (and everything on a big-endian host) by table. Valid digits are <= 0x0f and the table marks
  // the rest 0xff, so OR-ing the values and testing the high nibble once validates without a branch.
  std::uint8_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t hi = kValues[static_cast<unsigned char>(in[2 * i])];
    const std::uint8_t lo = kValues[static_cast<unsigned char>(in[2 * i + 1])];
    bad |= static_cast<std::uint8_t>(hi | lo);
    dst[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return invalid == 0 && (bad & 0xf0) == 0;
}

std::optional<Bytes> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  Bytes out(hex.size() / 2);
  if (!decode_hex(hex, out)) return std::nullopt;
  return out;
}

}  // namespace raftbgp::transport
