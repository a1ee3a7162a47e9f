// The boot counter (files.h), the persisted replay windows (replay_store.h) and the mailbox record
// (mailbox_record.h): unit tests, and agent restarts through the simulated fabric.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "agent_net.h"
#include "raftbgp/agent/files.h"
#include "raftbgp/agent/replay_store.h"
#include "test_util.h"

namespace raftbgp::agent::test {
namespace {

std::string error_of(const std::variant<EpochLease, FileError>& r) {
  return std::holds_alternative<FileError>(r) ? std::get<FileError>(r).message : "";
}

TEST(EpochFile, Bump_counts_up_from_one_and_is_locked_while_the_lease_lives) {
  TempDir dir;
  const std::string path = dir.path() + "/epoch";
  {
    auto first = bump_epoch_file(path);
    ASSERT_EQ(error_of(first), "");
    EXPECT_EQ(std::get<EpochLease>(first).epoch(), 1u);
    auto second = bump_epoch_file(path);  // another process would see the same lock
    EXPECT_NE(error_of(second).find("in use by another process"), std::string::npos) << error_of(second);
  }
  auto third = bump_epoch_file(path);
  ASSERT_EQ(error_of(third), "");
  EXPECT_EQ(std::get<EpochLease>(third).epoch(), 2u);
}

TEST(EpochFile, Corrupt_counter_is_an_error_naming_the_file) {
  TempDir dir;
  std::ofstream(dir.path() + "/epoch") << "twelve\n";
  EXPECT_NE(error_of(bump_epoch_file(dir.path() + "/epoch")).find(dir.path() + "/epoch"), std::string::npos);
}

// Restored from a backup without the counter (or it was deleted): starting over at 1 is refused.
TEST(EpochFile, Missing_counter_next_to_an_existing_wal_is_refused_with_what_to_do) {
  TempDir dir;
  ASSERT_EQ(::mkdir((dir.path() + "/wal").c_str(), 0700), 0);
  const std::string err = error_of(bump_epoch(dir.path()));
  EXPECT_NE(err.find(dir.path() + "/epoch is missing"), std::string::npos) << err;
  EXPECT_NE(err.find("date +%s"), std::string::npos) << err;
  std::ofstream(dir.path() + "/epoch") << "1764866000\n";
  auto ok = bump_epoch(dir.path());
  ASSERT_EQ(error_of(ok), "");
  EXPECT_EQ(std::get<EpochLease>(ok).epoch(), 1764866001u);
  TempDir fresh;  // a first start has neither file
  EXPECT_EQ(error_of(bump_epoch(fresh.path())), "");
}

transport::Transport receiver() {
  transport::TransportConfig c;
  c.cluster_id = 7;
  c.my_id = 2;
  c.next_hop_ipv6 = "fd00::2";
  c.keys = test_keys();
  c.active_key_id = 1;
  c.epoch = 1;
  return std::get<transport::Transport>(transport::Transport::create(c));
}

// Rewrites the WAL in `dir` without its replay windows: every APP_STATE record (type 5, wal_storage.h) is left
// out, every other record kept byte for byte.
void strip_app_state(const std::string& dir) {
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("wal-")) continue;
    auto content = read_file(e.path().string());
    ASSERT_TRUE(std::holds_alternative<std::optional<std::string>>(content));
    const std::string bytes = std::get<std::optional<std::string>>(content).value_or("");
    std::string kept;
    for (std::size_t at = 0; at + 9 <= bytes.size();) {
      std::size_t len = 0;
      for (std::size_t i = 0; i < 4; ++i) len |= std::size_t{static_cast<std::uint8_t>(bytes[at + i])} << (8 * i);
      if (bytes[at + 8] != 5) kept.append(bytes, at, 9 + len);
      at += 9 + len;
    }
    std::ofstream(e.path(), std::ios::binary | std::ios::trunc) << kept;
  }
}

TEST(ReplayStore, Missing_file_loads_as_empty_and_corrupt_file_is_an_error_naming_it) {
  TempDir dir;
  ReplayStore store(dir.path());
  transport::Transport t = receiver();
  EXPECT_FALSE(store.load(t).has_value());
  EXPECT_FALSE(store.save(t).has_value());  // nothing delivered: nothing written
  EXPECT_NE(::access(store.path().c_str(), F_OK), 0);
  transport::ReplayGuard g;
  g.mark(1, 3, 9);
  const transport::Bytes b = g.export_state();
  std::ofstream(store.path()) << std::string(b.begin(), b.end() - 1);  // torn
  auto err = store.load(t);
  ASSERT_TRUE(err.has_value());
  EXPECT_NE(err->message.find(store.path()), std::string::npos) << err->message;
  std::ofstream(store.path()) << std::string(b.begin(), b.end());
  EXPECT_FALSE(store.load(t).has_value());
  EXPECT_EQ(t.replay_senders(), 1u);
}

// raftbgpd keeps the windows in its WAL. An upgraded node still has the file of the release before: the first
// start reads it, saves go to the WAL, and the starts after that take the WAL's. The file stays raftbgp-ping's.
TEST(ReplayStore, In_the_wal_an_upgrade_reads_the_old_file_once_and_later_starts_take_the_wals) {
  TempDir dir;
  transport::ReplayGuard g;
  g.mark(1, 3, 9);
  const transport::Bytes b = g.export_state();
  const std::string file = dir.path() + "/replay";
  std::ofstream(file) << std::string(b.begin(), b.end());
  {
    auto wal = raft::WalStorage::open(dir.path() + "/wal");
    ASSERT_TRUE(wal.ok()) << wal.error().message();
    ReplayStore store(dir.path(), wal.storage());
    transport::Transport t = receiver();
    ASSERT_FALSE(store.load(t).has_value());
    EXPECT_EQ(t.replay_senders(), 1u) << "the old file's windows were restored";
    EXPECT_FALSE(store.save(t).has_value());
    EXPECT_EQ(wal.storage().app_state(), "") << "nothing moved since the load: nothing written";
    transport::ReplayGuard more;
    more.mark(1, 3, 9);
    more.mark(2, 1, 4);
    t.restore_replay_state(std::move(more));  // as if a frame of sender 2 had been delivered
    ASSERT_FALSE(store.save(t).has_value());
    EXPECT_FALSE(wal.storage().app_state().empty());
    wal.storage().sync();
  }
  auto wal = raft::WalStorage::open(dir.path() + "/wal");
  ASSERT_TRUE(wal.ok()) << wal.error().message();
  ReplayStore store(dir.path(), wal.storage());
  transport::Transport t = receiver();
  ASSERT_FALSE(store.load(t).has_value());
  EXPECT_EQ(t.replay_senders(), 2u) << "the WAL's windows, not the old file's";
  EXPECT_EQ(::access(file.c_str(), F_OK), 0) << "left to raftbgp-ping";
}

TEST(ReplayStore, Windows_in_the_wal_that_do_not_decode_are_an_error_naming_the_wal) {
  TempDir dir;
  {
    auto wal = raft::WalStorage::open(dir.path() + "/wal");
    ASSERT_TRUE(wal.ok()) << wal.error().message();
    wal.storage().save_app_state("not replay windows");
    wal.storage().sync();
  }
  auto wal = raft::WalStorage::open(dir.path() + "/wal");
  ASSERT_TRUE(wal.ok()) << wal.error().message();
  ReplayStore store(dir.path(), wal.storage());
  transport::Transport t = receiver();
  auto err = store.load(t);
  ASSERT_TRUE(err.has_value());
  EXPECT_NE(err->message.find("in the WAL " + dir.path() + "/wal"), std::string::npos) << err->message;
  EXPECT_NE(err->message.find("rebuild this router's data dir"), std::string::npos) << err->message;
  EXPECT_EQ(t.replay_senders(), 0u);
}

// The reviewer's scenario at agent level: every frame a follower accepted is re-sent by ExaBGP when the
// restarted process's session comes up. With the windows persisted, none is delivered twice.
TEST(ReplayStore, Restarted_agent_refuses_the_resent_frames_it_delivered_before) {
  AgentNet net(3, {1, 2, 3});
  net.start_all();
  const int lead = net.wait_leader();
  ASSERT_GE(lead, 0);
  EXPECT_TRUE(net.request(static_cast<std::size_t>(lead), "kv.put", {{"key", "a"}, {"value", "1"}}, "c", 1).ok);
  net.settle();
  const std::size_t f = lead == 0 ? 1 : 0;  // a follower
  ASSERT_GT(net.core(f).transport().counters().messages_delivered, 0u);
  {
    // Saved into the WAL at the Readys that synced, not only at shutdown (a crash keeps it too): a copy of the
    // running agent's WAL (its own is locked) holds them.
    TempDir copy;
    std::filesystem::copy(net.config(f).data_dir + "/wal", copy.path() + "/wal");
    auto wal = raft::WalStorage::open(copy.path() + "/wal");
    ASSERT_TRUE(wal.ok()) << wal.error().message();
    ReplayStore probe(copy.path(), wal.storage());
    transport::Transport t = receiver();
    ASSERT_FALSE(probe.load(t).has_value());
    EXPECT_GE(t.replay_senders(), 1u);
  }
  const std::uint64_t delivered_before = net.core(f).transport().counters().messages_delivered;
  for (std::size_t i = 0; i < net.size(); ++i) net.stop(i);  // nobody sends anything new
  // The restarted process gets the whole RIB again: every frame it delivered before, plus at most the
  // heartbeat the leader announced on its last tick (announced, never delivered: legitimately new).
  net.start(f);
  net.fabric().reset_session(f);
  net.fabric().step();
  const transport::Counters& c = net.core(f).transport().counters();
  // Idle slots are withdrawn (transport.h "Slots"), so only the last few frames are still in the RIB.
  const std::uint64_t refused = c.rejected_for(transport::RejectReason::kReplay);
  EXPECT_GE(refused, 1u);
  EXPECT_LE(c.messages_delivered, 1u) << "frames delivered before the restart were delivered again";

  // Without the state (the behaviour before the windows were kept): the same frames are delivered again. The WAL
  // keeps the windows, so this takes a WAL without them: the saved one's, up to its first APP_STATE record.
  net.stop(f);
  strip_app_state(net.config(f).data_dir + "/wal");
  net.start(f);
  net.fabric().reset_session(f);
  net.fabric().step();
  EXPECT_GE(net.core(f).transport().counters().messages_delivered, refused);
  EXPECT_LE(net.core(f).transport().counters().messages_delivered, delivered_before + 1);
}

TEST(MailboxRecord, Burst_footprint_shrinks_when_idle_and_a_restart_withdraws_the_old_incarnations_routes) {
  AgentNet net(3, {1, 2, 3});
  net.start_all();
  const int lead = net.wait_leader();
  ASSERT_GE(lead, 0);
  const auto l = static_cast<std::size_t>(lead);
  for (int i = 1; i <= 30; ++i) {  // concurrent writes, each from its own client
    ClientRequest req{"kv.put",
                      {{"key", "k" + std::to_string(i)}, {"value", std::string(2000, 'v')}},
                      "c" + std::to_string(i),
                      1,
                      3000};
    net.core(l).on_client_request(std::move(req), [](const ClientResponse&) {});
  }
  net.fabric().run_until([] { return false; }, 3);  // the burst is in flight: the rings grew
  const std::size_t f = lead == 0 ? 1 : 0;
  std::size_t burst = 0;
  for (std::size_t i = 0; i < net.size(); ++i) burst += net.fabric().mailbox_rib_size(i);
  ASSERT_GT(burst, 3 * 4u);
  ASSERT_GT(net.fabric().mailbox_rib_size(f), 2u);
  // Killed in the burst: its ExaBGP keeps announcing every route it had.
  net.stop(f);
  const std::size_t left = net.fabric().mailbox_rib_size(f);
  net.settle(30);  // > slot_ttl_ticks: the others' idle slots are withdrawn, heartbeats keep a few
  for (std::size_t i = 0; i < net.size(); ++i) {
    if (i == f) continue;
    EXPECT_LE(net.fabric().mailbox_rib_size(i), 4u) << "node " << i;
  }
  EXPECT_EQ(net.fabric().mailbox_rib_size(f), left);
  net.start(f);
  net.settle(5);
  EXPECT_LE(net.fabric().mailbox_rib_size(f), 4u) << "the restarted agent withdrew its predecessor's routes";
  EXPECT_GT(net.core(f).transport().counters().withdrawals_sent, left - 4);
}

}  // namespace
}  // namespace raftbgp::agent::test
