// MetricsExposer (metrics.h): prometheus-cpp's pull exposer (civetweb threads) kept out of metrics.cc so
// raftbgpctl, which only serializes, does not link the HTTP server.
#include <prometheus/exposer.h>

#include "raftbgp/agent/metrics.h"

namespace raftbgp::agent {

std::variant<std::unique_ptr<MetricsExposer>, std::string> MetricsExposer::start(
    const std::string& listen, std::shared_ptr<StatusMetrics> metrics) {
  std::unique_ptr<MetricsExposer> e(new MetricsExposer());
  try {
    // One HTTP thread: scrapes are rare and Collect() is one JSON copy and a conversion.
    e->exposer_ = std::make_unique<prometheus::Exposer>(listen, 1);
  } catch (const std::exception& ex) {
    return "metrics_listen " + listen + ": cannot listen (" + ex.what() + ")";
  }
  e->exposer_->RegisterCollectable(metrics);
  return e;
}

MetricsExposer::~MetricsExposer() = default;

int MetricsExposer::port() const {
  const std::vector<int> ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace raftbgp::agent
