#include "raftbgp/transport/counter_table.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace raftbgp::transport {
namespace {

// Gives every field of Counters a distinct value through the table, so a row that points at the wrong member
// (two rows at one member, one member never reached) shows as a wrong value below.
Counters distinct_values() {
  Counters c;
  std::uint64_t v = 100;
  for (const CounterField& f : kCounterFields) c.*f.member = ++v;
  for (auto& r : c.rejected) r = ++v;
  for (auto& e : c.line_errors) e = ++v;
  return c;
}

TEST(CounterTable, Every_field_has_its_own_row_and_name) {
  const Counters c;
  std::set<const std::uint64_t*> members;  // member pointers have no order: compare the addresses they give
  std::set<std::string_view> names;
  for (const CounterField& f : kCounterFields) {
    EXPECT_TRUE(members.insert(&(c.*f.member)).second) << f.name << " points at a member another row has";
    EXPECT_TRUE(names.insert(f.name).second) << f.name;
    EXPECT_FALSE(f.help.empty()) << f.name;
  }
  // With the static_assert on sizeof(Counters) in counter_table.cc, distinct members mean every field.
  EXPECT_EQ(members.size() * sizeof(std::uint64_t) + sizeof(Counters::rejected) + sizeof(Counters::line_errors),
            sizeof(Counters));
}

TEST(CounterTable, Json_exports_the_counters_the_old_status_left_out_by_name) {
  Counters c;
  c.events_ignored = 1;
  c.without_attribute = 2;
  c.other_attribute_codes = 3;
  c.reassembly_evicted_bytes = 4;
  c.eors = 5;
  c.peer_connected = 6;
  const nlohmann::json j = counters_json(c);
  EXPECT_EQ(j.at("events_ignored"), 1u);
  EXPECT_EQ(j.at("without_attribute"), 2u);
  EXPECT_EQ(j.at("other_attribute_codes"), 3u);
  EXPECT_EQ(j.at("reassembly_evicted_bytes"), 4u);
  EXPECT_EQ(j.at("eors"), 5u);
  EXPECT_EQ(j.at("peer_connected"), 6u);
}

TEST(CounterTable, Json_holds_every_value_under_its_name_and_reason) {
  const Counters c = distinct_values();
  const nlohmann::json j = counters_json(c);
  std::size_t seen = 0;
  for_each_counter(c, [&](const CounterValue& v) {
    ++seen;
    const nlohmann::json& at =
        v.reason.empty() ? j.at(std::string(v.name)) : j.at(std::string(v.name)).at(std::string(v.reason));
    EXPECT_EQ(at.get<std::uint64_t>(), v.value) << v.name << " " << v.reason;
  });
  EXPECT_EQ(seen, std::size(kCounterFields) + kRejectReasonCount + kLineErrorCount);
  // Names scripts and raftbgpctl read (docs/operator-guide.md section 5).
  EXPECT_EQ(j.at("reassembly_evicted"), c.reassembly_evicted_count);
  EXPECT_EQ(j.at("rejected").at("bad_tag"), c.rejected_for(RejectReason::kBadTag));
  EXPECT_EQ(j.at("line_errors").at("too_long"), c.line_errors_for(LineError::kTooLong));
  EXPECT_EQ(j.at("rejected_total"), c.rejected_total());
}

TEST(CounterTable, Gauges_are_the_now_values) {
  std::set<std::string_view> gauges;
  for (const CounterField& f : kCounterFields)
    if (f.kind == MetricKind::kGauge) gauges.insert(f.name);
  EXPECT_EQ(gauges, (std::set<std::string_view>{"queue_waiting", "queue_outstanding", "fragments_pending",
                                                "reassembly_bytes"}));
}

}  // namespace
}  // namespace raftbgp::transport
