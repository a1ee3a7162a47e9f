#include "raftbgp/agent/control_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>

#include "raftbgp/agent/control.h"
#include "raftbgp/agent/log.h"

namespace raftbgp::agent {

namespace asio = boost::asio;
using Socket = asio::local::stream_protocol::socket;
using Clock = std::chrono::steady_clock;

// This host's name (the author hostname of policy changes), read once.
static const std::string& host_name() {
  static const std::string name = [] {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return std::string("unknown");
    return std::string(buf);
  }();
  return name;
}

// One client connection. Owned by the shared_ptrs held in its pending async operations and replies; the
// server keeps only a weak_ptr (for eviction).
class ControlSession : public std::enable_shared_from_this<ControlSession> {
 public:
  ControlSession(Socket socket, std::shared_ptr<ControlServer::Handler> handler,
                 std::shared_ptr<const ControlServer::Limits> limits)
      : socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        handler_(std::move(handler)),
        limits_(std::move(limits)) {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(socket_.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
      pid_ = cred.pid;
      uid_ = cred.uid;
      gid_ = cred.gid;
    }
  }

  ~ControlSession() {
    if (stream_) stream_->cancel();
  }

  void start() {
    LOG_DEBUG("control: connection from " + peer());
    touch();
    arm_idle_timer();
    read();
  }

  bool open() const { return !closed_; }
  // Busy: a request is with the handler. Eviction prefers idle connections, then the longest idle.
  bool busy() const { return in_flight_ > 0; }
  Clock::time_point last_activity() const { return last_activity_; }
  std::string peer() const {
    return "pid " + std::to_string(pid_) + " uid " + std::to_string(uid_) + " gid " + std::to_string(gid_);
  }
  void close() {
    if (closed_) return;
    closed_ = true;
    end_stream();
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.shutdown(Socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  void touch() { last_activity_ = Clock::now(); }

  // Reads while the limits allow; otherwise the bytes wait in the socket (backpressure) and resume()
  // reads again once a reply has gone out.
  void read() {
    if (reading_ || closed_ || closing_ || reading_done_ || paused()) return;
    reading_ = true;
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(buf_), [self](boost::system::error_code ec, std::size_t n) {
      self->reading_ = false;
      if (self->closed_) return;
      if (ec) return self->on_eof();
      self->touch();
      if (!self->framer_.append(std::string_view(self->buf_.data(), n))) return self->fail("request over 65536 bytes");
      self->resume();
    });
  }

  bool paused() const {
    return in_flight_ >= limits_->max_in_flight || queued_bytes_ > limits_->max_queued_reply_bytes;
  }

  // Hands buffered request lines to the handler while the limits allow, then reads more.
  // Re-entered when the handler answers synchronously; the outer call carries on instead.
  void resume() {
    if (resuming_) return;
    resuming_ = true;
    while (!closing_ && !closed_ && !paused()) {
      auto line = framer_.next_line();
      if (!line) break;
      on_line(*line);
    }
    resuming_ = false;
    if (framer_.overflowed() && !closing_) return fail("request over 65536 bytes");
    read();
  }

  void on_eof() {
    end_stream();  // a watcher's client went away (Ctrl-C)
    if (framer_.has_partial()) return fail("incomplete request (no newline before end of stream)");
    reading_done_ = true;
    maybe_close();
  }

  void on_line(const std::string& line) {
    auto parsed = parse_request(line);
    if (auto* e = std::get_if<RequestError>(&parsed)) return fail(e->message, e->id);
    auto& req = std::get<ParsedRequest>(parsed);
    req.request.peer_pid = pid_;
    req.request.peer_uid = uid_;
    req.request.peer_gid = gid_;
    req.request.hostname = host_name();
    req.request.received_unix_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    if (op_changes_state(req.request.op))
      LOG_INFO("control: " + req.request.op + " from " + peer() +
               (req.request.client_id.empty()
                    ? ""
                    : " client_id " + req.request.client_id + " seq " + std::to_string(req.request.seq)));
    ++in_flight_;
    auto self = shared_from_this();
    nlohmann::json id = req.id;
    (*handler_)(std::move(req.request), [self, id](ClientResponse r) {
      --self->in_flight_;
      self->touch();
      self->write(format_response(id, r));
      if (r.stream) self->attach_stream(id, std::move(r.stream));
      // Posted, never called from here: the reply may come from inside the AgentCore's ready loop,
      // which must not be re-entered with the next request.
      asio::post(self->socket_.get_executor(), [self] { self->resume(); });
    });
  }

  // A watch (watch.h): its changes follow the answer line, one {"id", "event"} line each, drained only as fast as
  // the client reads (the stream's own queue is bounded; a watcher that falls behind is dropped there). It counts
  // as a request in flight until it ends, so the connection is never idle meanwhile. One per connection.
  void attach_stream(const nlohmann::json& id, std::shared_ptr<WatchStream> stream) {
    if (closed_ || stream_) {
      stream->cancel();
      if (!closed_) write(format_error(id, ErrorCode::kBadRequest, "one watch per connection; this one ended"));
      return;
    }
    stream_ = std::move(stream);
    stream_id_ = id;
    ++in_flight_;
    std::weak_ptr<ControlSession> weak = shared_from_this();
    auto executor = socket_.get_executor();
    stream_->set_wakeup([weak, executor] {
      // Called from inside apply: never write from there, post.
      asio::post(executor, [weak] {
        if (auto self = weak.lock()) self->pump();
      });
    });
    pump();
  }

  // Moves the stream's items into the write queue while that queue is short; write completions call it again.
  void pump() {
    while (stream_ && !closed_ && queued_bytes_ < kStreamWriteBytes) {
      std::optional<WatchStream::Item> item = stream_->next();
      if (!item) break;
      if (auto* end = std::get_if<Refusal>(&*item)) {
        write(format_error(stream_id_, end->code, end->message));
        end_stream();
        closing_ = true;  // the stream was this connection's last word
        break;
      }
      write("{\"id\":" + dump_json(stream_id_) + ",\"event\":" + std::get<std::string>(*item) + "}");
    }
  }

  void end_stream() {
    if (!stream_) return;
    stream_->cancel();
    stream_.reset();
    --in_flight_;
  }

  void fail(const std::string& message, const nlohmann::json& id = nullptr) {
    LOG_DEBUG("control: closing a connection: " + message);
    write(format_error(id, ErrorCode::kBadRequest, message));
    closing_ = true;
  }

  void write(std::string line) {
    if (closed_) return;
    queued_bytes_ += line.size() + 1;
    queue_.push_back(std::move(line) + "\n");
    if (!writing_) write_next();
  }

  void write_next() {
    if (queue_.empty()) {
      writing_ = false;
      return maybe_close();
    }
    writing_ = true;
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(queue_.front()), [self](boost::system::error_code ec, std::size_t) {
      self->queued_bytes_ -= self->queue_.front().size();
      self->queue_.pop_front();
      if (ec) {
        self->queue_.clear();
        self->queued_bytes_ = 0;
        self->closing_ = true;
        self->end_stream();
      } else {
        self->touch();
        self->pump();
      }
      self->write_next();
      self->resume();  // a drained queue may lift the reply-bytes pause
    });
  }

  // Closes once nothing is left to say: after an error line, or at EOF with every reply written.
  void maybe_close() {
    if (writing_ || !queue_.empty()) return;
    if (closing_ || (reading_done_ && in_flight_ == 0)) close();
  }

  // Closes the connection once nothing has moved for idle_timeout with no request in flight.
  void arm_idle_timer() {
    if (closed_) return;
    timer_.expires_at(std::max(last_activity_, busy_until_) + limits_->idle_timeout);
    std::weak_ptr<ControlSession> weak = shared_from_this();
    timer_.async_wait([weak](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->closed_) return;
      const auto now = Clock::now();
      if (self->in_flight_ > 0) {
        self->busy_until_ = now;  // not idle; idleness counts again from the answer at the latest
      } else if (now - self->last_activity_ >= self->limits_->idle_timeout) {
        LOG_DEBUG("control: closing an idle connection (" + self->peer() + ")");
        return self->close();
      }
      self->arm_idle_timer();
    });
  }

  // Stream lines are moved into the write queue up to this many bytes ahead of the socket; the rest wait (bounded) in
  // the stream, so a slow reader shows there and is dropped there.
  static constexpr std::size_t kStreamWriteBytes = 64 * 1024;

  Socket socket_;
  asio::steady_timer timer_;
  std::shared_ptr<ControlServer::Handler> handler_;
  std::shared_ptr<const ControlServer::Limits> limits_;  // shared with the server, which may go first
  std::array<char, 8192> buf_{};
  LineFramer framer_;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t in_flight_ = 0;
  std::int64_t pid_ = -1, uid_ = -1, gid_ = -1;
  Clock::time_point last_activity_{};  // bytes received or a write completed (eviction order)
  Clock::time_point busy_until_{};     // when the idle timer last saw a request in flight
  bool reading_ = false;
  bool resuming_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool closed_ = false;
  bool reading_done_ = false;
  std::shared_ptr<WatchStream> stream_;  // a watch in progress
  nlohmann::json stream_id_;             // its request's id
};

namespace {

// Whether a process accepts connections on the socket file at `path`: the only safe test before
// unlinking it (a live raftbgpd for this node must not lose its socket to a second one).
std::optional<std::string> probe_existing(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return std::string("socket: ") + std::strerror(errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), std::min(path.size(), sizeof addr.sun_path - 1));
  const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && err == ECONNREFUSED) return std::nullopt;  // stale: nobody listens
  if (rc == 0 || err == EAGAIN || err == EINPROGRESS)
    return std::string("another process is listening on it (a second raftbgpd for this node?); refusing to start");
  return std::string("cannot tell whether it is in use: connect: ") + std::strerror(err);
}

}  // namespace

std::variant<std::unique_ptr<ControlServer>, std::string> ControlServer::create(asio::io_context& io,
                                                                                const std::string& path,
                                                                                std::uint32_t mode, Handler handler,
                                                                                Limits limits) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return "control socket " + path + ": exists and is not a socket";
    if (auto why = probe_existing(path)) return "control socket " + path + ": " + *why;
    ::unlink(path.c_str());  // stale, from a previous run (ExaBGP respawns us without cleanup)
  }
  std::unique_ptr<ControlServer> server(new ControlServer(io, path, std::move(handler), limits));
  boost::system::error_code ec;
  auto& acc = server->acceptor_;
  acc.open(asio::local::stream_protocol(), ec);
  if (!ec) acc.bind(asio::local::stream_protocol::endpoint(path), ec);
  if (ec) return "control socket " + path + ": bind: " + ec.message();
  if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0)
    return "control socket " + path + ": chmod: " + std::strerror(errno);
  acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return "control socket " + path + ": listen: " + ec.message();
  server->accept();
  return server;
}

ControlServer::ControlServer(asio::io_context& io, std::string path, Handler handler, Limits limits)
    : io_(io),
      path_(std::move(path)),
      handler_(std::make_shared<Handler>(std::move(handler))),
      limits_(std::make_shared<Limits>(limits)),
      acceptor_(io) {}

ControlServer::~ControlServer() { close(); }

void ControlServer::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  ::unlink(path_.c_str());
}

std::size_t ControlServer::connections() {
  std::erase_if(sessions_, [](const std::weak_ptr<ControlSession>& w) {
    auto s = w.lock();
    return !s || !s->open();
  });
  return sessions_.size();
}

bool ControlServer::make_room() {
  if (connections() < limits_->max_connections) return true;
  // The victim: an idle connection before a busy one, the one quiet longest first.
  std::shared_ptr<ControlSession> victim;
  for (const auto& w : sessions_) {
    auto s = w.lock();
    if (!victim ||
        std::make_pair(s->busy(), s->last_activity()) < std::make_pair(victim->busy(), victim->last_activity()))
      victim = s;
  }
  if (!victim) return false;
  LOG_WARN("control: " + std::to_string(limits_->max_connections) +
           " connections open; closing the one quiet longest (" + victim->peer() +
           (victim->busy() ? ", a request in flight" : "") + ")");
  victim->close();
  ++evicted_;
  return connections() < limits_->max_connections;
}

void ControlServer::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, Socket socket) {
    if (closed_) return;
    if (!ec) {
      if (!make_room()) {
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        auto session = std::make_shared<ControlSession>(std::move(socket), handler_, limits_);
        sessions_.push_back(session);
        session->start();
      }
    }
    accept();
  });
}

}  // namespace raftbgp::agent
