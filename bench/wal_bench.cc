// WAL append throughput with group commit: each iteration stores a batch of 256-byte entries and
// syncs once (one fdatasync), the way the driver persists one Ready. items_per_second counts entries.
// Runs on a real disk (WAL_BENCH_DIR, else /var/tmp): tmpfs would make fdatasync free and the
// figures meaningless. MemoryStorage is the no-IO baseline.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_dir.h"
#include "raftbgp/raft/memory_storage.h"
#include "raftbgp/raft/wal_storage.h"

namespace {

using raftbgp::bench::BenchDir;

using raftbgp::raft::Entry;
using raftbgp::raft::Index;

constexpr std::size_t kEntryDataBytes = 256;
// Keep memory bounded in long runs: past this many entries the log is cut back to empty.
constexpr Index kMaxLogEntries = 100'000;

// The next batch of `n` entries after `last`.
void fill_batch(std::vector<Entry>& batch, Index last) {
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].set_index(last + 1 + i);
}

std::vector<Entry> make_batch(std::size_t n) {
  std::vector<Entry> batch(n);
  for (Entry& e : batch) {
    e.set_term(1);
    e.set_data(std::string(kEntryDataBytes, 'x'));
  }
  return batch;
}

void BM_WalAppendSync(benchmark::State& state) {
  BenchDir dir("WAL_BENCH_DIR", "raftbgp-wal-bench");
  if (dir.path().empty()) {
    state.SkipWithError("mkdtemp failed in the bench directory");
    return;
  }
  if (dir.on_tmpfs()) {
    state.SkipWithError("bench directory is on tmpfs; set WAL_BENCH_DIR to a real disk");
    return;
  }
  raftbgp::raft::WalOpenResult opened = raftbgp::raft::WalStorage::open(dir.path() + "/wal");
  if (!opened.ok()) {
    state.SkipWithError(opened.error().message().c_str());
    return;
  }
  std::unique_ptr<raftbgp::raft::WalStorage> wal = opened.take();
  std::vector<Entry> batch = make_batch(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    if (wal->last_index() >= kMaxLogEntries) wal->truncate(1);  // a 17-byte record; still one fsync
    fill_batch(batch, wal->last_index());
    wal->store(batch);
    wal->sync();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * state.range(0) * static_cast<std::int64_t>(kEntryDataBytes));
}
BENCHMARK(BM_WalAppendSync)->Arg(1)->Arg(8)->Arg(64)->UseRealTime();

void BM_MemoryStorageAppend(benchmark::State& state) {
  raftbgp::raft::MemoryStorage mem;
  std::vector<Entry> batch = make_batch(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    if (mem.last_index() >= kMaxLogEntries) mem.truncate(1);
    fill_batch(batch, mem.last_index());
    mem.store(batch);
    // No sync(): MemoryStorage::sync copies the whole log (its crash model), which would measure the
    // log's length rather than the append.
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_MemoryStorageAppend)->Arg(1)->Arg(8)->Arg(64);

}  // namespace

BENCHMARK_MAIN();
