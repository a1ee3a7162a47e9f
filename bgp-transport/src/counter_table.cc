#include "raftbgp/transport/counter_table.h"

#include <string>

namespace raftbgp::transport {

// Every byte of Counters is a field of the table or of the two per-reason arrays: a new field without a row
// in kCounterFields fails here (the fields are all uint64_t, so there is no padding to hide one).
static_assert(sizeof(Counters) ==
                  sizeof(std::uint64_t) * (std::size(kCounterFields) + kRejectReasonCount + kLineErrorCount),
              "a field of Counters (counters.h) has no row in kCounterFields (counter_table.h)");

nlohmann::json counters_json(const Counters& c) {
  nlohmann::json out = nlohmann::json::object();
  for_each_counter(c, [&out](const CounterValue& v) {
    if (v.reason.empty()) {
      out[std::string(v.name)] = v.value;
    } else {
      out[std::string(v.name)][std::string(v.reason)] = v.value;
    }
  });
  out["rejected_total"] = c.rejected_total();
  return out;
}

}  // namespace raftbgp::transport
