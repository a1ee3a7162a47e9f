// libFuzzer target: fuzz_snapshot_file in fuzz_entry.h.
#include "fuzz_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  raftbgp::raft::fuzz::fuzz_snapshot_file(data, size);
  return 0;
}
