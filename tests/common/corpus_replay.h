// Replaying a checked-in fuzz corpus (seeds and every crasher found) through a fuzzer's entry point, so
// that a regression shows up in every build's unit tests, not only in the clang fuzz preset. Shared by the
// corpus tests of raft-core, bgp-transport and the agent.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace raftbgp::test {

// Feeds every regular file in `dir` to `entry`, in sorted path order; returns how many (a test expects
// more than zero). The order is specified because fuzz entry points may keep static state between inputs:
// a crash that depends on an earlier input then reproduces the same way in every run and on every file
// system (directory_iterator's order is unspecified).
inline std::size_t replay_corpus(const std::filesystem::path& dir, void (*entry)(const std::uint8_t*, std::size_t)) {
  std::vector<std::filesystem::path> files;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    if (f.is_regular_file()) files.push_back(f.path());
  }
  std::sort(files.begin(), files.end());
  for (const std::filesystem::path& path : files) {
    SCOPED_TRACE(path.string());
    std::string bytes(static_cast<std::size_t>(std::filesystem::file_size(path)), '\0');
    std::ifstream(path, std::ios::binary).read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    entry(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  return files.size();
}

}  // namespace raftbgp::test
