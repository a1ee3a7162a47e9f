// Log lines quote client-chosen ids (control: kv.put from ... client_id X): their control characters
// must not reach a terminal or log viewer raw.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "raftbgp/agent/log.h"

namespace raftbgp::agent::test {
namespace {

// What log_line writes to stderr.
std::string logged(std::string_view message) {
  int p[2];
  EXPECT_EQ(::pipe(p), 0);
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(p[1], STDERR_FILENO);
  log_line(LogLevel::kError, message);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(p[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  ::close(p[0]);
  return out;
}

TEST(Log, Control_characters_in_a_message_are_escaped) {
  const std::string line = logged(
      "client_id \x1b]0;owned\x07 x\xc2\x9b"
      "2J a\\b\nnext");
  EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
  EXPECT_NE(line.find("error: client_id \\x1b]0;owned\\x07 x\\u009b2J a\\\\b next\n"), std::string::npos) << line;
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
}

TEST(Log, Printable_keeps_utf8_and_escapes_c0_del_and_c1) {
  EXPECT_EQ(printable("gr\xc3\xbcn \xe2\x82\xac"), "gr\xc3\xbcn \xe2\x82\xac");
  EXPECT_EQ(printable(std::string("\x00\x1f\x7f", 3)), "\\x00\\x1f\\x7f");
  EXPECT_EQ(printable("\xc2\x80\xc2\x9f\xc2\xa0"), "\\u0080\\u009f\xc2\xa0");
  EXPECT_EQ(printable("tab\there"), "tab\\x09here");
}

}  // namespace
}  // namespace raftbgp::agent::test
