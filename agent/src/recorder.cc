// Flight recorder: see recorder.h for the contract and the file format.
#include "raftbgp/agent/recorder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "raftbgp/agent/files.h"
#include "raftbgp/agent/log.h"
#include "raftbgp/raft/crc32c.h"

namespace raftbgp::agent {

namespace {

constexpr std::size_t kHeaderBytes = 8;  // u32 length + u32 crc32c

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint32_t get_u32(const std::string& in, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= std::uint32_t{static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)])} << (8 * i);
  return v;
}

}  // namespace

Recorder::Recorder(std::string path, std::uint64_t cap_bytes) : path_(std::move(path)), cap_(cap_bytes) {}

Recorder::~Recorder() { close(); }

Recorder::Recorder(Recorder&& other) noexcept { *this = std::move(other); }

Recorder& Recorder::operator=(Recorder&& other) noexcept {
  if (this == &other) return *this;
  close();
  path_ = std::move(other.path_);
  cap_ = other.cap_;
  file_ = std::exchange(other.file_, nullptr);
  seq_ = other.seq_;
  bytes_ = other.bytes_;
  stopped_ = other.stopped_;
  return *this;
}

void Recorder::close() {
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
}

void Recorder::begin(const raft::Config& config, const raft::Storage& storage, std::uint64_t epoch) {
  if (path_.empty() || cap_ == 0) return;
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || (file_ = ::fdopen(fd, "wb")) == nullptr) {
    LOG_WARN("recorder: cannot open " + path_ + ": " + std::strerror(errno) + " (recording off)");
    if (fd >= 0) ::close(fd);
    return;
  }
  v1::Record r;
  v1::RecStart* s = r.mutable_start();
  *s->mutable_config() = to_record(config);
  *s->mutable_hard_state() = storage.hard_state();
  *s->mutable_snapshot_meta() = storage.snapshot_metadata();
  if (std::optional<raft::Snapshot> snap = storage.snapshot()) {
    s->set_has_snapshot(true);
    s->set_snapshot_data(snap->data);
  }
  if (storage.last_index() >= storage.first_index())
    for (raft::Entry& e : storage.entries(storage.first_index(), storage.last_index() + 1, ~std::uint64_t{0}))
      *s->add_entries() = std::move(e);
  s->set_node_id(config.id);
  s->set_epoch(epoch);
  write(r);
}

void Recorder::write(v1::Record& r) {
  if (file_ == nullptr || stopped_) return;
  r.set_seq(++seq_);
  buf_.clear();
  r.SerializeToString(&buf_);
  if (bytes_ + kHeaderBytes + buf_.size() > cap_) {
    stopped_ = true;
    std::fflush(file_);
    LOG_WARN("recorder: " + path_ + " reached its cap of " + std::to_string(cap_) + " bytes after " +
             std::to_string(seq_ - 1) + " records; recording stopped");
    return;
  }
  std::string header;
  put_u32(header, static_cast<std::uint32_t>(buf_.size()));
  put_u32(header, raft::crc32c(buf_));
  if (std::fwrite(header.data(), 1, header.size(), file_) != header.size() ||
      std::fwrite(buf_.data(), 1, buf_.size(), file_) != buf_.size()) {
    stopped_ = true;
    LOG_WARN("recorder: writing " + path_ + " failed: " + std::strerror(errno) + "; recording stopped");
    return;
  }
  bytes_ += kHeaderBytes + buf_.size();
}

void Recorder::tick() {
  if (!enabled()) return;
  v1::Record r;
  r.set_tick(true);
  write(r);
}

void Recorder::step(const raft::Message& m) {
  if (!enabled()) return;
  v1::Record r;
  *r.mutable_step() = m;
  write(r);
}

void Recorder::propose(std::string_view data) {
  if (!enabled()) return;
  v1::Record r;
  r.set_propose(std::string(data));
  write(r);
}

void Recorder::propose_conf_change(const v1::ConfChange& cc) {
  if (!enabled()) return;
  v1::Record r;
  *r.mutable_propose_conf_change() = cc;
  write(r);
}

void Recorder::read_index(std::string_view context) {
  if (!enabled()) return;
  v1::Record r;
  r.set_read_index(std::string(context));
  write(r);
}

void Recorder::transfer_leader(raft::NodeId target) {
  if (!enabled()) return;
  v1::Record r;
  r.set_transfer_leader(target);
  write(r);
}

void Recorder::quiesce() {
  if (!enabled()) return;
  v1::Record r;
  r.set_quiesce(true);
  write(r);
}

void Recorder::ready(const raft::Ready& rd) {
  if (!enabled()) return;
  v1::Record r;
  *r.mutable_ready() = to_record(rd);
  write(r);
}

void Recorder::advance() {
  if (!enabled()) return;
  v1::Record r;
  r.set_advance(true);
  write(r);
  std::fflush(file_);
}

void Recorder::save_snapshot(const raft::Snapshot& snap) {
  if (!enabled()) return;
  v1::Record r;
  *r.mutable_save_snapshot_meta() = snap.meta;
  r.set_save_snapshot_data(snap.data);
  write(r);
}

v1::RecConfig to_record(const raft::Config& c) {
  v1::RecConfig r;
  r.set_id(c.id);
  for (raft::NodeId v : c.voters) r.add_voters(v);
  for (raft::NodeId l : c.learners) r.add_learners(l);
  r.set_election_ticks(c.election_ticks);
  r.set_heartbeat_ticks(c.heartbeat_ticks);
  r.set_seed(c.seed);
  r.set_max_msg_bytes(c.max_msg_bytes);
  r.set_max_inflight_msgs(c.max_inflight_msgs);
  r.set_max_inflight_bytes(c.max_inflight_bytes);
  r.set_pre_vote(c.pre_vote);
  r.set_check_quorum(c.check_quorum);
  r.set_applied(c.applied);
  return r;
}

raft::Config from_record(const v1::RecConfig& r) {
  raft::Config c;
  c.id = r.id();
  c.voters.assign(r.voters().begin(), r.voters().end());
  c.learners.assign(r.learners().begin(), r.learners().end());
  c.election_ticks = r.election_ticks();
  c.heartbeat_ticks = r.heartbeat_ticks();
  c.seed = r.seed();
  c.max_msg_bytes = r.max_msg_bytes();
  c.max_inflight_msgs = r.max_inflight_msgs();
  c.max_inflight_bytes = r.max_inflight_bytes();
  c.pre_vote = r.pre_vote();
  c.check_quorum = r.check_quorum();
  c.applied = r.applied();
  return c;
}

v1::RecReady to_record(const raft::Ready& rd) {
  v1::RecReady r;
  if (rd.hard_state) {
    *r.mutable_hard_state() = *rd.hard_state;
  }
  for (const raft::Entry& e : rd.entries) *r.add_entries() = e;
  for (const raft::Message& m : rd.messages) *r.add_messages() = m;
  for (const raft::Entry& e : rd.committed_entries) *r.add_committed_entries() = e;
  if (rd.soft_state) {
    r.set_soft_state_set(true);
    r.set_soft_leader(rd.soft_state->first);
    r.set_soft_role(static_cast<std::uint32_t>(rd.soft_state->second));
  }
  for (const raft::ReadState& s : rd.read_states) {
    v1::RecReadState* out = r.add_read_states();
    out->set_index(s.index);
    out->set_context(s.context);
    out->set_refused(s.refused);
  }
  if (rd.snapshot) {
    *r.mutable_snapshot_meta() = rd.snapshot->meta;
    r.set_snapshot_data(rd.snapshot->data);
  }
  return r;
}

RecordingReadResult read_recording(const std::string& path) {
  RecordingReadResult out;
  auto file = read_file(path);
  if (auto* e = std::get_if<FileError>(&file)) {
    out.error = e->message;
    return out;
  }
  if (!std::get<0>(file)) {
    out.error = path + ": no such file";
    return out;
  }
  const std::string& data = *std::get<0>(file);
  std::size_t at = 0;
  while (at < data.size()) {
    const std::string where =
        path + ": record " + std::to_string(out.records.size() + 1) + " at byte " + std::to_string(at);
    if (data.size() - at < kHeaderBytes) {
      out.error = where + ": truncated header (" + std::to_string(data.size() - at) + " bytes left)";
      return out;
    }
    const std::uint32_t len = get_u32(data, at), crc = get_u32(data, at + 4);
    if (data.size() - at - kHeaderBytes < len) {
      out.error = where + ": truncated record (length " + std::to_string(len) + ", " +
                  std::to_string(data.size() - at - kHeaderBytes) + " bytes left)";
      return out;
    }
    const std::string_view payload(data.data() + at + kHeaderBytes, len);
    if (raft::crc32c(payload) != crc) {
      out.error = where + ": checksum mismatch (corrupt record)";
      return out;
    }
    v1::Record r;
    if (!r.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      out.error = where + ": does not parse as a Record";
      return out;
    }
    if (out.records.empty() && !r.has_start()) {
      out.error = where + ": the first record is not a Start (not a recording)";
      return out;
    }
    out.records.push_back(std::move(r));
    at += kHeaderBytes + len;
  }
  if (out.records.empty()) out.error = path + ": empty recording";
  return out;
}

}  // namespace raftbgp::agent
