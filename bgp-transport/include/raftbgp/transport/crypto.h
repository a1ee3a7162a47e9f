// AEAD sealing for transport frames (docs/architecture.md §3 "Frames") and the key ring they use.
//
// Keys are 32 bytes, shared by the whole cluster and named by a 32-bit key id, so a key can be rotated by
// adding the new id on every node, switching the active id, then removing the old one.
//
// Nonce uniqueness. AEAD with ChaCha20-Poly1305 or AES-256-GCM is broken by one repeated (key, nonce)
// (for AES-GCM one repeat reveals the authentication key). The cluster key is shared, so frames are never
// sealed with it directly: each sender process uses a subkey
//   v2: HKDF-SHA256(ikm = cluster key, salt = "raftbgp/v2", info = cluster id || key id || sender id || boot id)
//   v1: HKDF-SHA256(ikm = cluster key, salt = "raftbgp/v1", info = cluster id || key id || sender id)
// and the 12-byte nonce is (epoch u32 || sequence u48 || fragment index u16), big-endian. The boot id is
// 64 random bits drawn (RAND_bytes) at every process start and carried in the v2 frame header, so every
// process seals with a subkey of its own: even if the persisted epoch is rolled back (a restored backup or
// VM snapshot, a lost epoch file), a (key, nonce) pair repeats only if two starts draw the same boot id
// (probability about n^2 / 2^65 after n starts). Within one process the (epoch, sequence, fragment) triple
// never repeats: the sequence counts up from 1 and senders refuse epochs >= 2^32 and sequences >= 2^48.
// The epoch still matters for replay protection (replay.h), so the caller persists and bumps it anyway.
// v1 (no boot id) is only ever opened, never sealed (frame.h).
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
Bytes aead_seal(AeadAlgorithm algorithm, const Key& key, const Nonce& nonce, ByteView aad, ByteView plaintext);

// Opens ciphertext || tag. Returns nullopt when the tag does not verify (or the input is shorter than a
// tag). Never throws.
std::optional<Bytes> aead_open(AeadAlgorithm algorithm, const Key& key, const Nonce& nonce, ByteView aad,
                               ByteView sealed);

// Names one sender's subkey. boot_id 0 selects the v1 derivation (frames without a boot id); v2 frames
// always carry a non-zero boot id.
struct SubkeyId {
  std::uint32_t cluster_id = 0;
  std::uint32_t key_id = 0;
  std::uint64_t sender_id = 0;
  std::uint64_t boot_id = 0;
  auto operator<=>(const SubkeyId&) const = default;
};

// HKDF-SHA256 subkey for one sender process (see the file comment).
Key derive_sender_key(const Key& cluster_key, const SubkeyId& id);

// 64 random bits from OpenSSL's CSPRNG, never 0: the boot id of this process. Aborts if the CSPRNG fails
// (sealing without a fresh boot id could repeat nonces).
std::uint64_t random_boot_id();

struct KeyEntry {
  Key key{};
  AeadAlgorithm algorithm = AeadAlgorithm::kChaCha20Poly1305;
};

// Key id -> key. Also caches per-sender subkeys. Only subkeys the caller vouches for enter the cache: our
// own sealing key, and a peer's once a frame sealed with it verified (open_frame). Frames with forged
// sender or boot ids therefore cost one HKDF each but can never evict a good entry. The cache is still
// bounded (cleared when it would exceed kMaxCachedSubkeys): only a key holder can fill it.
class KeyRing {
 public:
  static constexpr std::size_t kMaxCachedSubkeys = 4096;

  void add(std::uint32_t key_id, const Key& key, AeadAlgorithm algorithm = AeadAlgorithm::kChaCha20Poly1305);
  bool contains(std::uint32_t key_id) const { return keys_.contains(key_id); }
  const KeyEntry* find(std::uint32_t key_id) const;
  std::size_t size() const { return keys_.size(); }

  // The subkey for `id`, from the cache or derived; nullopt when the key id is unknown. `cache`: keep a
  // derived subkey (pass false for an unauthenticated id, then remember() it once a tag verified).
  std::optional<KeyEntry> sender_key(const SubkeyId& id, bool cache = true);
  // Caches `subkey` for `id` (no-op when present). Precondition: it is derive_sender_key(key of id, id).
  void remember(const SubkeyId& id, const Key& subkey);

  std::size_t cached_subkeys() const { return subkeys_.size(); }
  // HKDF derivations run so far (tests and counters: a cache miss costs one).
  std::uint64_t derivations() const { return derivations_; }

 private:
  std::map<std::uint32_t, KeyEntry> keys_;
  std::map<SubkeyId, Key> subkeys_;
  std::uint64_t derivations_ = 0;
};

// Key file format (one key per line; '#' starts a comment; blank lines ignored):
//   <key-id decimal u32> <64 hex chars> [chacha20-poly1305|aes-256-gcm]
// The file must be a regular file (a symlink, FIFO or device is refused: opened with O_NOFOLLOW and
// checked with fstat), owned by the running user or root, and not readable or writable by group or other
// (mode 0600 or 0400); each violation is an error naming the path. Errors carry the path and the line
// number, or errno's text. The key text read from the file is wiped (OPENSSL_cleanse) once parsed.
struct KeyFileError {
  std::string message;
};
std::variant<KeyRing, KeyFileError> load_key_file(const std::string& path);

// Parses key-file text (no mode check; exposed for tests and for load_key_file).
std::variant<KeyRing, KeyFileError> parse_key_file(std::string_view text, const std::string& origin);

}  // namespace raftbgp::transport
