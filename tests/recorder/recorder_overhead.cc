// recorder_overhead: CPU cost of the flight recorder (recorder.h) at a write load, measured in process: a
// 3-node AgentCore cluster on real WALs (tests/agent/agent_net.h) applies N writes through its leader with
// the recorder off, then on, and the program prints the process CPU time (user + system, getrusage) per
// write for each, and the relative overhead. Not a test (no pass/fail). In one process the agents' work is all
// there is, so this bounds the recorder's own cost; the bar (agent CPU at 1,000 writes/s on a real
// cluster, recorder off vs on) is measured by bench/lab/recorder_overhead.py. Both figures are in
// docs/operator-guide.md §13 ("Flight recorder ... overhead"). Usage: recorder_overhead [WRITES] (default 3000).
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "agent_net.h"

namespace {

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU seconds for `writes` committed writes through the leader, 8 in flight at a time (batched ready loop).
double run(bool record, int writes) {
  using namespace raftbgp::agent;
  test::AgentNet net(3, {1, 2, 3}, [record](AgentConfig& c) { c.recorder_on = record; });
  net.start_all();
  const int lead = net.wait_leader();
  if (lead < 0) std::abort();
  AgentCore& core = net.core(static_cast<std::size_t>(lead));
  const double start = cpu_seconds();
  int answered = 0, ok = 0;
  for (int k = 0; k < writes; k += 8) {
    for (int j = 0; j < 8; ++j) {
      ClientRequest req{"kv.put",
                        {{"key", "k" + std::to_string(k + j)}, {"value", std::string(64, 'v')}},
                        "load-" + std::to_string(j),
                        static_cast<std::uint64_t>(k / 8 + 1),
                        5000};
      core.on_client_request(std::move(req), [&](ClientResponse r) {
        ++answered;
        ok += r.ok ? 1 : 0;
      });
    }
    net.fabric().run_until([&] { return answered >= k + 8; }, 400);
  }
  const double used = cpu_seconds() - start;
  std::fprintf(stderr, "recorder %s: %d/%d writes ok\n", record ? "on" : "off", ok, writes);
  return used;
}

}  // namespace

int main(int argc, char** argv) {
  const int writes = argc > 1 ? std::atoi(argv[1]) : 3000;
  const double off = run(false, writes), on = run(true, writes), off2 = run(false, writes), on2 = run(true, writes);
  const double off_us = (off + off2) / 2 / writes * 1e6, on_us = (on + on2) / 2 / writes * 1e6;
  std::printf(
      "{\"writes\": %d, \"cpu_us_per_write_off\": %.1f, \"cpu_us_per_write_on\": %.1f, \"overhead_pct\": %.1f}\n",
      writes, off_us, on_us, (on_us - off_us) / off_us * 100);
  return 0;
}
