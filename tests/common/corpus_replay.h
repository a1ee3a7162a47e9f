// Replaying a checked-in fuzz corpus (seeds and every crasher found) through a fuzzer's entry point, so
// that a regression shows up in every build's unit tests, not only in the clang fuzz preset. Shared by the
// corpus tests of raft-core, bgp-transport and the agent.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace raftbgp::test {

// Feeds every regular file in `dir` to `entry`; returns how many (a test expects more than zero).
inline std::size_t replay_corpus(const std::filesystem::path& dir, void (*entry)(const std::uint8_t*, std::size_t)) {
  std::size_t n = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    if (!f.is_regular_file()) continue;
    SCOPED_TRACE(f.path().string());
    std::string bytes(static_cast<std::size_t>(f.file_size()), '\0');
    std::ifstream(f.path(), std::ios::binary).read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    entry(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    ++n;
  }
  return n;
}

}  // namespace raftbgp::test
