// Deterministic replay of a flight recording: see replay.h.
#include "raftbgp/recorder/replay.h"

#include <google/protobuf/util/message_differencer.h>

#include <deque>
#include <memory>

#include "raftbgp/agent/recorder.h"
#include "raftbgp/raft/describe.h"
#include "raftbgp/raft/memory_storage.h"

namespace raftbgp::recorder {

namespace {

using raftbgp::v1::Record;

// What the live WalStorage held when the Node was built.
void load_start(const raftbgp::v1::RecStart& s, raft::MemoryStorage& storage) {
  if (s.has_snapshot()) storage.save_snapshot(raft::Snapshot{s.snapshot_meta(), s.snapshot_data()});
  std::vector<raft::Entry> entries(s.entries().begin(), s.entries().end());
  if (!entries.empty()) storage.store(entries);
  storage.save_hard_state(s.hard_state());
  storage.sync();
}

std::string ready_text(const raftbgp::v1::RecReady& r) {
  raft::Ready rd;
  if (r.has_hard_state()) rd.hard_state = r.hard_state();
  rd.entries.assign(r.entries().begin(), r.entries().end());
  rd.messages.assign(r.messages().begin(), r.messages().end());
  rd.committed_entries.assign(r.committed_entries().begin(), r.committed_entries().end());
  if (r.soft_state_set()) rd.soft_state = {r.soft_leader(), static_cast<raft::Role>(r.soft_role())};
  for (const auto& s : r.read_states()) rd.read_states.push_back({s.index(), s.context(), s.refused()});
  if (r.has_snapshot_meta()) rd.snapshot = raft::Snapshot{r.snapshot_meta(), r.snapshot_data()};
  return raft::describe(rd);
}

std::string differences(const raftbgp::v1::RecReady& recorded, const raftbgp::v1::RecReady& replayed) {
  std::string report;
  google::protobuf::util::MessageDifferencer d;
  d.ReportDifferencesToString(&report);
  if (d.Compare(recorded, replayed)) return "same fields, different bytes";
  return report.size() > 2000 ? report.substr(0, 2000) + "..." : report;
}

std::string state_text(const raft::Node& node) {
  const raft::Status st = node.status();
  return std::string("  node: ") + raft::role_name(st.role) + " term " + std::to_string(st.term) + " leader " +
         std::to_string(st.leader) + " commit " + std::to_string(st.commit) + " log " + std::to_string(st.first_index) +
         ".." + std::to_string(st.last_index);
}

}  // namespace

const char* record_kind(const Record& r) {
  switch (r.kind_case()) {
    case Record::kStart: return "start";
    case Record::kTick: return "tick";
    case Record::kStep: return "step";
    case Record::kPropose: return "propose";
    case Record::kProposeConfChange: return "propose_conf_change";
    case Record::kReadIndex: return "read_index";
    case Record::kTransferLeader: return "transfer_leader";
    case Record::kQuiesce: return "quiesce";
    case Record::kReady: return "ready";
    case Record::kAdvance: return "advance";
    case Record::kSaveSnapshotMeta: return "save_snapshot";
    case Record::KIND_NOT_SET: break;
  }
  return "unknown";
}

std::string describe_record(const Record& r) {
  const std::string head = "#" + std::to_string(r.seq()) + " " + record_kind(r);
  switch (r.kind_case()) {
    case Record::kStart:
      return head + " node " + std::to_string(r.start().node_id()) + " epoch " + std::to_string(r.start().epoch()) +
             " log " + std::to_string(r.start().entries_size()) + " entries, " + raft::describe(r.start().hard_state());
    case Record::kStep: return head + " " + raft::describe(r.step());
    case Record::kPropose: return head + " " + std::to_string(r.propose().size()) + " bytes";
    case Record::kProposeConfChange: return head + " " + r.propose_conf_change().ShortDebugString();
    case Record::kReadIndex: return head + " " + r.read_index();
    case Record::kTransferLeader: return head + " " + std::to_string(r.transfer_leader());
    case Record::kReady: return head + " " + ready_text(r.ready());
    case Record::kSaveSnapshotMeta: return head + " " + raft::describe(r.save_snapshot_meta());
    case Record::KIND_NOT_SET: return "#" + std::to_string(r.seq()) + " (unknown record kind)";
    default: return head;  // tick, quiesce, advance: the kind says it all
  }
}

ReplayResult replay(const std::vector<Record>& records, const ReplayOptions& options) {
  ReplayResult out;
  if (records.empty() || !records.front().has_start()) {
    out.error = "the recording does not begin with a Start record";
    return out;
  }
  raft::MemoryStorage storage;
  load_start(records.front().start(), storage);
  raft::Config config = agent::from_record(records.front().start().config());
  if (options.mutate_config) options.mutate_config(config);
  raft::Node node(config, storage);
  std::optional<raft::Ready> pending;  // handed out, not yet advanced
  std::deque<std::string> context;
  for (const Record& r : records) {
    if (options.until != 0 && r.seq() > options.until) break;
    ++out.records;
    if (options.trace != nullptr) *options.trace << describe_record(r) << "\n";
    switch (r.kind_case()) {
      case Record::kStart:
        if (&r != &records.front()) out.error = "record #" + std::to_string(r.seq()) + ": a second Start record";
        break;
      case Record::kTick: node.tick(); break;
      case Record::kStep: (void)node.step(r.step()); break;
      case Record::kPropose: (void)node.propose(r.propose()); break;
      case Record::kProposeConfChange: (void)node.propose_conf_change(r.propose_conf_change()); break;
      case Record::kReadIndex: (void)node.read_index(r.read_index()); break;
      case Record::kTransferLeader: (void)node.transfer_leader(r.transfer_leader()); break;
      case Record::kQuiesce: (void)node.quiesce(); break;
      case Record::kSaveSnapshotMeta:
        storage.save_snapshot(raft::Snapshot{r.save_snapshot_meta(), r.save_snapshot_data()});
        break;
      case Record::kReady: {
        if (pending) {
          out.error = "record #" + std::to_string(r.seq()) + ": a Ready before the previous one was advanced";
          break;
        }
        raftbgp::v1::RecReady replayed;
        if (node.has_ready()) {
          pending = node.ready();
          replayed = agent::to_record(*pending);
        }
        if (replayed.SerializeAsString() != r.ready().SerializeAsString()) {
          Divergence d;
          d.seq = r.seq();
          d.difference =
              node.has_ready() || pending ? differences(r.ready(), replayed) : "the replayed node has no Ready";
          d.recorded = ready_text(r.ready());
          d.replayed = ready_text(replayed);
          d.context.assign(context.begin(), context.end());
          out.divergence = std::move(d);
          return out;
        }
        raft::persist(storage, pending->snapshot, pending->hard_state, pending->entries);
        ++out.readies;
        if (options.trace != nullptr) *options.trace << state_text(node) << "\n";
        break;
      }
      case Record::kAdvance:
        if (!pending) {
          out.error = "record #" + std::to_string(r.seq()) + ": advance without a Ready";
          break;
        }
        node.advance(*pending);
        pending.reset();
        break;
      case Record::KIND_NOT_SET: out.error = "record #" + std::to_string(r.seq()) + ": unknown kind"; break;
    }
    if (out.error) return out;
    if (!r.has_ready()) {
      context.push_back(describe_record(r));
      if (context.size() > options.context_records) context.pop_front();
    }
  }
  return out;
}

}  // namespace raftbgp::recorder
