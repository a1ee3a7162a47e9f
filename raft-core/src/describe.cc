// describe(): see describe.h. Pure string building; no IO.
#include "raftbgp/raft/describe.h"

#include <algorithm>
#include <string_view>

namespace raftbgp::raft {
namespace {

// Payloads longer than this are shortened: a trace line stays a line even for a 64 KiB entry.
constexpr std::size_t kMaxShownBytes = 32;

// `data` in double quotes; printable ASCII as is (backslash and quote escaped), other bytes as \xNN.
std::string quoted(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  const std::size_t shown = std::min(data.size(), kMaxShownBytes);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  out += '"';
  if (shown < data.size()) out += "...(" + std::to_string(data.size()) + " bytes)";
  return out;
}

std::string id_text(NodeId id) { return id == kNoNode ? "local" : std::to_string(id); }

template <typename Ids>
std::string id_list(const Ids& ids) {
  std::string out = "[";
  for (const auto id : ids) {
    if (out.size() > 1) out += ' ';
    out += std::to_string(id);
  }
  return out + "]";
}

const char* conf_change_name(raftbgp::v1::ConfChangeType t) {
  switch (t) {
    case raftbgp::v1::CONF_ADD_LEARNER: return "AddLearner";
    case raftbgp::v1::CONF_PROMOTE: return "Promote";
    case raftbgp::v1::CONF_REMOVE: return "Remove";
    case raftbgp::v1::CONF_ADD_VOTER: return "AddVoter";
    default: return "ConfChange?";
  }
}

// Appends "\n<title>" and one indented line per item, when there are items.
template <typename Items>
void section(std::string& out, const char* title, const Items& items) {
  if (items.empty()) return;
  out += '\n';
  out += title;
  for (const auto& item : items) out += "\n  " + describe(item);
}

std::string describe_read_state(const ReadState& rs) {
  return "Index:" + std::to_string(rs.index) + " Context:" + quoted(rs.context) + (rs.refused ? " Refused" : "");
}

}  // namespace

std::string message_type_name(MessageType t) {
  switch (t) {
    case raftbgp::v1::MSG_UNKNOWN: return "MsgUnknown";
    case raftbgp::v1::MSG_HUP: return "MsgHup";
    case raftbgp::v1::MSG_BEAT: return "MsgBeat";
    case raftbgp::v1::MSG_PROP: return "MsgProp";
    case raftbgp::v1::MSG_APP: return "MsgApp";
    case raftbgp::v1::MSG_APP_RESP: return "MsgAppResp";
    case raftbgp::v1::MSG_VOTE: return "MsgVote";
    case raftbgp::v1::MSG_VOTE_RESP: return "MsgVoteResp";
    case raftbgp::v1::MSG_PRE_VOTE: return "MsgPreVote";
    case raftbgp::v1::MSG_PRE_VOTE_RESP: return "MsgPreVoteResp";
    case raftbgp::v1::MSG_HEARTBEAT: return "MsgHeartbeat";
    case raftbgp::v1::MSG_HEARTBEAT_RESP: return "MsgHeartbeatResp";
    case raftbgp::v1::MSG_SNAP: return "MsgSnap";
    case raftbgp::v1::MSG_SNAP_RESP: return "MsgSnapResp";
    case raftbgp::v1::MSG_TIMEOUT_NOW: return "MsgTimeoutNow";
    case raftbgp::v1::MSG_READ_INDEX: return "MsgReadIndex";
    case raftbgp::v1::MSG_READ_INDEX_RESP: return "MsgReadIndexResp";
    case raftbgp::v1::MSG_CHECK_QUORUM: return "MsgCheckQuorum";
    case raftbgp::v1::MSG_FORWARD: return "MsgForward";
    case raftbgp::v1::MSG_FORWARD_RESP: return "MsgForwardResp";
    default: return "MsgType(" + std::to_string(static_cast<int>(t)) + ")";
  }
}

std::string describe(const Entry& e) {
  std::string out = std::to_string(e.term()) + "/" + std::to_string(e.index());
  if (e.type() == raftbgp::v1::ENTRY_CONF_CHANGE) {
    raftbgp::v1::ConfChange cc;
    if (!cc.ParseFromString(e.data())) return out + " EntryConfChange (unparsable " + quoted(e.data()) + ")";
    return out + " EntryConfChange " + conf_change_name(cc.type()) + " " + std::to_string(cc.node_id());
  }
  if (e.type() != raftbgp::v1::ENTRY_NORMAL) {
    return out + " EntryType(" + std::to_string(static_cast<int>(e.type())) + ") " + quoted(e.data());
  }
  return out + " EntryNormal " + quoted(e.data());
}

std::string describe(const HardState& hs) {
  return "Term:" + std::to_string(hs.term()) + " Vote:" + std::to_string(hs.vote()) +
         " Commit:" + std::to_string(hs.commit());
}

std::string describe(const SnapshotMetadata& meta) {
  return "Index:" + std::to_string(meta.index()) + " Term:" + std::to_string(meta.term()) +
         " Voters:" + id_list(meta.conf_state().voters()) + " Learners:" + id_list(meta.conf_state().learners());
}

std::string describe(const Message& m) {
  std::string out = id_text(m.from()) + "->" + id_text(m.to()) + " " + message_type_name(m.type()) +
                    " Term:" + std::to_string(m.term()) + " Log:" + std::to_string(m.log_term()) + "/" +
                    std::to_string(m.index());
  if (m.reject()) out += " Rejected (Hint: " + std::to_string(m.reject_hint()) + ")";
  if (m.commit() != 0) out += " Commit:" + std::to_string(m.commit());
  if (m.commit_only()) out += " CommitOnly";
  if (m.entries_size() > 0) {
    out += " Entries:[";
    for (int i = 0; i < m.entries_size(); ++i) out += (i == 0 ? "" : ", ") + describe(m.entries(i));
    out += "]";
  }
  if (m.has_snapshot()) {
    out += " Snapshot:{" + describe(m.snapshot()) + "} Offset:" + std::to_string(m.snapshot_offset()) +
           " Bytes:" + std::to_string(m.snapshot_data().size());
    if (m.snapshot_done()) out += " Done";
  } else if (m.snapshot_offset() != 0) {
    out += " Offset:" + std::to_string(m.snapshot_offset());  // a chunk's acknowledgement
  }
  if (!m.context().empty()) out += " Context:" + quoted(m.context());
  return out;
}

std::string describe(const Ready& rd) {
  std::string out;
  if (rd.hard_state) out += "\nHardState " + describe(*rd.hard_state);
  if (rd.soft_state) {
    out += "\nSoftState Lead:" + std::to_string(rd.soft_state->first) + " State:" + role_name(rd.soft_state->second);
  }
  if (rd.snapshot) {
    out += "\nSnapshot " + describe(rd.snapshot->meta) + " Data:" + quoted(rd.snapshot->data);
  }
  section(out, "Entries:", rd.entries);
  section(out, "CommittedEntries:", rd.committed_entries);
  section(out, "Messages:", rd.messages);
  if (!rd.read_states.empty()) {
    out += "\nReadStates:";
    for (const ReadState& rs : rd.read_states) out += "\n  " + describe_read_state(rs);
  }
  return out.empty() ? "(empty Ready)" : out.substr(1);
}

}  // namespace raftbgp::raft
