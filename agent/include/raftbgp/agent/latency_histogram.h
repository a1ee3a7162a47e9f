// A fixed-bucket latency histogram in seconds, cumulative like Prometheus's, for AgentCore's disk and
// commit latencies (metrics.h exposes them as raftbgp_disk_wal_fsync_duration_seconds and
// raftbgp_server_commit_latency_seconds). Header-only and
// dependency-free apart from nlohmann-json, so AgentCore (no prometheus-cpp) can own one.
// Agent thread only; observe() is O(buckets).
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>

namespace raftbgp::agent {

class LatencyHistogram {
 public:
  // etcd's wal_fsync buckets: 1 ms doubling to 8.192 s.
  static constexpr std::array<double, 14> kBounds = {0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064,
                                                     0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192};
  void observe(double seconds) {
    for (std::size_t i = 0; i < kBounds.size(); ++i)
      if (seconds <= kBounds[i]) ++counts_[i];
    ++count_;
    sum_ += seconds;
  }
  // {"bounds": [...], "counts": [cumulative count per bound], "count": n, "sum": seconds}; the +Inf
  // bucket is "count".
  nlohmann::json to_json() const {
    return nlohmann::json{{"bounds", kBounds}, {"counts", counts_}, {"count", count_}, {"sum", sum_}};
  }

 private:
  std::array<std::uint64_t, kBounds.size()> counts_{};
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

}  // namespace raftbgp::agent
