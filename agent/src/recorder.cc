// Flight recorder: see recorder.h for the contract and the file format.
#include "raftbgp/agent/recorder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <type_traits>
#include <utility>

#include "raftbgp/agent/files.h"
#include "raftbgp/agent/log.h"
#include "raftbgp/raft/crc32c.h"

namespace raftbgp::agent {

namespace {

constexpr std::size_t kHeaderBytes = 8;  // u32 length + u32 crc32c
// After a flush the pending buffer keeps its capacity for the next loop, unless a large record (a snapshot) grew
// it past this.
constexpr std::size_t kKeepCapacity = std::size_t{4} << 20;

void put_u32(char* out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

std::uint32_t get_u32(const std::string& in, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= std::uint32_t{static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)])} << (8 * i);
  return v;
}

// CRC32C of a record's payload: raft::crc32c, with the CPU's crc32 instruction where it has one (SSE4.2; the
// same polynomial, initial value and final inversion, so the reader's raft::crc32c checks it).
#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(const char* p, std::size_t n) {
  std::uint64_t c = 0xFFFFFFFFu;
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t v = 0;
    std::memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
  }
  auto c32 = static_cast<std::uint32_t>(c);
  for (; n > 0; --n, ++p) c32 = __builtin_ia32_crc32qi(c32, static_cast<unsigned char>(*p));
  return ~c32;
}
#endif

std::uint32_t record_crc32c(std::string_view payload) {
#if defined(__x86_64__)
  static const bool hw = __builtin_cpu_supports("sse4.2") != 0;
  if (hw) return crc32c_sse42(payload.data(), payload.size());
#endif
  return raft::crc32c(payload);
}

// Protocol buffers' wire format, written by hand for the records of every ready loop (step, ready, propose,
// read_index), straight from the raft objects into the file buffer: building a v1::Record first would copy every
// entry and message (an allocation each) only to serialize the copy. The fields go out in field-number order, as
// protobuf's own serializer writes them, so the bytes are exactly SerializeAsString() of the Record that
// to_record() would build (tests/recorder: Hand_encoded_records_are_protobufs_own_serialization).
constexpr std::uint8_t kVarint = 0, kLen = 2;

std::size_t varint_size(std::uint64_t v) {
  std::size_t n = 1;
  for (; v >= 0x80; v >>= 7) ++n;
  return n;
}

// Counts the bytes that Put below writes for the same calls. Every field number here is below 16: one tag byte.
struct Size {
  std::size_t n = 0;
  void varint_field(int /*field*/, std::uint64_t v) { n += 1 + varint_size(v); }
  void bytes_field(int /*field*/, std::string_view b) { n += 1 + varint_size(b.size()) + b.size(); }
  // Caches m's size (and its submessages'), which Put::message_field then relies on.
  void message_field(int /*field*/, const google::protobuf::MessageLite& m) {
    const std::size_t len = m.ByteSizeLong();
    n += 1 + varint_size(len) + len;
  }
  void length_field(int /*field*/, std::size_t len) { n += 1 + varint_size(len); }  // its payload follows
};

struct Put {
  char* p;
  void tag(int field, std::uint8_t wire) { *p++ = static_cast<char>((field << 3) | wire); }
  void varint(std::uint64_t v) {
    for (; v >= 0x80; v >>= 7) *p++ = static_cast<char>((v & 0x7f) | 0x80);
    *p++ = static_cast<char>(v);
  }
  void varint_field(int field, std::uint64_t v) {
    tag(field, kVarint);
    varint(v);
  }
  void bytes_field(int field, std::string_view b) {
    length_field(field, b.size());
    std::memcpy(p, b.data(), b.size());
    p += b.size();
  }
  void message_field(int field, const google::protobuf::MessageLite& m) {
    const auto len = static_cast<std::size_t>(m.GetCachedSize());
    length_field(field, len);
    p = reinterpret_cast<char*>(m.SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(p)));
  }
  void length_field(int field, std::size_t len) {
    tag(field, kLen);
    varint(len);
  }
};

// v1::RecReadState.
template <class Out>
void read_state_fields(Out& o, const raft::ReadState& s) {
  if (s.index != 0) o.varint_field(1, s.index);
  if (!s.context.empty()) o.bytes_field(2, s.context);
  if (s.refused) o.varint_field(3, 1);
}

std::size_t read_state_size(const raft::ReadState& s) {
  Size n;
  read_state_fields(n, s);
  return n.n;
}

// v1::RecReady, as to_record(rd) fills it (proto3: zero scalars and empty bytes are not written).
template <class Out>
void ready_fields(Out& o, const raft::Ready& rd) {
  if (rd.hard_state) o.message_field(2, *rd.hard_state);
  for (const raft::Entry& e : rd.entries) o.message_field(3, e);
  for (const raft::Message& m : rd.messages) o.message_field(4, m);
  for (const raft::Entry& e : rd.committed_entries) o.message_field(5, e);
  if (rd.soft_state) {
    o.varint_field(6, 1);
    if (rd.soft_state->first != 0) o.varint_field(7, rd.soft_state->first);
    if (const auto role = static_cast<std::uint32_t>(rd.soft_state->second); role != 0) o.varint_field(8, role);
  }
  for (const raft::ReadState& s : rd.read_states) {
    o.length_field(9, read_state_size(s));
    read_state_fields(o, s);
  }
  if (rd.snapshot) {
    o.message_field(11, rd.snapshot->meta);
    if (!rd.snapshot->data.empty()) o.bytes_field(12, rd.snapshot->data);
  }
  if (rd.send_before_persist) o.varint_field(13, 1);
}

// v1::Record field numbers of the kinds written by hand, and of the time every record carries.
constexpr int kSeq = 1, kStep = 4, kPropose = 5, kReadIndex = 7, kReady = 10, kAtUs = 15;

std::uint64_t steady_us() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

}  // namespace

Recorder::Recorder(std::string path, std::uint64_t cap_bytes, Clock clock)
    : path_(std::move(path)), cap_(cap_bytes), clock_(clock != nullptr ? clock : steady_us) {}

Recorder::~Recorder() { close(); }

Recorder::Recorder(Recorder&& other) noexcept { *this = std::move(other); }

Recorder& Recorder::operator=(Recorder&& other) noexcept {
  if (this == &other) return *this;
  close();
  path_ = std::move(other.path_);
  cap_ = other.cap_;
  clock_ = other.clock_;
  fd_ = std::exchange(other.fd_, -1);
  seq_ = other.seq_;
  bytes_ = other.bytes_;
  stopped_ = other.stopped_;
  pending_ = std::move(other.pending_);
  other.pending_.clear();
  return *this;
}

void Recorder::close() {
  if (fd_ < 0) return;
  flush();
  ::close(fd_);
  fd_ = -1;
}

void Recorder::flush() {
  std::size_t done = 0;
  while (done < pending_.size()) {
    const ssize_t n = ::write(fd_, pending_.data() + done, pending_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (!stopped_)
        LOG_WARN("recorder: writing " + path_ + " failed: " + std::strerror(n < 0 ? errno : EIO) +
                 "; recording stopped");
      stopped_ = true;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  pending_.clear();
  if (pending_.capacity() > kKeepCapacity) std::string().swap(pending_);
}

void Recorder::begin(const raft::Config& config, const raft::Storage& storage, std::uint64_t epoch) {
  if (path_.empty() || cap_ == 0) return;
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    LOG_WARN("recorder: cannot open " + path_ + ": " + std::strerror(errno) + " (recording off)");
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

char* Recorder::reserve(std::size_t payload_bytes) {
  if (fd_ < 0 || stopped_) return nullptr;
  ++seq_;
  if (bytes_ + kHeaderBytes + payload_bytes > cap_) {
    stopped_ = true;
    flush();
    LOG_WARN("recorder: " + path_ + " reached its cap of " + std::to_string(cap_) + " bytes after " +
             std::to_string(seq_ - 1) + " records; recording stopped");
    return nullptr;
  }
  // The header is filled by commit(), once the payload is in place.
  pending_.resize(pending_.size() + kHeaderBytes + payload_bytes);
  bytes_ += kHeaderBytes + payload_bytes;
  return pending_.data() + pending_.size() - payload_bytes;
}

void Recorder::commit(const char* payload, const char* end) {
  const auto len = static_cast<std::size_t>(pending_.data() + pending_.size() - payload);
  if (static_cast<std::size_t>(end - payload) != len) {
    // The sizing and the writing of a hand-encoded record disagree: a bug here, never the input's fault.
    LOG_ERROR("recorder: record " + std::to_string(seq_) + " encoded to " + std::to_string(end - payload) +
              " bytes, sized " + std::to_string(len) + "; recording stopped");
    pending_.resize(pending_.size() - len - kHeaderBytes);
    bytes_ -= len + kHeaderBytes;
    stopped_ = true;
    flush();
    return;
  }
  char* header = pending_.data() + pending_.size() - len - kHeaderBytes;
  put_u32(header, static_cast<std::uint32_t>(len));
  put_u32(header + 4, record_crc32c(std::string_view(payload, len)));
}

void Recorder::write(v1::Record& r) {
  if (fd_ < 0 || stopped_) return;
  r.set_seq(seq_ + 1);
  r.set_at_us(clock_());
  char* p = reserve(r.ByteSizeLong());
  if (p == nullptr) return;
  commit(p, reinterpret_cast<char*>(r.SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(p))));
}

template <class Fields>
void Recorder::write_fields(const Fields& fields) {
  const std::uint64_t at = clock_();
  Size n;
  n.varint_field(kSeq, seq_ + 1);
  fields(n);
  if (at != 0) n.varint_field(kAtUs, at);
  char* p = reserve(n.n);
  if (p == nullptr) return;
  Put o{p};
  o.varint_field(kSeq, seq_);
  fields(o);
  if (at != 0) o.varint_field(kAtUs, at);
  commit(p, o.p);
}

void Recorder::write_bytes(int field, std::string_view data) {
  write_fields([&](auto& o) { o.bytes_field(field, data); });
}

void Recorder::tick() {
  if (!enabled()) return;
  v1::Record r;
  r.set_tick(true);
  write(r);
}

void Recorder::step(const raft::Message& m) {
  if (!enabled() || stopped_) return;
  write_fields([&](auto& o) { o.message_field(kStep, m); });
}

void Recorder::propose(std::string_view data) {
  if (!enabled() || stopped_) return;
  write_bytes(kPropose, data);
}

void Recorder::propose_conf_change(const v1::ConfChange& cc) {
  if (!enabled()) return;
  v1::Record r;
  *r.mutable_propose_conf_change() = cc;
  write(r);
}

void Recorder::read_index(std::string_view context) {
  if (!enabled() || stopped_) return;
  write_bytes(kReadIndex, context);
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
  if (!enabled() || stopped_) return;
  Size inner;  // sized once: the walk over every entry and message is the costly part
  ready_fields(inner, rd);
  write_fields([&](auto& o) {
    o.length_field(kReady, inner.n);
    if constexpr (std::is_same_v<std::decay_t<decltype(o)>, Size>)
      o.n += inner.n;
    else
      ready_fields(o, rd);
  });
}

void Recorder::advance() {
  if (!enabled()) return;
  v1::Record r;
  r.set_advance(true);
  write(r);
  flush();
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
  r.set_send_before_persist(rd.send_before_persist);
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
    if (raft::crc32c(payload) != crc) {  // the portable CRC: it checks the writer's
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
