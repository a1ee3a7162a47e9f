#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sstream>

#include "ctl.h"
#include "raftbgp/agent/control.h"
#include "raftbgp/agent/log.h"

namespace raftbgp::agent::ctl {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// A hostile or broken socket could send bytes without end: an answer line longer than this (no agent
// reply comes near it; kv.list and debug.dump of a large store stay well below) is given up.
constexpr std::size_t kMaxReplyBytes = 16 * 1024 * 1024;

long long ms_left(Clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
}

// Closes the descriptor on every path out of call().
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Connects to the socket. The path is checked before any descriptor exists (nothing to leak), and a
// failed socket() is reported as itself, not as a bad path.
std::variant<int, Failure> connect_socket(const std::string& socket_path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path)
    return Failure{
        kExitUsage, "bad_socket_path",
        "bad socket path " + socket_path + " (empty, or " + std::to_string(sizeof addr.sun_path) + " bytes or longer)"};
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return Failure{kExitNotApplied, "unreachable",
                   std::string("socket: ") + std::strerror(errno) + " (nothing was sent)"};
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd);
    return Failure{kExitNotApplied, "unreachable",
                   "cannot connect to " + socket_path + ": " + std::strerror(err) + " (nothing was sent)"};
  }
  return fd;
}

// How long a line may take: until `deadline` (an answer: timeout after timeout_ms), or, for a watch's event
// lines, without end until stop() turns true (checked at least every 200 ms).
struct Wait {
  std::optional<Clock::time_point> deadline;
  std::uint64_t timeout_ms = 0;
  const std::function<bool()>* stop = nullptr;
};
constexpr const char* kStopped = "stopped";

// Reads one line (without '\n'); bytes after it stay in `buf` for the next call.
std::variant<std::string, Failure> read_line(int fd, std::string& buf, const Wait& wait) {
  char chunk[65536];
  while (buf.find('\n') == std::string::npos) {
    if (buf.size() > kMaxReplyBytes)
      return Failure{kExitUnknown, "answer_too_long",
                     "answer over " + std::to_string(kMaxReplyBytes >> 20) +
                         " MiB without a newline; not the agent? (outcome unknown)"};
    if (wait.stop != nullptr && (*wait.stop)()) return Failure{kExitOk, kStopped, ""};
    const long long left = wait.deadline ? ms_left(*wait.deadline) : 200;
    pollfd p{fd, POLLIN, 0};
    const int ready = left <= 0 ? 0 : ::poll(&p, 1, static_cast<int>(std::min(left, 200LL)));
    if (ready < 0 && errno == EINTR) continue;  // a signal: stop() says whether it ends the watch
    if (ready <= 0 && (!wait.deadline || ms_left(*wait.deadline) > 0)) continue;
    if (ready <= 0)
      return Failure{kExitUnknown, "timeout",
                     "no answer within " + std::to_string(wait.timeout_ms) + " ms (outcome unknown)"};
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return Failure{kExitUnknown, "connection_closed", "the agent closed the connection (outcome unknown)"};
    buf.append(chunk, static_cast<std::size_t>(n));
  }
  const std::size_t nl = buf.find('\n');
  std::string line = buf.substr(0, nl);
  buf.erase(0, nl + 1);
  return line;
}

// A connected socket with the request sent, or why not.
std::variant<int, Failure> send_request(const std::string& socket_path, const json& request) {
  auto connected = connect_socket(socket_path);
  if (auto* f = std::get_if<Failure>(&connected)) return *f;
  const int fd = std::get<int>(connected);
  const std::string line = dump_json(request) + "\n";
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    const int err = errno;
    ::close(fd);
    return Failure{kExitUnknown, "send_failed",
                   std::string("send failed: ") + std::strerror(err) + " (outcome unknown)"};
  }
  return fd;
}

// One answer line: the result of an ok answer, or the failure (the agent's error, or an unreadable line).
std::variant<json, Failure> parse_answer(const std::string& line) {
  json resp = json::parse(line, nullptr, false);
  if (resp.is_discarded() || !resp.is_object() || !resp.contains("ok") || !resp["ok"].is_boolean() ||
      (!resp["ok"].get<bool>() && !resp["error"].is_object()))
    return Failure{kExitUnknown, "unreadable_answer", "unreadable answer from the agent (outcome unknown)"};
  if (resp["ok"].get<bool>()) return std::move(resp["result"]);
  json& err = resp["error"];
  const std::string code = err["code"].is_string() ? err["code"].get<std::string>() : "";
  const std::string message = err["message"].is_string() ? err["message"].get<std::string>() : "";
  return Failure{exit_code_for(code), code, message, true};
}

// The answer line to the request just sent: the result, or the failure.
std::variant<json, Failure> read_answer(int fd, std::string& buf, std::uint64_t timeout_ms) {
  // The agent answers `timeout` itself at timeout_ms; the extra second covers its tick granularity.
  auto answer = read_line(fd, buf, Wait{Clock::now() + std::chrono::milliseconds(timeout_ms + 1000), timeout_ms});
  if (auto* f = std::get_if<Failure>(&answer)) return *f;
  return parse_answer(std::get<std::string>(answer));
}

}  // namespace

int exit_code_for(const std::string& code) {
  if (code == "bad_request") return kExitUsage;
  if (code == "not_found") return kExitNotFound;
  if (code == "no_leader" || code == "not_leader" || code == "rejected" || code == "stale_sequence" ||
      code == "too_large" || code == "conf_change_pending" || code == "not_ready")
    return kExitNotApplied;
  return kExitUnknown;
}

std::variant<json, Failure> call(const std::string& socket_path, const json& request, std::uint64_t timeout_ms) {
  auto sent = send_request(socket_path, request);
  if (auto* f = std::get_if<Failure>(&sent)) return *f;
  Fd fd{std::get<int>(sent)};
  std::string buf;
  return read_answer(fd.fd, buf, timeout_ms);
}

std::optional<Failure> watch(const std::string& socket_path, const json& request, std::uint64_t timeout_ms,
                             const WatchHandlers& on) {
  auto sent = send_request(socket_path, request);
  if (auto* f = std::get_if<Failure>(&sent)) return *f;
  Fd fd{std::get<int>(sent)};
  std::string buf;
  auto answer = read_answer(fd.fd, buf, timeout_ms);
  if (auto* f = std::get_if<Failure>(&answer)) return *f;
  on.started(std::get<json>(answer));
  for (;;) {
    auto line = read_line(fd.fd, buf, Wait{std::nullopt, 0, &on.stop});
    if (auto* f = std::get_if<Failure>(&line)) {
      if (f->code == kStopped) return std::nullopt;
      if (f->code == "connection_closed")
        return Failure{kExitUnknown, "connection_closed", "the agent closed the watch (stopping or restarting?)"};
      return *f;
    }
    json event = json::parse(std::get<std::string>(line), nullptr, false);
    if (event.is_object() && event.contains("event") && event["event"].is_object()) {
      if (!on.event(event["event"])) return std::nullopt;  // our reader went away (stdout closed)
      continue;
    }
    // Not an event: the agent's last word (too_slow, shutting_down), or garbage.
    auto end = parse_answer(std::get<std::string>(line));
    if (auto* f = std::get_if<Failure>(&end)) return *f;
    return Failure{kExitUnknown, "unreadable_answer", "unexpected line in the watch stream"};
  }
}

int report(const Failure& f, bool as_json) {
  if (as_json) {
    const json out{{"error", {{"code", f.code}, {"message", f.message}, {"from_agent", f.from_agent}}},
                   {"exit_code", f.exit_code}};
    std::printf("%s\n", dump_json(out).c_str());
  } else {
    // A message of several lines (every error of a policy file) prints one escaped line each.
    std::istringstream lines(f.message);
    std::string line;
    std::getline(lines, line);
    if (f.from_agent)
      std::fprintf(stderr, "raftbgpctl: %s: %s\n", printable(f.code).c_str(), printable(line).c_str());
    else
      std::fprintf(stderr, "raftbgpctl: %s\n", printable(line).c_str());
    while (std::getline(lines, line)) std::fprintf(stderr, "  %s\n", printable(line).c_str());
  }
  return f.exit_code;
}

}  // namespace raftbgp::agent::ctl
