// Flight recorder + deterministic replay (agent/include/raftbgp/agent/recorder.h,
// recorder/include/raftbgp/recorder/replay.h) on in-process agent clusters with faults.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "agent_net.h"
#include "process_util.h"
#include "raftbgp/agent/files.h"
#include "raftbgp/agent/recorder.h"
#include "raftbgp/raft/crc32c.h"
#include "raftbgp/raft/memory_storage.h"
#include "raftbgp/recorder/replay.h"

namespace raftbgp::agent::test {
namespace {

using recorder::ReplayOptions;
using recorder::ReplayResult;

constexpr std::uint64_t kCap = std::uint64_t{64} << 20;

AgentNet::Tweak recording(std::uint64_t cap = kCap) {
  return [cap](AgentConfig& c) {
    c.recorder_on = true;
    c.recorder_max_bytes = cap;
    c.snapshot_log_entries = 16;  // compaction happens during the run, and a restart opens from a snapshot
  };
}

std::string rec_path(std::size_t i, const AgentNet& net) { return net.config(i).data_dir + "/recorder.rec"; }

// A write through node i, retried (same session) until it applies: with loss a request may time out.
void put(AgentNet& net, std::size_t i, const std::string& key) {
  ClientResponse r;
  for (int attempt = 0; attempt < 5 && !r.ok; ++attempt)
    if (net.alive(i)) r = net.request(i, "kv.put", {{"key", key}, {"value", "v"}}, "client-" + key, 1);
  EXPECT_TRUE(r.ok) << key << ": " << r.code << " " << r.message;
}

// A run with 10% loss, a compaction, reads, a leader crash, an election and a restart from the WAL.
void faulty_run(AgentNet& net) {
  net.start_all();
  net.fabric().set_loss(0.1);
  int lead = net.wait_leader();
  ASSERT_GE(lead, 0);
  for (int k = 0; k < 20; ++k) put(net, static_cast<std::size_t>(k % 3), "k" + std::to_string(k));
  ASSERT_TRUE(net.request(static_cast<std::size_t>((lead + 1) % 3), "kv.get", {{"key", "k3"}}).ok);
  net.stop(static_cast<std::size_t>(lead));
  const int lead2 = net.wait_leader();
  ASSERT_GE(lead2, 0);
  put(net, static_cast<std::size_t>(lead2), "after");
  net.start(static_cast<std::size_t>(lead));  // a new recording, starting from its WAL and snapshot
  net.settle(120);
  for (std::size_t i = 0; i < net.size(); ++i) net.stop(i);  // closes (flushes) every recording
}

ReplayResult replay_file(const std::string& path, const ReplayOptions& options = {}) {
  RecordingReadResult read = read_recording(path);
  EXPECT_FALSE(read.error) << *read.error;
  return recorder::replay(read.records, options);
}

TEST(Recorder, Recording_of_a_faulty_cluster_run_replays_identically) {
  AgentNet net(3, {1, 2, 3}, recording());
  faulty_run(net);
  for (std::size_t i = 0; i < 3; ++i) {
    const ReplayResult r = replay_file(rec_path(i, net));
    EXPECT_TRUE(r.identical()) << "node " << i + 1 << ": "
                               << (r.error ? *r.error : r.divergence->difference + "\n" + r.divergence->recorded);
    EXPECT_GT(r.readies, 10u) << "node " << i + 1;  // a recording with substance, not an empty one
    // Every record carries when it was written, on the steady clock: set and never going back.
    const RecordingReadResult read = read_recording(rec_path(i, net));
    std::uint64_t last = 0;
    for (const v1::Record& rec : read.records) {
      EXPECT_GT(rec.at_us(), 0u) << "node " << i + 1 << " record " << rec.seq();
      EXPECT_GE(rec.at_us(), last) << "node " << i + 1 << " record " << rec.seq();
      last = rec.at_us();
    }
  }
}

// The first Ready of `records` that sends a PreVote request: where a node without pre-vote sends a Vote instead.
std::uint64_t first_pre_vote_ready(const std::vector<v1::Record>& records) {
  for (const v1::Record& r : records)
    if (r.has_ready())
      for (const auto& m : r.ready().messages())
        if (m.type() == raft::MessageType::MSG_PRE_VOTE) return r.seq();
  return 0;
}

TEST(Recorder, Replay_diverges_at_the_first_campaign_when_the_pre_vote_rule_is_switched_off) {
  AgentNet net(3, {1, 2, 3}, recording());
  faulty_run(net);
  int checked = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    RecordingReadResult read = read_recording(rec_path(i, net));
    ASSERT_FALSE(read.error);
    const std::uint64_t expected = first_pre_vote_ready(read.records);
    if (expected == 0) continue;  // this node never campaigned
    ReplayOptions options;
    options.mutate_config = [](raft::Config& c) { c.pre_vote = false; };
    const ReplayResult r = recorder::replay(read.records, options);
    ASSERT_TRUE(r.divergence) << "node " << i + 1 << " replayed identically without pre-vote";
    EXPECT_EQ(r.divergence->seq, expected) << "node " << i + 1 << ": " << r.divergence->difference;
    EXPECT_FALSE(r.divergence->context.empty());
    EXPECT_NE(r.divergence->recorded, r.divergence->replayed);
    // Everything before that step was identical, and --until stops short of it.
    options.until = expected - 1;
    EXPECT_TRUE(recorder::replay(read.records, options).identical());
    ++checked;
  }
  EXPECT_GT(checked, 0) << "no node campaigned";
}

std::string slurp(const std::string& path) {
  auto r = read_file(path);
  EXPECT_TRUE(std::holds_alternative<std::optional<std::string>>(r) && std::get<0>(r)) << path;
  return std::holds_alternative<std::optional<std::string>>(r) ? std::get<0>(r).value_or("") : "";
}
void spit(const std::string& path, const std::string& data) { EXPECT_FALSE(atomic_write_file(path, data)); }

TEST(Recorder, Truncated_or_corrupt_recording_is_refused_with_the_offset_and_keeps_the_valid_prefix) {
  AgentNet net(3, {1, 2, 3}, recording());
  net.start_all();
  ASSERT_GE(net.wait_leader(), 0);
  net.settle(30);
  for (std::size_t i = 0; i < 3; ++i) net.stop(i);
  const std::string good = slurp(rec_path(0, net));
  ASSERT_GT(good.size(), 1000u);
  const std::string bad = rec_path(0, net) + ".bad";

  spit(bad, good.substr(0, good.size() - 3));  // a torn tail
  RecordingReadResult torn = read_recording(bad);
  ASSERT_TRUE(torn.error);
  EXPECT_NE(torn.error->find("truncated"), std::string::npos) << *torn.error;
  EXPECT_FALSE(torn.records.empty());
  EXPECT_TRUE(recorder::replay(torn.records, {}).identical());  // the prefix still replays

  std::string flipped = good;
  flipped[good.size() / 2] = static_cast<char>(flipped[good.size() / 2] ^ 0x40);
  spit(bad, flipped);
  RecordingReadResult corrupt = read_recording(bad);
  ASSERT_TRUE(corrupt.error);
  EXPECT_TRUE(corrupt.error->find("checksum mismatch") != std::string::npos ||
              corrupt.error->find("truncated") != std::string::npos)
      << *corrupt.error;
  EXPECT_NE(corrupt.error->find("at byte "), std::string::npos);

  auto replay_bin = [](std::vector<std::string> args) {
    Spawn s;
    s.argv = {RAFTBGP_REPLAY_BIN};
    s.argv.insert(s.argv.end(), args.begin(), args.end());
    return run_process(s);
  };
  // raftbgp-replay: exit 0 and a summary on the good file, 2 and the offset on the corrupt one.
  Exit ok = replay_bin({rec_path(0, net)});
  EXPECT_EQ(ok.code(), 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("identical: "), std::string::npos) << ok.out;
  Exit trace = replay_bin({"--trace", "--until", "5", rec_path(0, net)});
  EXPECT_EQ(trace.code(), 0) << trace.err;
  EXPECT_NE(trace.out.find("#5 "), std::string::npos) << trace.out;
  EXPECT_EQ(trace.out.find("#6 "), std::string::npos) << trace.out;
  Exit broken = replay_bin({bad});
  EXPECT_EQ(broken.code(), 2) << broken.out;
  EXPECT_NE(broken.err.find("at byte "), std::string::npos) << broken.err;

  spit(bad, "not a recording at all");
  EXPECT_TRUE(read_recording(bad).error);
  EXPECT_TRUE(read_recording(bad + ".missing").error);
}

// raftbgp-replay --events: the recordings of a cluster become timelines that line up, so a message can be followed
// from the Ready that sent it to the step that received it (bench/lab/hop_trace.py does this on a lab).
TEST(Recorder, Events_of_several_recordings_line_up_every_received_append_with_its_send) {
  AgentNet net(3, {1, 2, 3}, recording());
  net.start_all();
  const int lead = net.wait_leader();
  ASSERT_GE(lead, 0);
  for (int k = 0; k < 10; ++k) put(net, static_cast<std::size_t>(k % 3), "e" + std::to_string(k));
  for (std::size_t i = 0; i < 3; ++i) net.stop(i);

  std::vector<std::vector<nlohmann::json>> timelines(3);
  for (std::size_t i = 0; i < 3; ++i) {
    Spawn s;
    s.argv = {RAFTBGP_REPLAY_BIN, "--events", rec_path(i, net)};
    const Exit e = run_process(s);
    ASSERT_EQ(e.code(), 0) << e.err;
    std::istringstream lines(e.out);
    for (std::string line; std::getline(lines, line);) timelines[i].push_back(nlohmann::json::parse(line));
    ASSERT_FALSE(timelines[i].empty());
    EXPECT_EQ(timelines[i].front()["kind"], "start");
    EXPECT_EQ(timelines[i].front()["node"], i + 1);
  }
  // Every AppendEntries a follower received (no loss here) is one the leader's Ready sent, identical in every
  // field the timeline keeps, and sent no later than it was received.
  std::size_t appends = 0, with_entries = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    if (static_cast<int>(i) == lead) continue;
    for (const nlohmann::json& ev : timelines[i]) {
      if (ev["kind"] != "step" || ev["msg"]["type"] != "MSG_APP") continue;
      ++appends;
      if (ev["msg"]["n"] > 0) ++with_entries;
      bool sent = false;
      for (const nlohmann::json& out : timelines[static_cast<std::size_t>(lead)]) {
        if (out["kind"] != "ready" || out["at_us"] > ev["at_us"]) continue;
        for (const nlohmann::json& m : out["send"]) sent = sent || m == ev["msg"];
      }
      EXPECT_TRUE(sent) << "node " << i + 1 << " received " << ev.dump();
    }
  }
  EXPECT_GE(with_entries, 10u);  // the puts' entries, at least
  EXPECT_GE(appends, with_entries);
  // A damaged tail: the prefix is printed, then the error, exit 2.
  const std::string good = slurp(rec_path(0, net));
  spit(rec_path(0, net) + ".torn", good.substr(0, good.size() - 3));
  Spawn torn;
  torn.argv = {RAFTBGP_REPLAY_BIN, "--events", rec_path(0, net) + ".torn"};
  const Exit t = run_process(torn);
  EXPECT_EQ(t.code(), 2);
  EXPECT_NE(t.err.find("truncated"), std::string::npos) << t.err;
  EXPECT_EQ(std::count(t.out.begin(), t.out.end(), '\n'), static_cast<long>(timelines[0].size()) - 1);
}

TEST(Recorder, Recording_stops_at_its_cap_and_the_prefix_replays) {
  const std::uint64_t cap = 65536;
  AgentNet net(3, {1, 2, 3}, recording(cap));
  net.start_all();
  const int lead = net.wait_leader();
  ASSERT_GE(lead, 0);
  for (int k = 0; k < 400 && !net.core(static_cast<std::size_t>(lead)).recorder().stopped(); ++k)
    put(net, static_cast<std::size_t>(lead), "k" + std::to_string(k));
  EXPECT_TRUE(net.core(static_cast<std::size_t>(lead)).recorder().stopped());
  for (std::size_t i = 0; i < 3; ++i) net.stop(i);
  EXPECT_LE(std::filesystem::file_size(rec_path(static_cast<std::size_t>(lead), net)), cap);
  EXPECT_TRUE(replay_file(rec_path(static_cast<std::size_t>(lead), net)).identical());
}

// recorder.mode on-demand: `debug record start` mid-run rebuilds the node from its storage and records from there;
// the recording replays bit for bit, on a follower and on the leader (which steps down: the cluster elects again).
TEST(Recorder, On_demand_recording_started_mid_run_replays_identically_on_a_follower_and_the_leader) {
  AgentNet net(3, {1, 2, 3}, [](AgentConfig& c) {
    c.recorder_on_demand = true;
    c.snapshot_log_entries = 16;
  });
  net.start_all();
  const int lead = net.wait_leader();
  ASSERT_GE(lead, 0);
  const auto l = static_cast<std::size_t>(lead), f = (l + 1) % 3;
  for (int k = 0; k < 10; ++k) put(net, static_cast<std::size_t>(k % 3), "a" + std::to_string(k));
  EXPECT_FALSE(std::filesystem::exists(rec_path(f, net)));  // nothing before the start
  EXPECT_EQ(net.request(f, "debug.record", {{"action", "stop"}}).code, ErrorCode::kBadRequest);  // not recording
  ClientResponse started = net.request(f, "debug.record", {{"action", "start"}});
  ASSERT_TRUE(started.ok) << started.message;
  EXPECT_EQ(net.request(f, "debug.record", {{"action", "start"}}).code, ErrorCode::kBadRequest);  // already
  ASSERT_TRUE(net.request(l, "debug.record", {{"action", "start"}}).ok);
  ASSERT_GE(net.wait_leader(), 0);  // the rebuilt leader stepped down; someone leads again
  for (int k = 0; k < 10; ++k) put(net, static_cast<std::size_t>(k % 3), "b" + std::to_string(k));
  ASSERT_TRUE(net.request(f, "kv.get", {{"key", "b3"}}).ok);
  net.settle(60);
  for (std::size_t i : {f, l}) {
    const ClientResponse stopped = net.request(i, "debug.record", {{"action", "stop"}});
    ASSERT_TRUE(stopped.ok) << stopped.message;
    EXPECT_GT(stopped.result["records"].get<std::uint64_t>(), 10u);
    const ReplayResult r = replay_file(rec_path(i, net));
    EXPECT_TRUE(r.identical()) << "node " << i + 1 << ": "
                               << (r.error ? *r.error : r.divergence->difference + "\n" + r.divergence->recorded);
    EXPECT_GT(r.readies, 10u) << "node " << i + 1;
  }
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(net.core(i).state().kv().at("b9"), "v") << "node " << i + 1;
}

TEST(Recorder, Debug_record_is_refused_unless_the_mode_is_on_demand) {
  AgentNet net(1, {1});
  net.start_all();
  ASSERT_GE(net.wait_leader(), 0);
  const ClientResponse r = net.request(0, "debug.record", {{"action", "start"}});
  EXPECT_EQ(r.code, ErrorCode::kBadRequest);
  EXPECT_NE(r.message.find("on-demand"), std::string::npos) << r.message;
}

// The records of a ready loop are written by hand (recorder.cc), not through v1::Record: their bytes must be
// exactly protobuf's own serialization of the Record that to_record() builds, field for field, including the
// fields proto3 leaves out when zero and the oneof members that are written even when empty.
TEST(Recorder, Hand_encoded_records_are_protobufs_own_serialization) {
  const std::string dir = ::testing::TempDir() + "/hand_encoded";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/recorder.rec";
  raft::MemoryStorage storage;
  raft::Config config;
  config.id = 2;
  config.voters = {1, 2, 3};

  raft::Entry e1;
  e1.set_term(3);
  e1.set_index(7);
  e1.set_data(std::string(300, 'x'));  // a length that needs two varint bytes
  raft::Entry e2;                      // every field zero: an empty submessage, still written
  raft::Message app;
  app.set_type(raftbgp::v1::MSG_APP);
  app.set_from(1);
  app.set_to(2);
  app.set_term(3);
  app.set_index(6);
  *app.add_entries() = e1;
  *app.add_entries() = e2;
  app.set_context("ctx");
  app.mutable_snapshot()->set_index(4);
  raft::Ready full;
  full.hard_state = raft::HardState();  // present but zero
  full.entries = {e1, e2};
  full.messages = {app, raft::Message()};
  full.committed_entries = {e1};
  full.soft_state = {{0, raft::Role::kLeader}};  // leader 0 is left out, the role is not
  full.read_states = {{0, "r1", true}, {9, "", false}, {}};
  full.snapshot = raft::Snapshot{};
  full.snapshot->meta.set_index(5);
  full.snapshot->meta.mutable_conf_state()->add_voters(1);
  full.snapshot->data = std::string(200, 's');
  full.send_before_persist = true;
  raft::Ready with_snapshot_without_data;  // and a follower's soft state
  with_snapshot_without_data.snapshot = raft::Snapshot{};
  with_snapshot_without_data.soft_state = {{3, raft::Role::kFollower}};

  std::vector<v1::Record> want;
  auto expect = [&](v1::Record r) {
    r.set_seq(want.size() + 1);
    r.set_at_us(1'000'000 * r.seq());  // the clock below: one reading per record
    want.push_back(std::move(r));
  };
  {
    static std::uint64_t readings = 0;
    Recorder rec(path, kCap, [] { return 1'000'000 * ++readings; });
    rec.begin(config, storage, 1);
    v1::Record start;
    *start.mutable_start()->mutable_config() = to_record(config);
    start.mutable_start()->mutable_hard_state();
    start.mutable_start()->mutable_snapshot_meta();
    start.mutable_start()->set_node_id(2);
    start.mutable_start()->set_epoch(1);
    expect(start);
    rec.step(app);
    v1::Record r;
    *r.mutable_step() = app;
    expect(r);
    rec.step(raft::Message());
    r.mutable_step()->Clear();
    expect(r);
    rec.propose("");
    r.set_propose("");
    expect(r);
    rec.propose(std::string(200, 'p'));
    r.set_propose(std::string(200, 'p'));
    expect(r);
    rec.read_index("rid");
    r.set_read_index("rid");
    expect(r);
    raft::Ready empty;
    for (const raft::Ready* rd : {&full, &with_snapshot_without_data, &empty}) {
      rec.ready(*rd);
      *r.mutable_ready() = to_record(*rd);
      expect(r);
    }
    rec.advance();
    r.set_advance(true);
    expect(r);
    EXPECT_EQ(rec.records(), want.size());
  }
  std::string framed;
  for (const v1::Record& r : want) {
    const std::string payload = r.SerializeAsString();
    for (std::uint32_t v : {static_cast<std::uint32_t>(payload.size()), raft::crc32c(payload)})
      for (int i = 0; i < 4; ++i) framed.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    framed += payload;
  }
  const std::string got = slurp(path);
  ASSERT_EQ(got.size(), framed.size());
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], framed[i]) << "first difference at byte " << i;
  // And they read back as those records (the CRC is the reader's, raft::crc32c).
  RecordingReadResult read = read_recording(path);
  ASSERT_FALSE(read.error) << *read.error;
  ASSERT_EQ(read.records.size(), want.size());
  EXPECT_TRUE(read.records[6].ready().send_before_persist());
}

TEST(Recorder, Nothing_is_recorded_when_the_recorder_is_off) {
  AgentNet net(3, {1, 2, 3});
  net.start_all();
  ASSERT_GE(net.wait_leader(), 0);
  EXPECT_FALSE(std::filesystem::exists(rec_path(0, net)));
}

}  // namespace
}  // namespace raftbgp::agent::test
