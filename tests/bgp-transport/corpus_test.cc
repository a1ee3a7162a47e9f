// Replays the checked-in fuzz corpus (seeds and every crasher found) through the fuzzers' entry points,
// so a regression shows up in every build, not only in the clang fuzz preset.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "fuzz_entry.h"

namespace raftbgp::transport {
namespace {

std::size_t replay(const std::string& dir, void (*entry)(const std::uint8_t*, std::size_t)) {
  std::size_t n = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    if (!f.is_regular_file()) continue;
    std::string bytes(static_cast<std::size_t>(f.file_size()), '\0');
    std::ifstream(f.path(), std::ios::binary).read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    entry(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    ++n;
  }
  return n;
}

TEST(Corpus, Frame_corpus_replays_without_crashing) {
  EXPECT_GT(replay(std::string(RAFTBGP_CORPUS_DIR) + "/frame", fuzz::fuzz_frame), 0u);
}

TEST(Corpus, Exabgp_corpus_replays_without_crashing) {
  EXPECT_GT(replay(std::string(RAFTBGP_CORPUS_DIR) + "/exabgp", fuzz::fuzz_exabgp_line), 0u);
}

}  // namespace
}  // namespace raftbgp::transport
