// libFuzzer target: the replay state file decoder (ReplayGuard::import_state, <data_dir>/replay).
#include "fuzz_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  raftbgp::transport::fuzz::fuzz_replay_state(data, size);
  return 0;
}
