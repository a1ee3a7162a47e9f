// AEAD sealing for transport frames (shared/DESIGN.md §3 "Frames") and the key ring they use.
//
// Keys are 32 bytes, shared by the whole cluster and named by a 32-bit key id, so a key can be rotated by
// adding the new id on every node, switching the active id, then removing the old one.
//
// Nonce uniqueness. AEAD with ChaCha20-Poly1305 or AES-256-GCM is broken by one repeated (key, nonce). The
// cluster key is shared, so frames are never sealed with it directly: each sender uses a subkey
//   HKDF-SHA256(ikm = cluster key, salt = "raftbgp/v1", info = cluster id || key id || sender id)
// and the 12-byte nonce is (epoch u32 || sequence u48 || fragment index u16), big-endian. For one subkey
// that triple never repeats as long as the sender persists its epoch and bumps it on every boot, and its
// sequence starts from 1 after each bump. Senders refuse epochs >= 2^32 and sequences >= 2^48.
//
// No IO except load_key_file(), which reads one small file.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

namespace raftbgp::transport {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline constexpr std::size_t kKeyBytes = 32;
inline constexpr std::size_t kNonceBytes = 12;
inline constexpr std::size_t kTagBytes = 16;
inline constexpr std::uint64_t kMaxEpoch = (std::uint64_t{1} << 32) - 1;
inline constexpr std::uint64_t kMaxSequence = (std::uint64_t{1} << 48) - 1;

enum class AeadAlgorithm : std::uint8_t { kChaCha20Poly1305 = 0, kAes256Gcm = 1 };

using Key = std::array<std::uint8_t, kKeyBytes>;
using Nonce = std::array<std::uint8_t, kNonceBytes>;

// The nonce for (epoch, sequence, fragment). Precondition: epoch <= kMaxEpoch, sequence <= kMaxSequence.
Nonce derive_nonce(std::uint64_t epoch, std::uint64_t sequence, std::uint16_t fragment_index);

// Seals `plaintext` with `aad` as associated data. Returns ciphertext || 16-byte tag.
// Aborts (PANIC-style) only if OpenSSL itself fails, which is a broken invariant, not an input error.
Bytes aead_seal(AeadAlgorithm algorithm, const Key& key, const Nonce& nonce, ByteView aad,
                ByteView plaintext);

// Opens ciphertext || tag. Returns nullopt when the tag does not verify (or the input is shorter than a
// tag). Never throws.
std::optional<Bytes> aead_open(AeadAlgorithm algorithm, const Key& key, const Nonce& nonce, ByteView aad,
                               ByteView sealed);

// HKDF-SHA256 subkey for one sender (see the file comment).
Key derive_sender_key(const Key& cluster_key, std::uint32_t cluster_id, std::uint32_t key_id,
                      std::uint64_t sender_id);

struct KeyEntry {
  Key key{};
  AeadAlgorithm algorithm = AeadAlgorithm::kChaCha20Poly1305;
};

// Key id -> key. Also caches the per-sender subkeys (bounded: cleared when it would exceed
// kMaxCachedSubkeys, so frames with arbitrary sender ids cannot grow it without bound).
class KeyRing {
 public:
  static constexpr std::size_t kMaxCachedSubkeys = 4096;

  void add(std::uint32_t key_id, const Key& key,
           AeadAlgorithm algorithm = AeadAlgorithm::kChaCha20Poly1305);
  bool contains(std::uint32_t key_id) const { return keys_.contains(key_id); }
  const KeyEntry* find(std::uint32_t key_id) const;
  std::size_t size() const { return keys_.size(); }

  // The subkey for (cluster, key id, sender); nullopt when the key id is unknown.
  std::optional<KeyEntry> sender_key(std::uint32_t cluster_id, std::uint32_t key_id,
                                     std::uint64_t sender_id);

 private:
  std::map<std::uint32_t, KeyEntry> keys_;
  std::map<std::tuple<std::uint32_t, std::uint32_t, std::uint64_t>, Key> subkeys_;
};

// Key file format (one key per line; '#' starts a comment; blank lines ignored):
//   <key-id decimal u32> <64 hex chars> [chacha20-poly1305|aes-256-gcm]
// The file must not be readable or writable by group or other (mode 0600 or 0400): a looser mode is an
// error naming the path and its mode. Errors carry the path and the line number, or errno's text.
struct KeyFileError {
  std::string message;
};
std::variant<KeyRing, KeyFileError> load_key_file(const std::string& path);

// Parses key-file text (no mode check; exposed for tests and for load_key_file).
std::variant<KeyRing, KeyFileError> parse_key_file(std::string_view text, const std::string& origin);

}  // namespace raftbgp::transport
