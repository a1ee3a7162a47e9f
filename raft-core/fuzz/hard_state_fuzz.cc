// libFuzzer target: fuzz_hard_state in fuzz_entry.h.
#include "fuzz_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  raftbgp::raft::fuzz::fuzz_hard_state(data, size);
  return 0;
}
