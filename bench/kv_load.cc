// kv_load: a closed-loop load generator for raftbgpd's control socket: sustained committed
// writes per second with several concurrent clients. Not a Google Benchmark program: it drives a live
// cluster (bench/lab/cluster_bench.py runs it inside a lab router's namespace).
//
//   kv_load --socket PATH [--socket PATH ...] [--clients N] [--seconds S | --count C] [--value-bytes B]
//           [--values random|repeated] [--client-prefix P] [--timeout-ms T] [--retry-ms R] [--rate W]
//           [--latencies FILE]
//
// Each client keeps one persistent connection to one socket (clients are spread round-robin over the
// sockets) and has exactly one `kv.put` outstanding: it sends the next only after the answer to the
// previous one (a closed loop, so the figure is committed writes/s at that concurrency, not an offered
// load). Every put carries client_id/seq, so a retried or duplicated request can never count twice.
// --retry-ms R: a client answered no_leader or timeout sends the same put again (same client_id/seq) after R ms,
// as a real client rides out an election, until --timeout-ms has passed since its first send; its latency then
// counts from the first send, and the retries are counted apart. Without it (the default) such an answer is an
// error and the client moves on to its next put, so a short election can use up a --count burst in no time.
// --rate W: at most W puts a second over all clients (a put leaves when a client is free and the previous one's
// slot, 1/W s later, has come; a lagging schedule never bursts more than one put ahead), so a CPU figure can be
// taken at a known write rate (bench/lab/recorder_overhead.py). Still one put outstanding per client: with too
// few clients for W at the cluster's latency the rate falls short, which writes_per_s shows.
// One thread and poll(): the generator must cost far less CPU than the cluster it measures.
// --values: `random` (the default) makes every value B characters drawn uniformly from 64 letters, digits and
// signs, different for every put (a retry resends the same one): 6 bits of entropy a byte, so compression
// (frame v3) can take at most a quarter off, where real text such as policies and configs compresses far
// better. `repeated` is B copies of 'v', which compresses to almost nothing: the figure of earlier releases.
//
// Prints one JSON object: ok, errors (by code), writes_per_s (ok answers / wall time), latency
// p50/p90/p99/max in ms of the ok answers; --latencies FILE also writes every ok latency (ms, one a line,
// in completion order) for a distribution plot.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "raftbgp/agent/control.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::vector<std::string> sockets;
  int clients = 8;
  double seconds = 10;
  long count = 0;  // total puts; 0: run for `seconds`
  std::size_t value_bytes = 256;
  bool random_values = true;
  std::string client_prefix = "kvload";
  int timeout_ms = 5000;
  int retry_ms = 0;  // 0: no retries
  double rate = 0;   // puts per second over all clients; 0: as fast as answers come
  std::string latencies_file;
};

struct Client {
  int fd = -1;
  std::string id;
  std::uint64_t seq = 0;
  Clock::time_point sent;        // the current put's first send
  Clock::time_point last_send;   // its latest send (a retry's)
  Clock::time_point retry_at{};  // waiting to send the current put again (--retry-ms)
  bool retrying = false;
  bool waiting = false;
  bool idle = false;  // --rate: ready for its next put, waiting for the schedule
  std::string out;    // unsent bytes of the current request
  raftbgp::agent::LineFramer framer;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(
      stderr,
      "kv_load: %s\nusage: kv_load --socket PATH [--socket PATH ...] [--clients N] "
      "[--seconds S | --count C] [--value-bytes B] [--values random|repeated] [--client-prefix P] [--timeout-ms T] "
      "[--retry-ms R] [--rate W] [--latencies FILE]\n",
      why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    try {
      if (a == "--socket") {
        o.sockets.push_back(value());
      } else if (a == "--clients") {
        o.clients = std::stoi(value());
      } else if (a == "--seconds") {
        o.seconds = std::stod(value());
      } else if (a == "--count") {
        o.count = std::stol(value());
      } else if (a == "--values") {
        const std::string v = value();
        if (v != "random" && v != "repeated") usage("--values must be random or repeated");
        o.random_values = v == "random";
      } else if (a == "--value-bytes") {
        o.value_bytes = static_cast<std::size_t>(std::stoul(value()));
      } else if (a == "--client-prefix") {
        o.client_prefix = value();
      } else if (a == "--latencies") {
        o.latencies_file = value();
      } else if (a == "--timeout-ms") {
        o.timeout_ms = std::stoi(value());
      } else if (a == "--retry-ms") {
        o.retry_ms = std::stoi(value());
      } else if (a == "--rate") {
        o.rate = std::stod(value());
      } else {
        usage(("unknown argument " + a).c_str());
      }
    } catch (const std::logic_error&) {
      usage(("bad number for " + a).c_str());
    }
  }
  if (o.sockets.empty()) usage("at least one --socket");
  if (o.clients < 1 || o.clients > 4096) usage("--clients must be 1..4096");
  if (o.seconds <= 0 && o.count <= 0) usage("--seconds or --count must be positive");
  if (o.value_bytes > 60000) usage("--value-bytes must be at most 60000");
  if (o.retry_ms < 0) usage("--retry-ms must be 0 (off) or positive");
  if (o.rate < 0) usage("--rate must be 0 (unpaced) or positive");
  return o;
}

int connect_unix(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof(sa.sun_path)) return -1;
  std::memcpy(sa.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double percentile(std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto i = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  // The value of a client's put number `seq`: a pure function of both, so a retry sends the same bytes.
  const auto value_of = [&](const std::string& client, std::uint64_t seq) {
    if (!o.random_values) return std::string(o.value_bytes, 'v');
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::uint64_t x = std::hash<std::string>{}(client) ^ (seq * 0x9e3779b97f4a7c15ULL);
    std::string v(o.value_bytes, ' ');
    for (char& ch : v) {
      x += 0x9e3779b97f4a7c15ULL;  // splitmix64
      std::uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      ch = kAlphabet[(z ^ (z >> 31)) & 63];
    }
    return v;
  };
  std::vector<Client> clients(static_cast<std::size_t>(o.clients));
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const std::string& path = o.sockets[i % o.sockets.size()];
    clients[i].fd = connect_unix(path);
    if (clients[i].fd < 0) {
      std::fprintf(stderr, "kv_load: cannot connect to %s: %s\n", path.c_str(), std::strerror(errno));
      return 1;
    }
    clients[i].id = o.client_prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(i);
  }

  std::vector<double> latencies;
  std::map<std::string, long> errors;
  long sent = 0;
  long ok = 0;
  long retries = 0;
  const auto start = Clock::now();
  const auto stop_sending =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.count > 0 ? 1e9 : o.seconds));
  auto may_send = [&](Clock::time_point now) { return o.count > 0 ? sent < o.count : now < stop_sending; };
  auto write_put = [&](Client& c, Clock::time_point now) {
    c.last_send = now;
    nlohmann::json req = {
        {"id", c.seq},       {"op", "kv.put"}, {"args", {{"key", c.id}, {"value", value_of(c.id, c.seq)}}},
        {"client_id", c.id}, {"seq", c.seq},   {"timeout_ms", o.timeout_ms}};
    c.out = req.dump() + "\n";
    c.waiting = true;
  };
  // --rate: when the next put may leave; every put moves it 1/rate on (from now at the latest less one interval,
  // so a schedule that fell behind while every client waited sends at most one put early, not a burst).
  const auto interval =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.rate > 0 ? 1 / o.rate : 0));
  Clock::time_point next_due = start;
  auto send_next = [&](Client& c, Clock::time_point now) {
    if (o.rate > 0) {
      if (now < next_due) {
        c.idle = true;
        return;
      }
      next_due = std::max(next_due, now - interval) + interval;
    }
    c.idle = false;
    ++c.seq;
    ++sent;
    c.sent = now;
    write_put(c, now);
  };
  auto retryable = [&](const Client& c, const std::string& code, Clock::time_point now) {
    return o.retry_ms > 0 && (code == "no_leader" || code == "timeout") &&
           ms_between(c.sent, now) + o.retry_ms < o.timeout_ms;
  };
  for (auto& c : clients) {
    if (may_send(start)) send_next(c, start);
  }

  std::vector<pollfd> pfds(clients.size());
  char buf[65536];
  for (;;) {
    std::size_t live = 0;
    const auto before = Clock::now();
    Clock::time_point wake = before + std::chrono::seconds(1);
    for (std::size_t i = 0; i < clients.size(); ++i) {
      Client& c = clients[i];
      if (c.idle && c.fd >= 0) {
        if (!may_send(before)) {
          c.idle = false;
        } else {
          send_next(c, before);
          if (c.idle) {
            ++live;
            wake = std::min(wake, next_due);
          }
        }
      }
      if (c.retrying && c.fd >= 0) {
        if (before >= c.retry_at) {
          c.retrying = false;
          ++retries;
          write_put(c, before);
        } else {
          ++live;
          wake = std::min(wake, c.retry_at);
        }
      }
      pfds[i] = {c.fd, 0, 0};
      if (c.fd < 0 || !c.waiting) {
        pfds[i].fd = -1;
        continue;
      }
      ++live;
      pfds[i].events = static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT));
    }
    if (live == 0) break;
    const auto wait_ns =
        std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(wake - before).count());
    const timespec wait{static_cast<time_t>(wait_ns / 1000000000), static_cast<long>(wait_ns % 1000000000)};
    if (::ppoll(pfds.data(), pfds.size(), &wait, nullptr) < 0 && errno != EINTR) {
      std::perror("kv_load: ppoll");
      return 1;
    }
    const auto now = Clock::now();
    for (std::size_t i = 0; i < clients.size(); ++i) {
      Client& c = clients[i];
      if (pfds[i].fd < 0) continue;
      if (ms_between(c.last_send, now) > o.timeout_ms + 2000.0) {  // the agent never answered: count and drop
        ++errors["no_answer"];
        ::close(c.fd);
        c.fd = -1;
        continue;
      }
      if ((pfds[i].revents & POLLOUT) && !c.out.empty()) {
        ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n > 0) c.out.erase(0, static_cast<std::size_t>(n));
      }
      if (!(pfds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
      if (n <= 0) {
        ++errors["closed"];
        ::close(c.fd);
        c.fd = -1;
        continue;
      }
      if (!c.framer.append(std::string_view(buf, static_cast<std::size_t>(n)))) {
        ++errors["overlong_answer"];
        ::close(c.fd);
        c.fd = -1;
        continue;
      }
      while (auto line = c.framer.next_line()) {
        auto doc = nlohmann::json::parse(*line, nullptr, false);
        if (doc.is_discarded() || !doc.is_object()) {
          ++errors["bad_json"];
        } else if (doc.value("ok", false)) {
          ++ok;
          latencies.push_back(ms_between(c.sent, now));
        } else {
          std::string code = "unknown";
          if (doc.contains("error") && doc["error"].is_object()) code = doc["error"].value("code", code);
          if (retryable(c, code, now)) {
            c.waiting = false;
            c.retrying = true;
            c.retry_at = now + std::chrono::milliseconds(o.retry_ms);
            continue;
          }
          ++errors[code];
        }
        c.waiting = false;
        if (may_send(now)) send_next(c, now);
      }
    }
  }
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& c : clients) {
    if (c.fd >= 0) ::close(c.fd);
  }
  if (!o.latencies_file.empty()) {
    std::FILE* f = std::fopen(o.latencies_file.c_str(), "w");
    if (f == nullptr) {
      std::fprintf(stderr, "kv_load: cannot write %s: %s\n", o.latencies_file.c_str(), std::strerror(errno));
      return 1;
    }
    for (double ms : latencies) std::fprintf(f, "%.3f\n", ms);
    std::fclose(f);
  }
  std::sort(latencies.begin(), latencies.end());
  nlohmann::json out = {{"clients", o.clients},
                        {"rate", o.rate},
                        {"sockets", o.sockets.size()},
                        {"value_bytes", o.value_bytes},
                        {"sent", sent},
                        {"ok", ok},
                        {"errors", errors},
                        {"retries", retries},
                        {"wall_s", wall_s},
                        {"writes_per_s", wall_s > 0 ? static_cast<double>(ok) / wall_s : 0.0},
                        {"p50_ms", percentile(latencies, 0.50)},
                        {"p90_ms", percentile(latencies, 0.90)},
                        {"p99_ms", percentile(latencies, 0.99)},
                        {"max_ms", latencies.empty() ? 0.0 : latencies.back()}};
  std::printf("%s\n", out.dump().c_str());
  return ok > 0 ? 0 : 1;
}
