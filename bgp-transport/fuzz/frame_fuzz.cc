// libFuzzer target: transport frame parse + open (+ reassembly of authenticated fragments).
#include "fuzz_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  raftbgp::transport::fuzz::fuzz_frame(data, size);
  return 0;
}
