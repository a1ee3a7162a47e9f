// Flight recorder (docs/operator-guide.md "Flight recorder"): every input that reaches this agent's
// raft::Node, and every Ready it produced, appended as protobuf Records (agent/proto/raftbgp/v1/recorder.proto)
// to <data_dir>/recorder.rec, so that raftbgp-replay can rerun them through a fresh Node and compare each
// Ready byte for byte.
//
// Who calls: AgentCore, with one line next to each node_->... call (tick, step, propose, propose_conf_change,
// read_index, transfer_leader, quiesce, ready, advance) and next to the agent's own Storage::save_snapshot
// (compaction). begin() is called right after the Node is constructed (at open, or when `debug record start`
// rebuilds it: AgentCore::record), and records the Config and the storage contents the Node read (the replay's
// starting state).
//
// File: per record [u32 length LE][u32 crc32c(payload) LE][payload]; the first record is a Start. The file
// is truncated at every begin() (one recording at a time). Bounded: once the next record would pass
// cap_bytes the recording stops (logged once, stopped() turns true) and the file keeps the prefix, which still
// replays; nothing is rotated away, because a Node's volatile state (timers, RNG, progress) cannot be
// checkpointed from outside the core, so only a recording from its start is replayable.
// Durability: a ready loop's records collect in memory and reach the file in one write(2) at its end (advance),
// so a crash of the agent loses at most the loop it was in; a torn tail is reported by the reader, not replayed.
// Cost: the records of a ready loop (step, ready, propose, read_index) are encoded by hand, straight from the
// raft objects into that buffer (recorder.cc), and checksummed with the CPU's CRC32C instruction where it has one.
// Not thread-safe (one owner, like AgentCore). All methods are no-ops when the recorder is off.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "raftbgp/raft/node.h"
#include "raftbgp/raft/storage.h"
#include "raftbgp/v1/recorder.pb.h"

namespace raftbgp::agent {

class Recorder {
 public:
  Recorder() = default;  // off
  // Microseconds for each record's at_us; steady_clock unless a test gives its own.
  using Clock = std::uint64_t (*)();
  // Records into `path` (created 0600, truncated) once begin() is called; cap_bytes > 0.
  Recorder(std::string path, std::uint64_t cap_bytes, Clock clock = nullptr);
  ~Recorder();
  Recorder(Recorder&& other) noexcept;
  Recorder& operator=(Recorder&& other) noexcept;
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  bool enabled() const { return fd_ >= 0; }
  bool stopped() const { return stopped_; }
  std::uint64_t bytes() const { return bytes_; }
  std::uint64_t records() const { return seq_; }

  void begin(const raft::Config& config, const raft::Storage& storage, std::uint64_t epoch);
  void tick();
  void step(const raft::Message& m);
  void propose(std::string_view data);
  void propose_conf_change(const raftbgp::v1::ConfChange& cc);
  void read_index(std::string_view context);
  void transfer_leader(raft::NodeId target);
  void quiesce();
  void ready(const raft::Ready& rd);
  void advance();
  void save_snapshot(const raft::Snapshot& snap);

 private:
  // Room for the next record (seq_ + 1) with a payload of exactly `payload_bytes`, after its header, in pending_;
  // nullptr if off, stopped, or the record would pass the cap (which stops the recording).
  char* reserve(std::size_t payload_bytes);
  // The payload written at `payload` ends at `end`: fills the record's header (length, CRC).
  void commit(const char* payload, const char* end);
  // A Record with seq and the fields `fields` writes: called with a size counter, then with the writer
  // (recorder.cc), so that the sizing and the writing of a record cannot drift apart.
  template <class Fields>
  void write_fields(const Fields& fields);
  void write(raftbgp::v1::Record& r);
  void write_bytes(int field, std::string_view data);  // a Record with seq and one bytes field
  void flush();                                        // pending_ to the file
  void close();

  std::string path_;
  std::uint64_t cap_ = 0;
  Clock clock_ = nullptr;
  int fd_ = -1;
  std::uint64_t seq_ = 0;
  std::uint64_t bytes_ = 0;  // written or pending
  bool stopped_ = false;
  std::string pending_;  // framed records not yet written (reused)
};

// Conversions shared with raftbgp-replay (recorder/): the record form of a Config and of a Ready.
raftbgp::v1::RecConfig to_record(const raft::Config& c);
raft::Config from_record(const raftbgp::v1::RecConfig& c);
raftbgp::v1::RecReady to_record(const raft::Ready& rd);

// Reads every record of a recording. Error (one line, naming the byte offset) on a truncated or corrupt
// record; `records` then holds the valid prefix.
struct RecordingReadResult {
  std::vector<raftbgp::v1::Record> records;
  std::optional<std::string> error;
};
RecordingReadResult read_recording(const std::string& path);

}  // namespace raftbgp::agent
