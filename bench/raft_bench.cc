// Committed entries per second of a 3-node in-memory cluster (256-byte entries, MemoryStorage, no
// fsync, messages handed over in process). This measures the core's own CPU cost per entry: the
// protocol step function, log bookkeeping and protobuf copies, with no transport and no disk.
//
//   build/bench/raft_bench --benchmark_min_time=1
//
// The argument is how many proposals the leader takes between two rounds of the ready loop (1 =
// one entry per AppendEntries round trip; 64 = pipelined batches, as under load). cpu_per_entry is
// the figure to compare (bench/etcd/compare.sh runs etcd-raft 3.4 in the same shape beside it).
//
// Every storage is compacted to its applied index once it holds kCompactEvery entries, as a driver
// does: without it the in-memory log grows by ~1 GB a minute and the figure mixes in page faults.
#include <benchmark/benchmark.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "raftbgp/raft/memory_storage.h"
#include "raftbgp/raft/node.h"

namespace {

using namespace raftbgp::raft;

constexpr Index kCompactEvery = 4096;

class Cluster {
 public:
  Cluster() {
    for (NodeId id = 1; id <= 3; ++id) {
      Config c;
      c.id = id;
      c.voters = {1, 2, 3};
      c.seed = id;
      c.max_msg_bytes = 64 * 1024;
      c.max_inflight_msgs = 256;
      c.max_inflight_bytes = 16 * 1024 * 1024;
      storages_.push_back(std::make_unique<MemoryStorage>());
      nodes_.push_back(std::make_unique<Node>(c, *storages_.back()));
    }
    nodes_[0]->campaign();
    pump();
  }

  Node& leader() { return *nodes_[0]; }

  // Runs every node's ready loop until no messages remain.
  void pump() {
    bool busy = true;
    while (busy) {
      busy = false;
      for (std::size_t i = 0; i < nodes_.size(); ++i) {
        Node& n = *nodes_[i];
        if (!n.has_ready()) continue;
        busy = true;
        Ready rd = n.ready();
        persist(*storages_[i], rd.hard_state, rd.entries);
        for (Message& m : rd.messages) inbox_.push_back(std::move(m));
        applied_[i] += rd.committed_entries.size();
        n.advance(rd);
        maybe_compact(i);
      }
      std::vector<Message> batch;
      batch.swap(inbox_);
      for (const Message& m : batch) {
        nodes_[m.to() - 1]->step(m);
        busy = true;
      }
    }
  }

  std::uint64_t applied_at_leader() const { return applied_[0]; }

 private:
  // Log compaction (§7) at the applied index; the state machine here has no state, so no data.
  void maybe_compact(std::size_t i) {
    MemoryStorage& s = *storages_[i];
    if (s.last_index() < s.first_index() + kCompactEvery) return;
    if (std::optional<SnapshotMetadata> meta = nodes_[i]->snapshot_metadata_at_applied()) {
      if (meta->index() > s.snapshot_metadata().index() && meta->index() <= s.last_index()) {
        s.save_snapshot(Snapshot{*meta, {}});
      }
    }
  }

  std::vector<std::unique_ptr<MemoryStorage>> storages_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<Message> inbox_;
  std::uint64_t applied_[3] = {};
};

void BM_CommitThreeNodes(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  Cluster c;
  const std::string payload(256, 'x');
  const std::uint64_t start = c.applied_at_leader();
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) {
      if (c.leader().propose(payload).status != ProposeResult::Status::kAccepted) {
        state.SkipWithError("leader lost leadership");
        return;
      }
    }
    c.pump();
  }
  const std::uint64_t committed = c.applied_at_leader() - start;
  if (committed != static_cast<std::uint64_t>(state.iterations()) * static_cast<std::uint64_t>(batch)) {
    state.SkipWithError("not every proposal was committed");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(committed));
  // CPU time per committed entry (the inverse of a rate: CPU seconds / entries, printed as e.g. "2.4us").
  state.counters["cpu_per_entry"] =
      benchmark::Counter(static_cast<double>(committed), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.SetLabel("committed 256-byte entries");
}
BENCHMARK(BM_CommitThreeNodes)->Arg(1)->Arg(8)->Arg(64)->Arg(256);

}  // namespace

BENCHMARK_MAIN();
