// Control-socket framing and garbage (pure), plus one real Unix-socket round trip on a temp path.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cstring>

#include "raftbgp/agent/control.h"
#include "raftbgp/agent/control_server.h"
#include "test_util.h"

namespace raftbgp::agent::test {
namespace {

using nlohmann::json;

TEST(LineFramer, splits_lines_across_chunks_and_keeps_a_partial) {
  LineFramer f(16);
  EXPECT_TRUE(f.append("{\"a\":1}\n{\"b\""));
  EXPECT_EQ(f.next_line(), "{\"a\":1}");
  EXPECT_EQ(f.next_line(), std::nullopt);
  EXPECT_TRUE(f.has_partial());
  EXPECT_TRUE(f.append(":2}\r\n"));
  EXPECT_EQ(f.next_line(), "{\"b\":2}");
  EXPECT_FALSE(f.has_partial());
}

TEST(LineFramer, overflows_on_an_oversize_line_with_or_without_newline) {
  LineFramer open(8);
  EXPECT_FALSE(open.append(std::string(9, 'x')));
  EXPECT_TRUE(open.overflowed());
  LineFramer closed(8);
  EXPECT_TRUE(closed.append(std::string(12, 'x') + "\n"));
  EXPECT_EQ(closed.next_line(), std::nullopt);
  EXPECT_TRUE(closed.overflowed());
}

std::string error_of(std::string_view line) {
  auto r = parse_request(line);
  if (auto* e = std::get_if<RequestError>(&r)) return e->message;
  return "(ok)";
}

TEST(ParseRequest, accepts_the_schema_and_rejects_garbage) {
  auto r = parse_request(R"({"id":7,"op":"kv.put","args":{"key":"k","value":"v"},"client_id":"c","seq":3,"timeout_ms":900})");
  ASSERT_TRUE(std::holds_alternative<ParsedRequest>(r));
  const ParsedRequest& p = std::get<ParsedRequest>(r);
  EXPECT_EQ(p.id, 7);
  EXPECT_EQ(p.request.op, "kv.put");
  EXPECT_EQ(p.request.seq, 3u);
  EXPECT_EQ(p.request.timeout_ms, 900u);
  EXPECT_EQ(error_of("hello"), "not JSON");
  EXPECT_EQ(error_of("{\"op\":"), "not JSON");  // half a request
  EXPECT_EQ(error_of("[1,2]"), "a request is a JSON object");
  EXPECT_EQ(error_of(R"({"id":1})"), "op must be a string");
  EXPECT_EQ(error_of(R"({"op":"status","args":[]})"), "args must be an object");
  EXPECT_EQ(error_of(R"({"op":"kv.put","seq":-1})"), "seq must be a non-negative integer");
  EXPECT_EQ(error_of(R"({"op":"status","timeout_ms":0})"), "timeout_ms must be an integer in 1..600000");
  EXPECT_EQ(error_of(R"({"op":"status","extra":1})"), "unknown field \"extra\"");
  auto bad = parse_request(R"({"id":"x","op":5})");
  EXPECT_EQ(std::get<RequestError>(bad).id, "x");  // the id is echoed when it could be read
}

TEST(FormatResponse, is_one_line_and_survives_invalid_utf8) {
  ClientResponse ok;
  ok.ok = true;
  ok.result = json{{"value", std::string("\xff\xfe")}};
  const std::string line = format_response(1, ok);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(json::parse(line)["ok"], true);
  const json err = json::parse(format_error(nullptr, "bad_request", "nope"));
  EXPECT_EQ(err["error"]["code"], "bad_request");
  EXPECT_TRUE(err["id"].is_null());
}

// Connects, writes `request`, half-closes, and reads everything the server sends until it closes.
std::string exchange(const std::string& path, const std::string& request, boost::asio::io_context& io) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  ::shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  for (int spins = 0; spins < 100000; ++spins) {
    io.poll();  // the server's handlers run here, on this thread
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) break;
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

TEST(ControlServer, answers_requests_and_closes_on_garbage_over_a_real_socket) {
  TempDir dir;
  const std::string path = dir.path() + "/ctl.sock";
  boost::asio::io_context io;
  int handled = 0;
  auto server = ControlServer::create(io, path, 0660, [&](ClientRequest req, ReplyFn reply) {
    ++handled;
    ClientResponse r;
    r.ok = true;
    r.result = json{{"op", req.op}};
    reply(std::move(r));
  });
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<ControlServer>>(server)) << std::get<std::string>(server);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);

  const std::string two = exchange(path, "{\"id\":1,\"op\":\"status\"}\n{\"id\":2,\"op\":\"kv.list\"}\n", io);
  EXPECT_EQ(two, "{\"id\":1,\"ok\":true,\"result\":{\"op\":\"status\"}}\n"
                 "{\"id\":2,\"ok\":true,\"result\":{\"op\":\"kv.list\"}}\n");
  const json garbage = json::parse(exchange(path, "garbage\n{\"id\":3,\"op\":\"status\"}\n", io));
  EXPECT_EQ(garbage["error"]["code"], "bad_request");  // one error line, then the connection closed
  const json half = json::parse(exchange(path, "{\"id\":4,\"op\":\"sta", io));
  EXPECT_EQ(half["error"]["code"], "bad_request");
  const json big = json::parse(exchange(path, std::string(kMaxRequestBytes + 10, ' ') + "\n", io));
  EXPECT_EQ(big["error"]["code"], "bad_request");
  EXPECT_EQ(handled, 2);
  // The server still works after all that.
  EXPECT_NE(exchange(path, "{\"op\":\"status\"}\n", io).find("\"ok\":true"), std::string::npos);
  std::get<std::unique_ptr<ControlServer>>(server)->close();
  EXPECT_NE(::access(path.c_str(), F_OK), 0);  // unlinked
}

}  // namespace
}  // namespace raftbgp::agent::test
