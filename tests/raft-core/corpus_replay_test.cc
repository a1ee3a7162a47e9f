// tests/common/corpus_replay.h feeds a fuzz corpus to an entry point. Fuzz entry points may keep static
// state, so a crash that depends on an earlier input reproduces only if every run uses the same order:
// replay_corpus() goes through the files in sorted path order, whatever order the directory lists them in.
#include "../common/corpus_replay.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace raftbgp::test {
namespace {

std::vector<std::string>& seen() {
  static std::vector<std::string> s;
  return s;
}

void record(const std::uint8_t* data, std::size_t size) {
  seen().emplace_back(reinterpret_cast<const char*>(data), size);
}

TEST(CorpusReplay, Files_are_replayed_in_sorted_path_order_when_the_directory_lists_them_otherwise) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("raftbgp_corpus_order_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "subdir-is-skipped");
  // Created in reverse order, with names whose directory (hash) order differs from their sorted order.
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) names.push_back("crash-" + std::to_string(1000 + i * 7919 % 997));
  for (auto it = names.rbegin(); it != names.rend(); ++it) std::ofstream(dir / *it) << *it;
  seen().clear();
  EXPECT_EQ(replay_corpus(dir, record), names.size());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(seen(), names);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace raftbgp::test
