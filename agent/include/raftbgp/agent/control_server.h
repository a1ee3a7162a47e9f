// ControlServer: the Unix stream socket raftbgpctl talks to (protocol in control.h). Asio, on the
// agent's one io_context: every request is handed to `handler` on that thread, so the AgentCore needs
// no mutex (STYLE habit 3).
//
// Socket file: created at `path` with permission bits `mode` (chmod after bind; the directory must
// exist). An existing socket file is probed first: if a process accepts a connection on it (another
// raftbgpd for this node), create() refuses; only a stale one (ECONNREFUSED: nobody listens) is removed.
// Any other kind of file at `path` is an error (never unlink what is not ours). close() (and the
// destructor) unlinks it.
//
// Limits (Limits below; a local client must not be able to hurt the node or lock operators out):
//   connections   at most max_connections at once. When full, a new connection evicts the one idle
//                 longest (preferring connections with no request in flight): a stuck or idle client
//                 cannot lock operators out.
//   in flight     at most max_in_flight requests per connection are with the handler at once; further
//                 request lines stay unread in the socket until a reply goes out (backpressure: the
//                 client blocks, nothing is refused or lost). Requests on one connection are answered
//                 in completion order, each response carrying its request's id.
//   reply bytes   while more than max_queued_reply_bytes of replies wait to be written (the client does
//                 not read), no further request is read. One reply may exceed it (a big kv.list).
//   idle          a connection with no request in flight and no bytes moving either way for
//                 idle_timeout_ms is closed (a write stalled by a client that stopped reading counts as
//                 idle). A connection with a request in flight is never idle.
//   watches      a watch's answer carries a stream (watch.h): its event lines follow on the same
//                 connection as fast as the client reads, at most 64 KiB ahead of the socket; the backlog
//                 waits in the stream's bounded queue, which drops a watcher that falls too far behind.
//                 A watch counts as a request in flight until it ends (client EOF, or its error line).
// Peer credentials: SO_PEERCRED is read at accept; every request carries the peer's pid/uid/gid
// (ClientRequest::peer_*), and every state-changing request (op_changes_state in control.h) is logged
// at info with them.
// Bad input (control.h) gets one error line, then the connection closes; the server keeps running.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "raftbgp/agent/agent_core.h"

namespace raftbgp::agent {

class ControlSession;

class ControlServer {
 public:
  struct Limits {
    std::size_t max_connections = 64;
    std::size_t max_in_flight = 16;                        // per connection
    std::size_t max_queued_reply_bytes = 4 * 1024 * 1024;  // per connection, before reading pauses
    std::chrono::milliseconds idle_timeout{60000};         // config control_socket.idle_timeout_ms
  };
  using Handler = std::function<void(ClientRequest, ReplyFn)>;

  static std::variant<std::unique_ptr<ControlServer>, std::string> create(boost::asio::io_context& io,
                                                                          const std::string& path, std::uint32_t mode,
                                                                          Handler handler, Limits limits);
  static std::variant<std::unique_ptr<ControlServer>, std::string> create(boost::asio::io_context& io,
                                                                          const std::string& path, std::uint32_t mode,
                                                                          Handler handler) {
    return create(io, path, mode, std::move(handler), Limits{});
  }
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Stops accepting and unlinks the socket file; open connections finish on their own.
  void close();
  // Open connections (closed ones whose last reply is still pending do not count).
  std::size_t connections();
  // Connections closed to make room for a new one, or for idleness, since start.
  std::uint64_t evicted() const { return evicted_; }

 private:
  ControlServer(boost::asio::io_context& io, std::string path, Handler handler, Limits limits);
  void accept();
  // Makes room for one more connection; false if none can be evicted.
  bool make_room();

  boost::asio::io_context& io_;
  std::string path_;
  std::shared_ptr<Handler> handler_;      // shared with live sessions, which may outlive the server
  std::shared_ptr<const Limits> limits_;  // shared with live sessions
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::vector<std::weak_ptr<ControlSession>> sessions_;
  std::uint64_t evicted_ = 0;
  bool closed_ = false;
};

}  // namespace raftbgp::agent
