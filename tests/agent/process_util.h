// Runs the built binaries (raftbgpd, raftbgpctl) as child processes for the tests that need a real
// process: exit codes, stdout/stderr, signals, rlimits. Paths come from CMake (RAFTBGPD_BIN,
// RAFTBGPCTL_BIN). These tests wait on real processes, so they use wall-clock timeouts.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace raftbgp::agent::test {

struct Spawn {
  std::vector<std::string> argv;
  std::string input;               // written to stdin, which is then closed
  bool broken_stdout = false;      // stdout: a pipe whose reader is gone (EPIPE on write)
  int timeout_ms = 10000;          // then SIGKILL
  std::function<void()> in_child;  // runs in the child before exec (rlimits, chdir)
};

struct Exit {
  int status = -1;  // waitpid status
  bool timed_out = false;
  std::string out, err;
  int code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }
};

inline pid_t spawn_child(const Spawn& s, int in_fd, int out_fd, int err_fd) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  if (s.broken_stdout) {
    int p[2];
    if (::pipe(p) != 0) ::_exit(120);
    ::close(p[0]);
    out_fd = p[1];
  }
  ::dup2(in_fd, 0);
  ::dup2(out_fd, 1);
  ::dup2(err_fd, 2);
  if (s.in_child) s.in_child();
  std::vector<char*> args;
  for (const std::string& a : s.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(127);
}

// Runs to completion (or the timeout) and collects stdout and stderr.
inline Exit run_process(const Spawn& s) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return {};
  const pid_t pid = spawn_child(s, in[0], out[1], err[1]);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  (void)!::write(in[1], s.input.data(), s.input.size());  // small inputs only: fits the pipe
  ::close(in[1]);
  Exit e;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(s.timeout_ms);
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open = 2;
  while (open > 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      e.timed_out = true;
      break;
    }
    if (::poll(fds, 2, static_cast<int>(left.count())) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[65536];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? e.out : e.err).append(buf, static_cast<std::size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  ::waitpid(pid, &e.status, 0);
  return e;
}

// Waits up to `ms` for `path` to accept a connection.
inline bool wait_for_socket(const std::string& path, int ms) {
  for (int i = 0; i < ms / 10; ++i) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), std::min(path.size(), sizeof addr.sun_path - 1));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace raftbgp::agent::test
