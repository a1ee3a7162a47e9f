// libFuzzer target: one ExaBGP stdin line through the parser and a Transport's receive path.
#include "fuzz_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  raftbgp::transport::fuzz::fuzz_exabgp_line(data, size);
  return 0;
}
