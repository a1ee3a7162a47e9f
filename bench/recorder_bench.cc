// The flight recorder's (agent/include/raftbgp/agent/recorder.h) CPU cost per ready loop, in the shapes a star3
// leader and follower see under a write load: what Recorder adds to one loop of raftbgpd, i.e. the inputs
// (step), the Ready and the advance that ends the loop (where the loop's records reach the file). Each
// iteration is one loop; `entries` is the number of 256-byte entries in it (1: a closed loop of one writer; 8: a
// batched loop at a high rate). Written to a real disk (RECORDER_BENCH_DIR, else /var/tmp), as the agent writes
// its data_dir. The recording is restarted before it passes 512 MiB.
//
//   build/bench/recorder_bench [--benchmark_repetitions=5]
//
// A figure, not a test; bench/lab/recorder_overhead.py measures the same cost on a real cluster.
#include <cstdint>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_dir.h"
#include "raftbgp/agent/recorder.h"
#include "raftbgp/raft/memory_storage.h"

namespace {

using raftbgp::agent::Recorder;
using raftbgp::bench::BenchDir;
namespace raft = raftbgp::raft;

constexpr std::size_t kEntryDataBytes = 256;
constexpr std::uint64_t kRestartBytes = std::uint64_t{512} << 20;

raft::Entry entry(std::uint64_t index) {
  raft::Entry e;
  e.set_term(3);
  e.set_index(index);
  e.set_type(raftbgp::v1::ENTRY_NORMAL);
  e.set_data(std::string(kEntryDataBytes, static_cast<char>('a' + index % 26)));
  return e;
}

raft::Message message(raft::MessageType type, std::uint64_t from, std::uint64_t to, std::uint64_t index) {
  raft::Message m;
  m.set_type(type);
  m.set_from(from);
  m.set_to(to);
  m.set_term(3);
  m.set_index(index);
  m.set_log_term(3);
  m.set_commit(index);
  return m;
}

struct Loop {
  std::vector<raft::Message> inputs;
  raft::Ready ready;
};

// One loop of a leader (node 1) that receives two answers and sends `entries` new entries to two followers, with
// the previous batch committed; or of a follower (node 2) that receives that AppendEntries and answers it.
Loop make_loop(bool leader, std::size_t entries, std::uint64_t first) {
  Loop l;
  raft::Ready& rd = l.ready;
  raft::HardState hs;
  hs.set_term(3);
  hs.set_vote(1);
  hs.set_commit(first - 1);
  rd.hard_state = hs;
  for (std::size_t i = 0; i < entries; ++i) rd.entries.push_back(entry(first + i));
  for (std::size_t i = 0; i < entries; ++i) rd.committed_entries.push_back(entry(first - entries + i));
  if (leader) {
    for (std::uint64_t peer : {std::uint64_t{2}, std::uint64_t{3}})
      l.inputs.push_back(message(raftbgp::v1::MSG_APP_RESP, peer, 1, first - 1));
    for (std::uint64_t peer : {std::uint64_t{2}, std::uint64_t{3}}) {
      raft::Message app = message(raftbgp::v1::MSG_APP, 1, peer, first - 1);
      for (const raft::Entry& e : rd.entries) *app.add_entries() = e;
      rd.messages.push_back(app);
    }
    rd.send_before_persist = true;
  } else {
    raft::Message app = message(raftbgp::v1::MSG_APP, 1, 2, first - 1);
    for (const raft::Entry& e : rd.entries) *app.add_entries() = e;
    l.inputs.push_back(app);
    rd.messages.push_back(message(raftbgp::v1::MSG_APP_RESP, 2, 1, first + entries - 1));
  }
  return l;
}

void BM_RecorderLoop(benchmark::State& state) {
  const bool leader = state.range(0) == 1;
  const auto entries = static_cast<std::size_t>(state.range(1));
  BenchDir dir("RECORDER_BENCH_DIR", "raftbgp-recorder-bench");
  if (dir.path().empty()) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  raft::MemoryStorage storage;
  raft::Config config;
  config.id = leader ? 1 : 2;
  config.voters = {1, 2, 3};
  const Loop loop = make_loop(leader, entries, 100);
  auto fresh = [&] {
    Recorder r(dir.path() + "/recorder.rec", kRestartBytes + (std::uint64_t{64} << 20));
    r.begin(config, storage, 1);
    return r;
  };
  Recorder rec = fresh();
  std::uint64_t bytes = 0;
  for (auto _ : state) {
    for (const raft::Message& m : loop.inputs) rec.step(m);
    rec.ready(loop.ready);
    rec.advance();
    if (rec.bytes() > kRestartBytes) {
      state.PauseTiming();
      bytes += rec.bytes();
      rec = fresh();
      state.ResumeTiming();
    }
  }
  bytes += rec.bytes();
  state.counters["bytes_per_loop"] =
      benchmark::Counter(static_cast<double>(bytes) / static_cast<double>(state.iterations()));
}

}  // namespace

BENCHMARK(BM_RecorderLoop)->ArgNames({"leader", "entries"})->Args({1, 1})->Args({0, 1})->Args({1, 8})->Args({0, 8});

BENCHMARK_MAIN();
