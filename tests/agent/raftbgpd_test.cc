// raftbgpd as a process: exit code after a stdout write error, non-dumpable (security 11), the config
// read once, and no take-over of another instance's live control socket (security 14).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "process_util.h"
#include "test_util.h"

namespace raftbgp::agent::test {
namespace {

// Node 1 of a 3-node cluster with fast ticks: it campaigns (and writes to stdout) within ~0.1 s.
std::string config_text(const std::string& root, const std::string& name) {
  std::ostringstream c;
  c << "node_id: 1\ncluster_id: 7\nmembers: [1, 2, 3]\n"
    << "data_dir: " << root << "/" << name << "\n"
    << "key_file: " << root << "/cluster.keys\n"
    << "control_socket: { path: " << root << "/ctl.sock }\n"
    << "next_hop: { ipv6: \"fd00::1\" }\ntick_ms: 10\nelection_ticks: 5\nlog_level: warn\n";
  return c.str();
}

std::string write_config(const std::string& root, const std::string& name) {
  write_key_file(root);
  const std::string path = root + "/" + name + ".yaml";
  std::ofstream(path) << config_text(root, name);
  return path;
}

// Starts raftbgpd with stdin a pipe the test holds open (closing it stops the daemon: exit 0).
struct Daemon {
  pid_t pid = -1;
  int stdin_fd = -1;
  Daemon(const std::string& config, std::function<void()> in_child = {}) {
    int in[2];
    EXPECT_EQ(::pipe2(in, O_CLOEXEC), 0);
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    Spawn s;
    s.argv = {RAFTBGPD_BIN, "--config", config};
    s.in_child = std::move(in_child);
    pid = spawn_child(s, in[0], null, null);
    ::close(in[0]);
    ::close(null);
    stdin_fd = in[1];
  }
  int stop() {
    if (stdin_fd >= 0) ::close(stdin_fd);
    stdin_fd = -1;
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return status;
  }
  ~Daemon() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      stop();
    }
  }
};

// Commands for ExaBGP that cannot be written are a runtime failure: exit 1 as the usage text promises
// (today: 0, as if stopped cleanly).
TEST(Raftbgpd, Daemon_exits_1_when_stdout_breaks) {
  TempDir dir;
  Spawn s;
  s.argv = {RAFTBGPD_BIN, "--config", write_config(dir.path(), "n1")};
  s.broken_stdout = true;
  s.timeout_ms = 10000;
  // stdin: run_process closes it after the input; keep it open by feeding a long-lived pipe instead.
  int hold[2];
  ASSERT_EQ(::pipe(hold), 0);
  s.in_child = [fd = hold[0]] { ::dup2(fd, 0); };
  const Exit e = run_process(s);
  ::close(hold[0]);
  ::close(hold[1]);
  EXPECT_FALSE(e.timed_out);
  EXPECT_EQ(e.code(), 1) << e.err;
  EXPECT_NE(e.err.find("stdout"), std::string::npos) << e.err;
}

// No core dump (nor ptrace/proc-mem by same-uid processes): the key is in memory. Checked by SIGABRT
// with RLIMIT_CORE unlimited: a dumpable process leaves a core, raftbgpd must not.
TEST(Raftbgpd, Daemon_is_not_dumpable_when_running) {
  std::ifstream pattern("/proc/sys/kernel/core_pattern");
  std::string p;
  std::getline(pattern, p);
  if (p.empty() || p[0] == '|') GTEST_SKIP() << "core dumps go to a helper here (" << p << ")";
  TempDir dir;
  auto core_here = [cwd = dir.path()] {
    rlimit r{RLIM_INFINITY, RLIM_INFINITY};
    ::setrlimit(RLIMIT_CORE, &r);
    if (::chdir(cwd.c_str()) != 0) ::_exit(121);
  };
  {  // the control: an ordinary process does dump core in this environment
    Spawn s;
    s.argv = {"/bin/sh", "-c", "kill -ABRT $$"};
    s.in_child = core_here;
    const Exit e = run_process(s);
    if (!WIFSIGNALED(e.status) || !WCOREDUMP(e.status)) GTEST_SKIP() << "core dumps are disabled here";
  }
  Daemon d(write_config(dir.path(), "n1"), core_here);
  ASSERT_TRUE(wait_for_socket(dir.path() + "/ctl.sock", 10000));
  ::kill(d.pid, SIGABRT);
  const int status = d.stop();
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_FALSE(WCOREDUMP(status)) << "raftbgpd dumped core";
}

// The config is read once (today: twice, and the key file twice). A FIFO yields its text once only: a
// second read of it would block, and the daemon would never open its socket.
TEST(Raftbgpd, Daemon_reads_its_config_once_when_starting) {
  TempDir dir;
  write_key_file(dir.path());
  const std::string fifo = dir.path() + "/n1.yaml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string text = config_text(dir.path(), "n1");
  std::thread writer([&] { std::ofstream(fifo) << text; });
  Daemon d(fifo);
  writer.join();
  EXPECT_TRUE(wait_for_socket(dir.path() + "/ctl.sock", 5000)) << "the config was read more than once";
  if (::access(fifo.c_str(), F_OK) == 0) {  // unblock a second open, if any, so stop() returns
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
  }
  ::kill(d.pid, SIGTERM);
  d.stop();
}

// A config whose data dir lies below <root>/blocked, a regular file: the data dir cannot be created.
std::string blocked_config(const std::string& root) {
  write_key_file(root);
  const std::string path = root + "/n1.yaml";
  std::ofstream(path) << config_text(root, "blocked/n1");
  return path;
}

// A data dir that cannot be created (a full or missing disk) does not make the agent exit: ExaBGP gives up on a
// process that dies more than 5 times in 64 s, so it waits, retries every 2 s, and starts once the directory can
// be written; stdin EOF still stops it (exit 0).
TEST(Raftbgpd, Daemon_waits_for_an_unwritable_data_dir_instead_of_exiting) {
  TempDir dir;
  const std::string config = blocked_config(dir.path());
  std::ofstream(dir.path() + "/blocked") << "a file where the data dir's parent should be\n";
  Daemon d(config);
  EXPECT_FALSE(wait_for_socket(dir.path() + "/ctl.sock", 1500)) << "it cannot have started";
  int status = 0;
  ASSERT_EQ(::waitpid(d.pid, &status, WNOHANG), 0) << "raftbgpd exited on a transient disk problem";
  ASSERT_EQ(::unlink((dir.path() + "/blocked").c_str()), 0);
  ASSERT_EQ(::mkdir((dir.path() + "/blocked").c_str(), 0700), 0);
  EXPECT_TRUE(wait_for_socket(dir.path() + "/ctl.sock", 5000)) << "it did not start once the disk was back";
  status = d.stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(Raftbgpd, Daemon_waiting_for_its_data_dir_exits_0_on_stdin_eof) {
  TempDir dir;
  const std::string config = blocked_config(dir.path());
  std::ofstream(dir.path() + "/blocked") << "x\n";
  Daemon d(config);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const int status = d.stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// A second raftbgpd for the same socket refuses to start (exit 1, clear error) and leaves the first
// one's socket working; today it unlinks the live socket and binds its own.
TEST(Raftbgpd, Daemon_refuses_to_take_over_a_live_control_socket) {
  TempDir dir;
  Daemon first(write_config(dir.path(), "n1"));
  const std::string sock = dir.path() + "/ctl.sock";
  ASSERT_TRUE(wait_for_socket(sock, 10000));
  struct stat before {};
  ASSERT_EQ(::stat(sock.c_str(), &before), 0);
  Spawn s;
  s.argv = {RAFTBGPD_BIN, "--config", write_config(dir.path(), "n1b")};
  const Exit second = run_process(s);
  EXPECT_EQ(second.code(), 1) << second.err;
  EXPECT_NE(second.err.find("another process is listening"), std::string::npos) << second.err;
  struct stat after {};
  ASSERT_EQ(::stat(sock.c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);  // the same socket file, still the first daemon's
  EXPECT_TRUE(wait_for_socket(sock, 1000));
  EXPECT_EQ(WEXITSTATUS(first.stop()), 0);
}

// --check-config prints every error with FILE:LINE and exits 2; warnings alone exit 0. Today it stops at
// the first error and knows no warnings.
TEST(Raftbgpd, check_config_prints_every_error_and_warning) {
  TempDir dir;
  const std::string bad = dir.path() + "/bad.yaml";
  std::ofstream(bad) << "node_id: 0\ncluster_id: 7\nmembers: [1, 2, 3]\ndata_dir: rel\nkey_file: /k\nnode_id: 1\n";
  Spawn s;
  s.argv = {RAFTBGPD_BIN, "--check-config", bad};
  const Exit e = run_process(s);
  EXPECT_EQ(e.code(), 2) << e.err;
  EXPECT_NE(e.err.find("config error: " + bad + ":6: node_id: duplicate key"), std::string::npos) << e.err;
  EXPECT_NE(e.err.find("config error: " + bad + ":1: node_id: must be in"), std::string::npos) << e.err;
  EXPECT_NE(e.err.find("config error: " + bad + ":4: data_dir:"), std::string::npos) << e.err;
  EXPECT_NE(e.err.find("3 error(s)"), std::string::npos) << e.err;

  std::string even = config_text(dir.path(), "n1");
  even.replace(even.find("[1, 2, 3]"), 9, "[1, 2]");
  const std::string path = dir.path() + "/even.yaml";
  write_key_file(dir.path());
  std::ofstream(path) << even;
  s.argv = {RAFTBGPD_BIN, "--check-config", path};
  const Exit w = run_process(s);
  EXPECT_EQ(w.code(), 0) << w.err;
  EXPECT_NE(w.err.find("config warning: " + path + ":3: members: 2 voters"), std::string::npos) << w.err;
}

// Both binaries print one version line (project version, git revision, frame format) and exit 0; an
// unknown option is a usage error (2) on both.
TEST(Raftbgpd, version_and_usage_errors_on_both_binaries) {
  for (const char* bin : {RAFTBGPD_BIN, RAFTBGPCTL_BIN}) {
    Spawn s;
    s.argv = {bin, "--version"};
    const Exit v = run_process(s);
    EXPECT_EQ(v.code(), 0) << bin << ": " << v.err;
    EXPECT_NE(v.out.find(" 0."), std::string::npos) << v.out;
    EXPECT_NE(v.out.find("(git "), std::string::npos) << v.out;
    EXPECT_NE(v.out.find("frame format 2, 3 compressed"), std::string::npos) << v.out;
    s.argv = {bin, "--no-such-option"};
    EXPECT_EQ(run_process(s).code(), 2) << bin;
  }
}

}  // namespace
}  // namespace raftbgp::agent::test
