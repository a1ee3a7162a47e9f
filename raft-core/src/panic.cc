#include <cstdio>
#include <cstdlib>

#include "raftbgp/raft/types.h"

namespace raftbgp::raft {

void panic(std::string_view what, const char* file, int line) {
  std::fprintf(stderr, "raftbgp PANIC at %s:%d: %.*s\n", file, line, static_cast<int>(what.size()), what.data());
  std::fflush(stderr);
  std::abort();
}

}  // namespace raftbgp::raft
