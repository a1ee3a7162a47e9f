// libFuzzer target: fuzz_wal_open in fuzz_entry.h.
#include "fuzz_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  raftbgp::raft::fuzz::fuzz_wal_open(data, size);
  return 0;
}
