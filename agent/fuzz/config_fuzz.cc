// libFuzzer target: fuzz_config in fuzz_entry.h.
#include "fuzz_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  raftbgp::agent::fuzz::fuzz_config(data, size);
  return 0;
}
