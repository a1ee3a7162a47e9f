// Datadriven Raft scripts: every tests/raft-core/testdata/*.txt is one GoogleTest. Each command drives a
// small cluster of Nodes over MemoryStorage (no clock, no threads: time is `tick`) and prints what
// happened with describe() (raftbgp/raft/describe.h); the output must equal the expected text below the
// command (format: datadriven.h). RAFTBGP_REWRITE=1 ctest -R Datadriven regenerates the expected text.
//
// Commands (ids are node ids; `ids...` means the given nodes, or every node when none is given):
//   add-nodes N voters=(1,2,3) [learners=(..)] [pre-vote=false] [check-quorum=false] [max-msg-bytes=B]
//   campaign ID                       start an election now
//   tick ID [N]                       N ticks (default 1) on node ID; prints its role afterwards
//   propose ID DATA                   propose DATA on ID; prints the ProposeResult
//   transfer-leadership from=ID to=ID
//   process-ready [ids...]            hand out, persist, apply and advance one Ready per node
//   deliver-msgs [ids...] [drop=(ids)] step queued messages addressed to ids (drop: discard them instead)
//   stabilize [ids...]                process-ready and deliver-msgs until nothing moves
//   status ID                         role, term, commit; the leader's view of every peer
//   log ID                            the entries in ID's storage
//   compact ID                        snapshot ID's state machine at its applied index (log compaction)
//   restart ID                        crash (un-synced writes lost) and restart ID over its storage
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "datadriven.h"
#include "raftbgp/raft/describe.h"
#include "raftbgp/raft/memory_storage.h"
#include "raftbgp/raft/node.h"

namespace raftbgp::raft {
namespace {

namespace dd = raftbgp::datadriven;

struct ScriptError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

NodeId to_id(const std::string& s) {
  try {
    std::size_t used = 0;
    const unsigned long long v = std::stoull(s, &used);
    if (used == s.size() && v != 0) return v;
  } catch (const std::exception&) {
  }
  throw ScriptError("not a node id: \"" + s + "\"");
}

std::vector<NodeId> to_ids(const std::vector<std::string>& v) {
  std::vector<NodeId> out;
  for (const std::string& s : v) out.push_back(to_id(s));
  return out;
}

std::string indent(const std::string& text) {
  std::string out = "  ";
  for (char c : text) out += c == '\n' ? std::string("\n  ") : std::string(1, c);
  return out;
}

const char* propose_status_name(ProposeResult::Status s) {
  switch (s) {
    case ProposeResult::Status::kAccepted: return "accepted";
    case ProposeResult::Status::kNotLeader: return "not-leader";
    case ProposeResult::Status::kTooLarge: return "too-large";
    case ProposeResult::Status::kTransferring: return "transferring";
    case ProposeResult::Status::kConfChangePending: return "conf-change-pending";
    case ProposeResult::Status::kNotReady: return "not-ready";
    case ProposeResult::Status::kInvalid: return "invalid";
  }
  return "?";
}

const char* transfer_result_name(TransferResult r) {
  switch (r) {
    case TransferResult::kStarted: return "started";
    case TransferResult::kNotLeader: return "not-leader";
    case TransferResult::kNotVoter: return "not-voter";
    case TransferResult::kAlreadyLeader: return "already-leader";
  }
  return "?";
}

// One node: its durable storage, the Node over it, and a state machine that is the list of applied
// normal entries' data (the snapshot data is that list, comma-separated).
struct ScriptPeer {
  Config config;
  MemoryStorage storage;
  std::unique_ptr<Node> node;
  Index applied = 0;
  std::vector<std::string> state;
};

class Harness {
 public:
  std::string run(const dd::Command& c) {
    if (c.name == "add-nodes") return add_nodes(c);
    if (c.name == "campaign") return campaign(c);
    if (c.name == "tick") return tick(c);
    if (c.name == "propose") return propose(c);
    if (c.name == "transfer-leadership") return transfer(c);
    if (c.name == "process-ready") return process_ready(selected(c));
    if (c.name == "deliver-msgs") return deliver_msgs(c);
    if (c.name == "stabilize") return stabilize(selected(c));
    if (c.name == "status") return status(peer(arg_id(c, 0)));
    if (c.name == "log") return log(peer(arg_id(c, 0)));
    if (c.name == "compact") return compact(peer(arg_id(c, 0)));
    if (c.name == "restart") return restart(arg_id(c, 0));
    throw ScriptError("unknown command \"" + c.name + "\"");
  }

 private:
  static NodeId arg_id(const dd::Command& c, std::size_t i) {
    if (i >= c.args.size()) throw ScriptError(c.name + ": missing node id");
    return to_id(c.args[i]);
  }
  static std::string kv_or(const dd::Command& c, const std::string& key, const std::string& fallback) {
    auto it = c.kv.find(key);
    if (it == c.kv.end()) return fallback;
    if (it->second.size() != 1) throw ScriptError(c.name + ": " + key + " takes one value");
    return it->second.front();
  }
  static bool kv_bool(const dd::Command& c, const std::string& key, bool fallback) {
    const std::string v = kv_or(c, key, fallback ? "true" : "false");
    if (v != "true" && v != "false") throw ScriptError(c.name + ": " + key + " must be true or false");
    return v == "true";
  }

  ScriptPeer& peer(NodeId id) {
    auto it = peers_.find(id);
    if (it == peers_.end()) throw ScriptError("no node " + std::to_string(id));
    return *it->second;
  }
  std::vector<NodeId> selected(const dd::Command& c) {
    if (c.args.empty()) {
      std::vector<NodeId> all;
      for (const auto& [id, _] : peers_) all.push_back(id);
      return all;
    }
    std::vector<NodeId> ids = to_ids(c.args);
    for (NodeId id : ids) peer(id);
    return ids;
  }
  static std::string role_line(const Node& n) {
    return std::to_string(n.id()) + " is " + role_name(n.role()) + " at term " + std::to_string(n.term()) +
           (n.leader() != kNoNode ? ", leader " + std::to_string(n.leader()) : "");
  }

  std::string add_nodes(const dd::Command& c) {
    if (c.args.size() != 1) throw ScriptError("add-nodes N voters=(...)");
    const NodeId n = to_id(c.args[0]);
    Config base;
    auto voters = c.kv.find("voters");
    if (voters == c.kv.end()) throw ScriptError("add-nodes: voters=(...) is required");
    base.voters = to_ids(voters->second);
    if (auto l = c.kv.find("learners"); l != c.kv.end()) base.learners = to_ids(l->second);
    base.pre_vote = kv_bool(c, "pre-vote", true);
    base.check_quorum = kv_bool(c, "check-quorum", true);
    base.max_msg_bytes = std::stoull(kv_or(c, "max-msg-bytes", "65536"));
    std::string out;
    const NodeId first = peers_.empty() ? 1 : peers_.rbegin()->first + 1;
    for (NodeId id = first; id < first + n; ++id) {
      auto p = std::make_unique<ScriptPeer>();
      p->config = base;
      p->config.id = id;
      p->config.seed = id;  // deterministic, and distinct per node
      p->node = std::make_unique<Node>(p->config, p->storage);
      out += (out.empty() ? "" : "\n") + role_line(*p->node);
      peers_[id] = std::move(p);
    }
    return out;
  }

  std::string campaign(const dd::Command& c) {
    Node& n = *peer(arg_id(c, 0)).node;
    n.campaign();
    return role_line(n);
  }

  std::string tick(const dd::Command& c) {
    Node& n = *peer(arg_id(c, 0)).node;
    const int count = c.args.size() > 1 ? std::stoi(c.args[1]) : 1;
    for (int i = 0; i < count; ++i) n.tick();
    return role_line(n);
  }

  std::string propose(const dd::Command& c) {
    if (c.args.size() != 2) throw ScriptError("propose ID DATA");
    const ProposeResult r = peer(arg_id(c, 0)).node->propose(c.args[1]);
    std::string out = propose_status_name(r.status);
    if (r.status == ProposeResult::Status::kAccepted) {
      out += " index " + std::to_string(r.index) + " term " + std::to_string(r.term);
    } else if (r.status == ProposeResult::Status::kNotLeader) {
      out += " leader " + std::to_string(r.leader);
    }
    return out;
  }

  std::string transfer(const dd::Command& c) {
    Node& from = *peer(to_id(kv_or(c, "from", "0"))).node;
    return transfer_result_name(from.transfer_leader(to_id(kv_or(c, "to", "0"))));
  }

  // The driver's ready loop of node.h for one Ready: persist, queue the messages, apply, advance.
  std::string handle_ready(ScriptPeer& p) {
    Ready rd = p.node->ready();
    std::string out = "> " + std::to_string(p.config.id) + " handling Ready\n" + indent(describe(rd));
    persist(p.storage, rd.snapshot, rd.hard_state, rd.entries);
    if (rd.snapshot) restore(p, *rd.snapshot);
    for (const Message& m : rd.messages) queue_.push_back(m);
    for (const Entry& e : rd.committed_entries) {
      if (e.type() == raftbgp::v1::ENTRY_NORMAL && !e.data().empty()) p.state.push_back(e.data());
      p.applied = e.index();
    }
    p.node->advance(rd);
    return out;
  }

  static void restore(ScriptPeer& p, const Snapshot& snap) {
    p.state.clear();
    std::istringstream in(snap.data);
    for (std::string item; std::getline(in, item, ',');) p.state.push_back(item);
    p.applied = snap.meta.index();
  }

  std::string process_ready(const std::vector<NodeId>& ids) {
    std::string out;
    for (NodeId id : ids) {
      ScriptPeer& p = peer(id);
      if (p.node->has_ready()) out += (out.empty() ? "" : "\n") + handle_ready(p);
    }
    return out;
  }

  // Steps every queued message addressed to one of `ids` (in queue order), or drops it.
  std::string deliver(const std::vector<NodeId>& ids, bool drop) {
    std::string out;
    for (NodeId id : ids) {
      std::vector<Message> mine;
      auto keep = std::stable_partition(queue_.begin(), queue_.end(), [&](const Message& m) { return m.to() != id; });
      mine.assign(keep, queue_.end());
      queue_.erase(keep, queue_.end());
      if (mine.empty()) continue;
      out += (out.empty() ? "" : "\n") + std::string(drop ? "> dropping messages to " : "> ") + std::to_string(id) +
             (drop ? "" : " receiving messages");
      for (const Message& m : mine) {
        out += "\n  " + describe(m);
        if (drop || peers_.count(id) == 0) continue;
        if (std::optional<DropReason> r = peer(id).node->step(m))
          out += std::string(" DROPPED ") + drop_reason_name(*r);
      }
    }
    return out;
  }

  std::string deliver_msgs(const dd::Command& c) {
    std::string out;
    if (auto d = c.kv.find("drop"); d != c.kv.end()) out = deliver(to_ids(d->second), true);
    const std::string steps = c.args.empty() && c.kv.count("drop") ? "" : deliver(selected(c), false);
    if (!steps.empty()) out += (out.empty() ? "" : "\n") + steps;
    return out;
  }

  std::string stabilize(const std::vector<NodeId>& ids) {
    std::string out;
    for (int round = 0; round < 1000; ++round) {
      std::string step = process_ready(ids);
      const std::string delivered = deliver(ids, false);
      if (!delivered.empty()) step += (step.empty() ? "" : "\n") + delivered;
      if (step.empty()) return out;
      out += (out.empty() ? "" : "\n") + step;
    }
    throw ScriptError("stabilize: the cluster did not quiesce in 1000 rounds");
  }

  std::string status(ScriptPeer& p) {
    const Status s = p.node->status();
    std::string out = role_line(*p.node) + "; vote " + std::to_string(s.vote) + " commit " + std::to_string(s.commit) +
                      " applied " + std::to_string(p.applied) + " log " + std::to_string(s.first_index) + ".." +
                      std::to_string(s.last_index);
    for (const PeerStatus& ps : s.peers) {
      if (s.role != Role::kLeader) break;
      out += "\n  " + std::to_string(ps.id) + (ps.voter ? " voter" : " learner") + " match " +
             std::to_string(ps.match) + " next " + std::to_string(ps.next) + " " + ps.state;
    }
    out += "\n  state machine [";
    for (std::size_t i = 0; i < p.state.size(); ++i) out += (i ? " " : "") + p.state[i];
    return out + "]";
  }

  static std::string log(ScriptPeer& p) {
    std::string out = "snapshot " + describe(p.storage.snapshot_metadata());
    if (p.storage.last_index() >= p.storage.first_index()) {
      for (const Entry& e : p.storage.entries(p.storage.first_index(), p.storage.last_index() + 1, UINT64_MAX)) {
        out += "\n" + describe(e);
      }
    }
    return out;
  }

  static std::string compact(ScriptPeer& p) {
    const std::optional<SnapshotMetadata> meta = p.node->snapshot_metadata_at_applied();
    if (!meta || meta->index() <= p.storage.snapshot_metadata().index()) return "nothing to compact";
    std::string data;
    for (std::size_t i = 0; i < p.state.size(); ++i) data += (i ? "," : "") + p.state[i];
    p.storage.save_snapshot({*meta, data});
    return "compacted: snapshot " + describe(*meta);
  }

  // A crash loses what was not synced; the state machine restarts from the snapshot (entries after it
  // are committed and handed out again, from Config::applied on).
  std::string restart(NodeId id) {
    ScriptPeer& p = peer(id);
    p.storage.drop_unsynced();
    p.state.clear();
    p.applied = 0;
    if (std::optional<Snapshot> snap = p.storage.snapshot()) restore(p, *snap);
    p.config.applied = p.applied;
    p.node = std::make_unique<Node>(p.config, p.storage);
    std::erase_if(queue_, [id](const Message& m) { return m.to() == id; });
    return role_line(*p.node);
  }

  std::map<NodeId, std::unique_ptr<ScriptPeer>> peers_;
  std::vector<Message> queue_;  // sent and not yet delivered, in send order
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> script_names() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(RAFTBGP_TESTDATA_DIR)) {
    if (e.path().extension() == ".txt") out.push_back(e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(DatadrivenFormat, Script_round_trips_through_parse_and_render_when_unchanged) {
  const std::string text = "# comment\n\ncmd a k=v l=(1,2) e=()\n----\nline 1\nline 2\n\nnext\n----\n";
  const std::vector<dd::Block> blocks = dd::parse_script(text);
  ASSERT_EQ(blocks.size(), 4u);
  const dd::Command& c = blocks[1].command;
  EXPECT_EQ(c.name, "cmd");
  EXPECT_EQ(c.args, std::vector<std::string>{"a"});
  EXPECT_EQ(c.kv.at("l"), (std::vector<std::string>{"1", "2"}));
  EXPECT_TRUE(c.kv.at("e").empty());
  EXPECT_EQ(c.line_no, 3);
  EXPECT_EQ(blocks[1].expected, "line 1\nline 2");
  EXPECT_EQ(blocks[3].expected, "");
  EXPECT_EQ(dd::render_script(blocks), text);
}

TEST(DatadrivenFormat, Parse_reports_the_line_when_a_command_lacks_its_separator_or_a_list_is_unclosed) {
  EXPECT_THROW(dd::parse_script("cmd\nno separator\n"), std::invalid_argument);
  try {
    dd::parse_script("# c\ncmd x=(1,2\n----\n");
    ADD_FAILURE() << "an unclosed list must be refused";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "line 2: unclosed '(' in x");
  }
}

class Datadriven : public ::testing::TestWithParam<std::string> {};

TEST_P(Datadriven, Script_output_matches_the_expected_text_when_run) {
  const std::filesystem::path path = std::filesystem::path(RAFTBGP_TESTDATA_DIR) / (GetParam() + ".txt");
  std::vector<dd::Block> blocks;
  try {
    blocks = dd::parse_script(read_file(path));
  } catch (const std::invalid_argument& e) {
    FAIL() << path.string() << ": " << e.what();
  }
  const char* rewrite_env = std::getenv("RAFTBGP_REWRITE");
  const bool rewrite = rewrite_env != nullptr && std::string(rewrite_env) == "1";
  Harness h;
  for (dd::Block& b : blocks) {
    if (!b.is_case) continue;
    std::string actual;
    try {
      actual = h.run(b.command);
    } catch (const std::exception& e) {
      actual = std::string("error: ") + e.what();
    }
    if (actual.empty()) actual = "ok";
    if (rewrite) {
      b.expected = actual;
    } else {
      EXPECT_EQ(b.expected, actual) << path.string() << ":" << b.command.line_no << ": " << b.command.line;
    }
  }
  if (rewrite) std::ofstream(path, std::ios::binary | std::ios::trunc) << dd::render_script(blocks);
}

INSTANTIATE_TEST_SUITE_P(Testdata, Datadriven, ::testing::ValuesIn(script_names()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace raftbgp::raft
