// Small durable files in the data dir, written atomically: write `<path>.tmp`, fsync it, rename over
// `path`, fsync the directory. A crash leaves either the old or the new content, never half of one; a
// leftover .tmp is overwritten by the next write.
//
// Boot counter (`<data_dir>/epoch`): decimal text. bump_epoch() reads it (missing = 0), adds one and
// writes it back atomically before returning, so every process start uses a sender epoch never used
// before, and AEAD nonces (crypto.h) never repeat across restarts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace raftbgp::agent {

// An IO failure with errno text and the path ("rename /var/lib/raftbgp/epoch.tmp: No space left").
struct FileError {
  std::string message;
};

// Creates `dir` (mode 0700) if missing; parents must exist.
std::optional<FileError> ensure_dir(const std::string& dir);
std::optional<FileError> atomic_write_file(const std::string& path, const std::string& content);
// nullopt content: the file does not exist.
std::variant<std::optional<std::string>, FileError> read_file(const std::string& path);
// Reads, increments and durably rewrites the boot counter; returns the new epoch (1..2^32-1).
std::variant<std::uint64_t, FileError> bump_epoch(const std::string& data_dir);

}  // namespace raftbgp::agent
