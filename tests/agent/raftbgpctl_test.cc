// raftbgpctl against a fake (hostile or broken) agent socket (security 10): an endless answer, wrong-typed
// JSON, terminal escapes in server strings, session ids on admin commands, and socket() failures.
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cctype>
#include <cstddef>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>
#include <thread>

#include "process_util.h"
#include "test_util.h"

namespace raftbgp::agent::test {
namespace {

using nlohmann::json;

// Listens on a temp socket, accepts one connection, reads one request line, then lets `respond` write.
class FakeAgent {
 public:
  explicit FakeAgent(std::function<void(int fd)> respond) : respond_(std::move(respond)) {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path_.c_str(), path_.size());
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listener_, 4), 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeAgent() {
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }
  const std::string& path() const { return path_; }
  // The request line raftbgpctl sent (after it exited).
  json request() {
    thread_.join();
    thread_ = std::thread([] {});
    return json::parse(line_, nullptr, false);
  }

 private:
  void serve() {
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    char c;
    while (::recv(fd, &c, 1, 0) == 1 && c != '\n') line_ += c;
    respond_(fd);
    ::close(fd);
  }

  TempDir dir_;
  std::string path_ = dir_.path() + "/fake.sock";
  std::function<void(int)> respond_;
  int listener_ = -1;
  std::string line_;
  std::thread thread_;
};

std::function<void(int)> answer(std::string line) {
  return [line = std::move(line)](int fd) { (void)!::send(fd, line.data(), line.size(), MSG_NOSIGNAL); };
}

Exit ctl(const std::string& socket, std::vector<std::string> args, std::function<void()> in_child = {}) {
  Spawn s;
  s.argv = {RAFTBGPCTL_BIN, "--socket", socket, "--timeout", "20000"};
  s.argv.insert(s.argv.end(), args.begin(), args.end());
  s.timeout_ms = 30000;
  s.in_child = std::move(in_child);
  return run_process(s);
}

// A socket that streams bytes without a newline is cut off at 16 MiB with a clear error (exit 5: the
// request was sent). Today's raftbgpctl buffers all 40 MiB and only stops because the peer closes.
TEST(Raftbgpctl, Endless_answer_is_cut_off_at_16_MiB) {
  FakeAgent agent([](int fd) {
    const std::string chunk(1 << 20, 'x');
    for (int i = 0; i < 40; ++i)
      if (::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) < 0) return;
  });
  const Exit e = ctl(agent.path(), {"status"});
  EXPECT_EQ(e.code(), 5) << e.err;
  EXPECT_NE(e.err.find("over 16 MiB"), std::string::npos) << e.err;
}

// Wrong-typed JSON in an answer is reported (exit 5, outcome unknown), never an abort (today: exit 134,
// nlohmann type_error).
TEST(Raftbgpctl, Wrong_typed_answer_is_reported_not_an_abort) {
  const std::pair<const char*, std::vector<std::string>> cases[] = {
      {R"({"id":1,"ok":true,"result":{"value":42}})", {"kv", "get", "k"}},
      {R"({"id":1,"ok":"yes","result":{}})", {"kv", "get", "k"}},
      {R"({"id":1,"ok":true,"result":{"members":[{"id":1,"voter":"yes"}]}})", {"status"}},
      {R"({"id":1,"ok":true,"result":{"routes":[{"next_hop":7}]}})", {"policy", "show"}},
      {R"({"id":1,"ok":true,"result":["not","an","object"]})", {"kv", "list"}},
      {R"({"id":1,"ok":false,"error":"flat"})", {"kv", "get", "k"}},
  };
  for (const auto& [reply, args] : cases) {
    FakeAgent agent(answer(std::string(reply) + "\n"));
    const Exit e = ctl(agent.path(), args);
    EXPECT_EQ(e.code(), 5) << reply << "\n" << e.err;
    EXPECT_TRUE(e.err.find("malformed answer") != std::string::npos ||
                e.err.find("unreadable answer") != std::string::npos)
        << reply << "\n"
        << e.err;
  }
}

// `members` at scale (issue 17): voters first, then learners, each by id; a Lag column (the leader's last index
// minus match) and a last line counting members per role and state, so 32 rows read top-down.
TEST(Raftbgpctl, Members_lists_voters_then_learners_with_lag_and_a_summary) {
  json members = json::array();
  for (std::uint64_t id : std::initializer_list<std::uint64_t>{7, 2, 6, 1, 3}) {
    const bool voter = id <= 3;
    members.push_back({{"id", id},
                       {"voter", voter},
                       {"match", id == 6 ? 90 : 100},
                       {"state", id == 1 ? "self" : (id == 6 ? "probe" : "replicate")},
                       {"last_contact_ms", 0}});
  }
  const json result = {{"node_id", 1}, {"leader", 1}, {"last_index", 100}, {"members", members}};
  FakeAgent agent(answer(json{{"id", 1}, {"ok", true}, {"result", result}}.dump() + "\n"));
  const Exit e = ctl(agent.path(), {"members"});
  ASSERT_EQ(e.code(), 0) << e.err;
  std::vector<std::string> ids;
  std::istringstream lines(e.out);
  std::string line, last;
  bool header = false;
  while (std::getline(lines, line)) {
    std::istringstream cols(line);
    std::string id, role;
    cols >> id >> role;
    if (id == "Member") header = line.find("Lag") != std::string::npos;
    if (role == "voter" || role == "learner") {
      ids.push_back(id);
      if (id == "6") {
        EXPECT_NE(line.find(" 10 "), std::string::npos) << "lag of 6: " << line;
      }
    }
    last = line;
  }
  EXPECT_TRUE(header) << e.out;
  EXPECT_EQ(ids, (std::vector<std::string>{"1", "2", "3", "6", "7"}));
  EXPECT_EQ(last, "3 voters (2 replicate, 1 self); 2 learners (1 probe, 1 replicate)");
}

// Server strings reach a terminal with their control characters escaped (ESC, BEL, C1 CSI); --json
// output stays JSON and carries the exact value.
TEST(Raftbgpctl, Control_characters_from_the_server_are_escaped_in_human_output) {
  const std::string value =
      "\x1b]0;pwned\x07red\xc2\x9b"
      "2J\\";
  const std::string reply = json{{"id", 1}, {"ok", true}, {"result", {{"key", "k"}, {"value", value}}}}.dump() + "\n";
  {
    FakeAgent agent(answer(reply));
    const Exit e = ctl(agent.path(), {"kv", "get", "k"});
    EXPECT_EQ(e.code(), 0) << e.err;
    EXPECT_EQ(e.out, "\\x1b]0;pwned\\x07red\\u009b2J\\\\\n");
  }
  {
    FakeAgent agent(answer(reply));
    const Exit e = ctl(agent.path(), {"kv", "get", "k", "--json"});
    EXPECT_EQ(e.code(), 0) << e.err;
    EXPECT_EQ(json::parse(e.out)["value"], value);
    EXPECT_EQ(e.out.find('\x1b'), std::string::npos);
  }
  {
    const std::string items = json{{"id", 1}, {"ok", true}, {"result", {{"items", {{"\x1b[2Jkey", value}}}}}}.dump();
    FakeAgent agent(answer(items + "\n"));
    const Exit e = ctl(agent.path(), {"kv", "list"});
    EXPECT_EQ(e.out.find('\x1b'), std::string::npos) << e.out;
    EXPECT_NE(e.out.find("\\x1b[2Jkey\t"), std::string::npos) << e.out;
  }
  {
    const std::string err =
        json{{"id", 1}, {"ok", false}, {"error", {{"code", "rejected"}, {"message", "bad \x1b[31mthing"}}}}.dump();
    FakeAgent agent(answer(err + "\n"));
    const Exit e = ctl(agent.path(), {"kv", "get", "k"});
    EXPECT_EQ(e.code(), 4);
    EXPECT_NE(e.err.find("bad \\x1b[31mthing"), std::string::npos) << e.err;
  }
}

// Admin commands carry client_id and seq like writes (the agent applies them exactly once); reads do not.
TEST(Raftbgpctl, Admin_commands_carry_client_id_and_seq) {
  const std::vector<std::vector<std::string>> admin = {
      {"members", "add", "4"},     {"members", "add", "4", "--learner"},
      {"members", "promote", "4"}, {"members", "remove", "4"},
      {"transfer-leader", "2"},    {"kv", "put", "k", "v"}};
  for (const auto& args : admin) {
    FakeAgent agent(answer(R"({"id":1,"ok":true,"result":{"index":5,"leader":2}})"
                           "\n"));
    std::vector<std::string> a = {"--client-id", "ops-1", "--seq", "9"};
    a.insert(a.end(), args.begin(), args.end());
    const Exit e = ctl(agent.path(), a);
    EXPECT_EQ(e.code(), 0) << args[0] << " " << args[1] << ": " << e.err;
    const json req = agent.request();
    EXPECT_EQ(req.value("client_id", ""), "ops-1") << req.dump();
    EXPECT_EQ(req.value("seq", 0), 9) << req.dump();
  }
  FakeAgent agent(answer(R"({"id":1,"ok":true,"result":{"key":"k","value":"v"}})"
                         "\n"));
  EXPECT_EQ(ctl(agent.path(), {"kv", "get", "k"}).code(), 0);
  EXPECT_FALSE(agent.request().contains("client_id"));
}

// In the child: every socket() fails with EACCES (a seccomp filter; the dynamic loader needs none).
void deny_socket() {
  static sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  static sock_fprog prog{sizeof filter / sizeof filter[0], filter};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
    ::_exit(122);
}

// A failed socket() is reported as what it is, with exit 4 (nothing was sent); today it is called a bad
// socket path (exit 2). A path too long for sun_path is exit 2.
TEST(Raftbgpctl, Socket_failure_and_an_overlong_path_are_told_apart) {
  TempDir dir;
  const Exit no_fd = ctl(dir.path() + "/x.sock", {"status"}, deny_socket);
  EXPECT_EQ(no_fd.code(), 4) << no_fd.err;
  EXPECT_NE(no_fd.err.find("socket: "), std::string::npos) << no_fd.err;
  EXPECT_EQ(no_fd.err.find("bad socket path"), std::string::npos) << no_fd.err;
  const Exit long_path = ctl("/" + std::string(200, 'p'), {"status"});
  EXPECT_EQ(long_path.code(), 2);
  EXPECT_NE(long_path.err.find("bad socket path"), std::string::npos) << long_path.err;
}

// A status answer for the health tests: node 1, voters 1..3, the given leader and indexes.
std::string status_answer(int leader, int commit, int applied, const char* voters = "[1,2,3]") {
  return std::string(R"({"id":1,"ok":true,"result":{"node_id":1,"role":"follower","term":4,"leader":)") +
         std::to_string(leader) + R"(,"commit":)" + std::to_string(commit) + R"(,"applied":)" +
         std::to_string(applied) + R"(,"voters":)" + voters + R"(,"learners":[]}})" + "\n";
}

// One health run against a fake agent answering `reply`: its exit code and a text its output contains.
struct HealthCase {
  std::string reply;
  std::vector<std::string> args;
  int code;
  const char* says;
};
void expect_health(const HealthCase& c) {
  FakeAgent agent(answer(c.reply));
  const Exit e = ctl(agent.path(), c.args);
  EXPECT_EQ(e.code(), c.code) << c.reply << e.out << e.err;
  EXPECT_NE(e.out.find(c.says), std::string::npos) << e.out;
  EXPECT_EQ(agent.request().value("op", ""), "status");
}

// health exits 0 only when the node knows a leader, is a member, and applies what is committed (within
// --max-lag); otherwise 6 with every reason. `status` with leader 0 exits 0, which is why health exists.
TEST(Raftbgpctl, health_is_nonzero_with_a_reason_when_the_node_is_unhealthy) {
  const HealthCase cases[] = {
      {status_answer(2, 10, 10), {"health"}, 0, "healthy: node 1 follower, leader 2"},
      {status_answer(0, 10, 10), {"health"}, 6, "no leader known"},
      {status_answer(2, 500, 10), {"health"}, 6, "lags commit index 500 by more than 100"},
      {status_answer(2, 500, 10), {"health", "--max-lag", "1000"}, 0, "healthy"},
      {status_answer(2, 10, 10, "[2,3,4]"), {"health"}, 6, "not a member"},
  };
  for (const HealthCase& c : cases) expect_health(c);
  FakeAgent agent(answer(status_answer(0, 500, 10)));
  const Exit e = ctl(agent.path(), {"health", "-o", "json"});
  EXPECT_EQ(e.code(), 6);
  const json verdict = json::parse(e.out, nullptr, false);
  EXPECT_EQ(verdict.value("healthy", true), false) << e.out;
  EXPECT_EQ(verdict["reasons"].size(), 2u) << e.out;
}

// The signals of a newer agent (status "health" and "exabgp"), each with its flag: --max-lag-seconds for the
// time behind the leader, --max-ack-wait for ExaBGP's unacknowledged commands; no BGP session up has none.
TEST(Raftbgpctl, health_judges_lag_time_exabgp_acks_and_bgp_sessions_with_their_flags) {
  auto reply = [](const char* health, const char* exabgp) {
    std::string s = status_answer(2, 10, 10);
    s.insert(s.rfind("}}"), std::string(R"(,"health":)") + health + R"(,"exabgp":)" + exabgp);
    return s;
  };
  const char* idle = R"({"outstanding":0,"ms_without_ack":0})";
  const char* fine = R"({"bgp_sessions_up":1,"behind_ms":0,"leader_contact_ms":100})";
  const char* behind = R"({"bgp_sessions_up":1,"behind_ms":12000,"leader_contact_ms":100})";
  const char* no_bgp = R"({"bgp_sessions_up":0,"behind_ms":0,"leader_contact_ms":100})";
  const char* stuck = R"({"outstanding":3,"ms_without_ack":11000})";
  const HealthCase cases[] = {
      {reply(fine, idle), {"health"}, 0, "healthy"},
      {reply(behind, idle), {"health"}, 6, "trailed the leader's commit index for 12.0 s"},
      {reply(behind, idle), {"health", "--max-lag-seconds", "20"}, 0, "healthy"},
      {reply(fine, stuck), {"health"}, 6, "ExaBGP acknowledged none of 3 outstanding commands for 11.0 s"},
      {reply(fine, stuck), {"health", "--max-ack-wait", "15"}, 0, "healthy"},
      {reply(no_bgp, idle), {"health"}, 6, "no BGP session up"},
  };
  for (const HealthCase& c : cases) expect_health(c);
  FakeAgent agent(answer(reply(fine, idle)));
  EXPECT_EQ(ctl(agent.path(), {"health", "--max-ack-wait", "-1"}).code(), 2);  // a usage error, nothing judged
}

// -o json / --json work on every verb, writes included (kv put --json was a usage error), and failures
// are JSON on stdout too: the agent's wire code, or raftbgpctl's own; the exit code is unchanged.
TEST(Raftbgpctl, json_output_on_every_verb_and_on_errors) {
  {
    FakeAgent agent(answer(R"({"id":1,"ok":true,"result":{"index":5}})"
                           "\n"));
    const Exit e = ctl(agent.path(), {"kv", "put", "k", "v", "--json"});
    EXPECT_EQ(e.code(), 0) << e.err;
    EXPECT_EQ(json::parse(e.out, nullptr, false).value("index", 0), 5) << e.out;
  }
  {
    FakeAgent agent(answer(R"({"id":1,"ok":false,"error":{"code":"no_leader","message":"no leader known"}})"
                           "\n"));
    const Exit e = ctl(agent.path(), {"-o", "json", "policy", "remove", "10.0.0.0/24"});
    EXPECT_EQ(e.code(), 4);
    const json out = json::parse(e.out, nullptr, false);
    EXPECT_EQ(out["error"].value("code", ""), "no_leader") << e.out;
    EXPECT_EQ(out["error"].value("message", ""), "no leader known") << e.out;
    EXPECT_EQ(out.value("exit_code", 0), 4);
  }
  TempDir dir;
  const Exit gone = ctl(dir.path() + "/none.sock", {"status", "--json"});
  EXPECT_EQ(gone.code(), 4);
  EXPECT_EQ(json::parse(gone.out, nullptr, false)["error"].value("code", ""), "unreachable") << gone.out;
  const Exit usage = ctl(dir.path() + "/none.sock", {"kv", "get", "--json"});
  EXPECT_EQ(usage.code(), 2);
  EXPECT_EQ(json::parse(usage.out, nullptr, false)["error"].value("code", ""), "usage") << usage.out;
}

// RAFTBGP_SOCKET names the socket when --socket is not given; --socket wins over it.
TEST(Raftbgpctl, RAFTBGP_SOCKET_names_the_socket) {
  FakeAgent agent(answer(status_answer(2, 1, 1)));
  Spawn s;
  s.argv = {RAFTBGPCTL_BIN, "health"};
  s.in_child = [path = agent.path()] { ::setenv("RAFTBGP_SOCKET", path.c_str(), 1); };
  const Exit e = run_process(s);
  EXPECT_EQ(e.code(), 0) << e.err;
  TempDir dir;
  const Exit over = ctl(dir.path() + "/other.sock", {"status"},
                        [path = agent.path()] { ::setenv("RAFTBGP_SOCKET", path.c_str(), 1); });
  EXPECT_EQ(over.code(), 4) << over.err;
  EXPECT_NE(over.err.find("other.sock"), std::string::npos) << over.err;
}

std::string read_source(const std::string& rel) {
  std::ifstream in(std::string(RAFTBGP_SOURCE_DIR) + "/" + rel);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The bash completion and the man page name every verb raftbgpctl --help lists (so neither drifts from
// the verb table), and the completion offers sub-verbs and option values.
TEST(Raftbgpctl, completion_and_man_page_cover_every_verb) {
  Spawn s;
  s.argv = {RAFTBGPCTL_BIN, "--help"};
  const Exit help = run_process(s);
  ASSERT_EQ(help.code(), 0);
  const std::string subs = help.out.substr(help.out.find("Subcommands:"));
  std::istringstream lines(subs);
  std::vector<std::string> verbs;
  for (std::string line; std::getline(lines, line) && !(line.empty() && !verbs.empty());)
    if (line.rfind("  ", 0) == 0) verbs.push_back(line.substr(2, line.find(' ', 2) - 2));
  ASSERT_GE(verbs.size(), 10u) << subs;
  const std::string completion = read_source("agent/cli/raftbgpctl.bash");
  const std::string man = read_source("docs/man/raftbgpctl.8");
  for (const std::string& v : verbs) {
    EXPECT_TRUE(std::regex_search(completion, std::regex("[\" ]" + v + "[\" ]"))) << v << " missing in raftbgpctl.bash";
    EXPECT_NE(man.find(".B " + v), std::string::npos) << v << " missing in raftbgpctl.8";
  }
  auto complete = [](const std::string& words) {
    Spawn b;
    b.argv = {"/bin/bash", "-c",
              "source " + std::string(RAFTBGP_SOURCE_DIR) + "/agent/cli/raftbgpctl.bash; COMP_WORDS=(" + words +
                  "); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _raftbgpctl; echo \"${COMPREPLY[*]}\""};
    return run_process(b).out;
  };
  EXPECT_EQ(complete("raftbgpctl kv ''"), "get put delete remove list show watch\n");
  EXPECT_EQ(complete("raftbgpctl policy w"), "watch\n");
  EXPECT_EQ(complete("raftbgpctl kv watch app/ --f"), "--from-index\n");
  EXPECT_EQ(complete("raftbgpctl status --c"), "--cluster\n");
  for (const char* sub : {".B status \\-\\-cluster", "kv watch", "policy watch"})
    EXPECT_NE(man.find(sub), std::string::npos) << sub << " missing in raftbgpctl.8";
  EXPECT_EQ(complete("raftbgpctl --socket /x po"), "policy\n");
  EXPECT_EQ(complete("raftbgpctl -o j"), "json\n");
  EXPECT_EQ(complete("raftbgpctl members add 4 --l"), "--learner\n");
}

}  // namespace
}  // namespace raftbgp::agent::test

namespace raftbgp::agent::test {
namespace {

// policy apply -f with a bad file: every error listed with its line, exit 2, and nothing sent (the socket
// does not exist: had raftbgpctl tried it, the exit would be 4 "unreachable").
TEST(Raftbgpctl, policy_apply_lists_every_error_of_a_bad_file_and_sends_nothing) {
  TempDir dir;
  const std::string file = dir.path() + "/policy.yaml";
  std::ofstream(file) << "routes:\n  - prefix: 192.0.2.1/24\n  - prefix: 203.0.113.0/24\n    med: -1\n";
  const Exit e = ctl(dir.path() + "/none.sock", {"policy", "apply", "-f", file, "--dry-run"});
  EXPECT_EQ(e.code(), 2) << e.out << e.err;
  EXPECT_NE(e.err.find("2 error(s), nothing was sent"), std::string::npos) << e.err;
  EXPECT_NE(e.err.find("line 2: routes[0].prefix"), std::string::npos) << e.err;
  EXPECT_NE(e.err.find("line 4: routes[1].med"), std::string::npos) << e.err;
  const Exit j = ctl(dir.path() + "/none.sock", {"-o", "json", "policy", "apply", "-f", file});
  EXPECT_EQ(json::parse(j.out, nullptr, false)["error"].value("code", ""), "invalid_policy") << j.out;
}

}  // namespace
}  // namespace raftbgp::agent::test
