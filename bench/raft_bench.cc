// Committed entries per second of a 3-node in-memory cluster (256-byte entries, MemoryStorage, no
// fsync, messages handed over in process). This measures the core's own CPU cost per entry: the
// protocol step function, log bookkeeping and protobuf copies, with no transport and no disk.
//
//   build/bench/raft_bench --benchmark_min_time=1
//
// The argument is how many proposals the leader takes between two rounds of the ready loop (1 =
// one entry per AppendEntries round trip; 64 = pipelined batches, as under load).
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "raftbgp/raft/memory_storage.h"
#include "raftbgp/raft/node.h"

namespace {

using namespace raftbgp::raft;

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
  state.SetLabel("committed 256-byte entries");
}
BENCHMARK(BM_CommitThreeNodes)->Arg(1)->Arg(8)->Arg(64);

}  // namespace

BENCHMARK_MAIN();
