#include "raftbgp/transport/crypto.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <memory>

#include "raftbgp/raft/types.h"

namespace raftbgp::transport {
namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

const EVP_CIPHER* cipher_for(AeadAlgorithm a) {
  return a == AeadAlgorithm::kAes256Gcm ? EVP_aes_256_gcm() : EVP_chacha20_poly1305();
}

// OpenSSL takes int lengths; our frames are < 64 KiB, and key files tiny, so the casts cannot truncate.
int as_int(std::size_t n) {
  RAFT_ASSERT(n <= 0x7fffffff);
  return static_cast<int>(n);
}

void put_be(std::uint8_t* out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out[i] = static_cast<std::uint8_t>(v & 0xff);
    v >>= 8;
  }
}

// One cipher context per thread would be cheaper, but the library owns no threads or globals; a fresh
// context per call costs well under a microsecond (see bench/transport_bench.cc).
CipherCtx init_ctx(AeadAlgorithm a, const Key& key, const Nonce& nonce, bool encrypt) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) RAFT_PANIC("EVP_CIPHER_CTX_new failed");
  // Both AEADs default to a 12-byte IV, which is what we pass.
  if (EVP_CipherInit_ex(ctx.get(), cipher_for(a), nullptr, key.data(), nonce.data(), encrypt ? 1 : 0) != 1)
    RAFT_PANIC("EVP_CipherInit_ex failed");
  return ctx;
}

}  // namespace

Nonce derive_nonce(std::uint64_t epoch, std::uint64_t sequence, std::uint16_t fragment_index) {
  RAFT_ASSERT(epoch <= kMaxEpoch && sequence <= kMaxSequence);
  Nonce n{};
  put_be(n.data(), epoch, 4);
  put_be(n.data() + 4, sequence, 6);
  put_be(n.data() + 10, fragment_index, 2);
  return n;
}

Bytes aead_seal(AeadAlgorithm algorithm, const Key& key, const Nonce& nonce, ByteView aad, ByteView plaintext) {
  CipherCtx ctx = init_ctx(algorithm, key, nonce, true);
  Bytes out(plaintext.size() + kTagBytes);
  int len = 0;
  if (EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), as_int(aad.size())) != 1)
    RAFT_PANIC("EVP_EncryptUpdate(aad) failed");
  if (EVP_EncryptUpdate(ctx.get(), out.data(), &len, plaintext.data(), as_int(plaintext.size())) != 1)
    RAFT_PANIC("EVP_EncryptUpdate failed");
  int fin = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + len, &fin) != 1) RAFT_PANIC("EVP_EncryptFinal_ex failed");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagBytes),
                          out.data() + plaintext.size()) != 1)
    RAFT_PANIC("EVP_CTRL_AEAD_GET_TAG failed");
  return out;
}

std::optional<Bytes> aead_open(AeadAlgorithm algorithm, const Key& key, const Nonce& nonce, ByteView aad,
                               ByteView sealed) {
  if (sealed.size() < kTagBytes) return std::nullopt;
  const std::size_t n = sealed.size() - kTagBytes;
  CipherCtx ctx = init_ctx(algorithm, key, nonce, false);
  Bytes out(n);
  int len = 0;
  if (EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), as_int(aad.size())) != 1) return std::nullopt;
  if (EVP_DecryptUpdate(ctx.get(), out.data(), &len, sealed.data(), as_int(n)) != 1) return std::nullopt;
  // The tag ctrl takes a non-const pointer but only reads it.
  Bytes tag(sealed.begin() + static_cast<std::ptrdiff_t>(n), sealed.end());
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagBytes), tag.data()) != 1)
    return std::nullopt;
  int fin = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), out.data() + len, &fin) != 1) return std::nullopt;
  return out;
}

Key derive_sender_key(const Key& cluster_key, const SubkeyId& id) {
  std::uint8_t info[24];
  put_be(info, id.cluster_id, 4);
  put_be(info + 4, id.key_id, 4);
  put_be(info + 8, id.sender_id, 8);
  put_be(info + 16, id.boot_id, 8);
  // v1 (boot id 0) keeps its original salt and 16-byte info, so v1 frames still open.
  const bool v1 = id.boot_id == 0;
  const std::size_t info_bytes = v1 ? 16 : 24;
  static constexpr char kSaltV1[] = "raftbgp/v1";
  static constexpr char kSaltV2[] = "raftbgp/v2";
  static_assert(sizeof kSaltV1 == sizeof kSaltV2);
  const char* salt = v1 ? kSaltV1 : kSaltV2;
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) RAFT_PANIC("EVP_KDF_fetch(HKDF) failed");
  EVP_KDF_CTX* kctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (kctx == nullptr) RAFT_PANIC("EVP_KDF_CTX_new failed");
  char digest[] = "SHA256";
  // OSSL_PARAM wants non-const pointers for inputs it only reads.
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(cluster_key.data()),
                                        cluster_key.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt), sizeof kSaltV1 - 1),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, info_bytes), OSSL_PARAM_construct_end()};
  Key out{};
  const int rc = EVP_KDF_derive(kctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(kctx);
  if (rc != 1) RAFT_PANIC("EVP_KDF_derive(HKDF) failed");
  return out;
}

std::uint64_t random_boot_id() {
  for (;;) {
    std::uint8_t b[8];
    if (RAND_bytes(b, sizeof b) != 1) RAFT_PANIC("RAND_bytes failed: no boot id, refusing to seal");
    std::uint64_t v = 0;
    for (std::uint8_t x : b) v = (v << 8) | x;
    if (v != 0) return v;
  }
}

void KeyRing::add(std::uint32_t key_id, const Key& key, AeadAlgorithm algorithm) {
  keys_[key_id] = KeyEntry{key, algorithm};
  std::erase_if(subkeys_, [key_id](const auto& kv) { return kv.first.key_id == key_id; });
}

const KeyEntry* KeyRing::find(std::uint32_t key_id) const {
  auto it = keys_.find(key_id);
  return it == keys_.end() ? nullptr : &it->second;
}

std::optional<KeyEntry> KeyRing::sender_key(const SubkeyId& id, bool cache) {
  const KeyEntry* base = find(id.key_id);
  if (base == nullptr) return std::nullopt;
  if (auto it = subkeys_.find(id); it != subkeys_.end()) return KeyEntry{it->second, base->algorithm};
  ++derivations_;
  const Key subkey = derive_sender_key(base->key, id);
  if (cache) remember(id, subkey);
  return KeyEntry{subkey, base->algorithm};
}

void KeyRing::remember(const SubkeyId& id, const Key& subkey) {
  if (subkeys_.contains(id)) return;
  if (subkeys_.size() >= kMaxCachedSubkeys) subkeys_.clear();
  subkeys_.emplace(id, subkey);
}

}  // namespace raftbgp::transport
