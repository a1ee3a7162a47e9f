// ControlServer: the Unix stream socket raftbgpctl talks to (protocol in control.h). Asio, on the
// agent's one io_context: every request is handed to `handler` on that thread, so the AgentCore needs
// no mutex (STYLE habit 3).
//
// Socket file: created at `path` with permission bits `mode` (chmod after bind; the directory must
// exist). A stale socket file from a crashed run is removed first; any other kind of file at `path` is
// an error (never unlink what is not ours). close() (and the destructor) unlinks it.
// Connections: at most kMaxConnections at once (more are closed at once); requests on one connection are
// handled as they arrive and answered in completion order, each response carrying its request's id.
// Bad input (control.h) gets one error line, then the connection closes; the server keeps running.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>

#include "raftbgp/agent/agent_core.h"

namespace raftbgp::agent {

class ControlServer {
 public:
  static constexpr std::size_t kMaxConnections = 64;
  using Handler = std::function<void(ClientRequest, ReplyFn)>;

  static std::variant<std::unique_ptr<ControlServer>, std::string> create(boost::asio::io_context& io,
                                                                          const std::string& path,
                                                                          std::uint32_t mode, Handler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Stops accepting and unlinks the socket file; open connections finish on their own.
  void close();
  std::size_t connections() const { return *connections_; }

 private:
  ControlServer(boost::asio::io_context& io, std::string path, Handler handler);
  void accept();

  boost::asio::io_context& io_;
  std::string path_;
  std::shared_ptr<Handler> handler_;  // shared with live sessions, which may outlive the server
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::shared_ptr<std::size_t> connections_ = std::make_shared<std::size_t>(0);
  bool closed_ = false;
};

}  // namespace raftbgp::agent
