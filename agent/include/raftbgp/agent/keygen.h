// `raftbgpctl keygen`: writes a cluster key file in the transport's format (transport/crypto.h
// "Key file format"): one line "<key id> <64 hex> <algorithm>" after a comment line. The 32 key bytes come
// from OpenSSL's RAND_bytes (the CSPRNG the AEAD itself trusts).
//
// The file is created with mode 0600 and O_CREAT|O_EXCL|O_NOFOLLOW: an existing file is never
// overwritten unless `force`, and then the new file is written beside it and renamed over it (atomic:
// a crash leaves the old key or the new one), with the file and its directory fsync'd.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "raftbgp/transport/crypto.h"

namespace raftbgp::agent {

struct KeygenOptions {
  std::string path;          // the key file to create
  std::uint32_t key_id = 1;  // the id frames carry; rotation adds a new id (README "Agent")
  bool force = false;        // replace an existing file
  transport::AeadAlgorithm algorithm = transport::AeadAlgorithm::kChaCha20Poly1305;
};

// The key file's text for one key.
std::string key_file_text(std::uint32_t key_id, const transport::Key& key, transport::AeadAlgorithm algorithm);

// Generates a key and writes the file. Returns nullopt on success, else one line naming the path and
// errno's text (or "exists: use --force").
std::optional<std::string> generate_key_file(const KeygenOptions& options);

}  // namespace raftbgp::agent
