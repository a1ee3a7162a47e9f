#include "raftbgp/agent/control_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <array>
#include <deque>

#include "raftbgp/agent/control.h"
#include "raftbgp/agent/log.h"

namespace raftbgp::agent {
namespace {

namespace asio = boost::asio;
using Socket = asio::local::stream_protocol::socket;

// One client connection. Owned by the shared_ptrs held in its pending async operations and replies.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Socket socket, std::shared_ptr<ControlServer::Handler> handler, std::shared_ptr<std::size_t> count)
      : socket_(std::move(socket)), handler_(std::move(handler)), count_(std::move(count)) {
    ++*count_;
  }
  ~Session() { --*count_; }

  void start() { read(); }

 private:
  void read() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(buf_), [self](boost::system::error_code ec, std::size_t n) {
      if (ec) return self->on_eof();
      if (!self->framer_.append(std::string_view(self->buf_.data(), n))) return self->fail("request over 65536 bytes");
      while (auto line = self->framer_.next_line()) self->on_line(*line);
      if (self->framer_.overflowed()) return self->fail("request over 65536 bytes");
      if (!self->closing_) self->read();
    });
  }

  void on_eof() {
    if (framer_.has_partial()) return fail("incomplete request (no newline before end of stream)");
    reading_done_ = true;
    maybe_close();
  }

  void on_line(const std::string& line) {
    if (closing_) return;
    auto parsed = parse_request(line);
    if (auto* e = std::get_if<RequestError>(&parsed)) return fail(e->message, e->id);
    auto& req = std::get<ParsedRequest>(parsed);
    ++in_flight_;
    auto self = shared_from_this();
    nlohmann::json id = req.id;
    (*handler_)(std::move(req.request), [self, id](ClientResponse r) {
      --self->in_flight_;
      self->write(format_response(id, r));
    });
  }

  void fail(const std::string& message, const nlohmann::json& id = nullptr) {
    LOG_DEBUG("control: closing a connection: " + message);
    write(format_error(id, "bad_request", message));
    closing_ = true;
  }

  void write(std::string line) {
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
      self->queue_.pop_front();
      if (ec) {
        self->queue_.clear();
        self->closing_ = true;
      }
      self->write_next();
    });
  }

  // Closes once nothing is left to say: after an error line, or at EOF with every reply written.
  void maybe_close() {
    if (writing_ || !queue_.empty()) return;
    if (closing_ || (reading_done_ && in_flight_ == 0)) {
      boost::system::error_code ignored;
      socket_.shutdown(Socket::shutdown_both, ignored);
      socket_.close(ignored);
    }
  }

  Socket socket_;
  std::shared_ptr<ControlServer::Handler> handler_;
  std::shared_ptr<std::size_t> count_;
  std::array<char, 8192> buf_{};
  LineFramer framer_;
  std::deque<std::string> queue_;
  std::size_t in_flight_ = 0;
  bool writing_ = false;
  bool closing_ = false;
  bool reading_done_ = false;
};

}  // namespace

std::variant<std::unique_ptr<ControlServer>, std::string> ControlServer::create(asio::io_context& io,
                                                                                const std::string& path,
                                                                                std::uint32_t mode, Handler handler) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return "control socket " + path + ": exists and is not a socket";
    ::unlink(path.c_str());  // stale, from a previous run (ExaBGP respawns us without cleanup)
  }
  std::unique_ptr<ControlServer> server(new ControlServer(io, path, std::move(handler)));
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

ControlServer::ControlServer(asio::io_context& io, std::string path, Handler handler)
    : io_(io), path_(std::move(path)), handler_(std::make_shared<Handler>(std::move(handler))), acceptor_(io) {}

ControlServer::~ControlServer() { close(); }

void ControlServer::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  ::unlink(path_.c_str());
}

void ControlServer::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, Socket socket) {
    if (closed_) return;
    if (!ec) {
      if (*connections_ >= kMaxConnections) {
        LOG_WARN("control: too many connections; refusing one");
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        std::make_shared<Session>(std::move(socket), handler_, connections_)->start();
      }
    }
    accept();
  });
}

}  // namespace raftbgp::agent
