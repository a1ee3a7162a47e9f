// libFuzzer target: fuzz_policy in fuzz_entry.h.
#include "fuzz_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  raftbgp::agent::fuzz::fuzz_policy(data, size);
  return 0;
}
