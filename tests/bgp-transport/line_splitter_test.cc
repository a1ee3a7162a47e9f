#include "raftbgp/transport/line_splitter.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace raftbgp::transport {
namespace {

struct Collect {
  std::vector<std::string> lines;
  std::size_t feed(LineSplitter& s, std::string_view bytes) {
    return s.feed(bytes, [this](std::string_view l) { lines.emplace_back(l); });
  }
};

TEST(LineSplitter, Delivers_each_line_once_when_reads_split_it_anywhere) {
  const std::string stream = "done\n{\"type\":\"update\"}\nerror\n";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    LineSplitter s;
    Collect c;
    c.feed(s, std::string_view(stream).substr(0, cut));
    c.feed(s, std::string_view(stream).substr(cut));
    EXPECT_EQ(c.lines, (std::vector<std::string>{"done", "{\"type\":\"update\"}", "error"})) << "cut at " << cut;
    EXPECT_EQ(s.buffered(), 0u);
  }
}

TEST(LineSplitter, Byte_by_byte_feeding_gives_the_same_lines) {
  const std::string stream = "a\nbc\n\nd";
  LineSplitter s;
  Collect c;
  for (char ch : stream) c.feed(s, std::string_view(&ch, 1));
  EXPECT_EQ(c.lines, (std::vector<std::string>{"a", "bc", ""}));
  EXPECT_EQ(s.buffered(), 1u);  // "d" waits for its newline
}

TEST(LineSplitter, Strips_one_trailing_cr_when_crlf_is_split_across_reads) {
  LineSplitter s;
  Collect c;
  c.feed(s, "done\r");
  c.feed(s, "\nerror\r\r\n");
  EXPECT_EQ(c.lines, (std::vector<std::string>{"done", "error\r"}));  // only one '\r' belongs to the line end
}

TEST(LineSplitter, Drops_an_overlong_line_whole_counts_it_and_keeps_the_next) {
  LineSplitter s(8);
  Collect c;
  EXPECT_EQ(c.feed(s, "12345678\n"), 0u);  // exactly the limit: delivered
  EXPECT_EQ(c.feed(s, "123456"), 0u);
  EXPECT_EQ(c.feed(s, "789"), 0u);  // now over the limit: nothing more is buffered
  EXPECT_EQ(s.buffered(), 0u);
  EXPECT_EQ(c.feed(s, std::string(100000, 'x')), 0u);
  EXPECT_EQ(s.buffered(), 0u);
  EXPECT_EQ(c.feed(s, "tail\nnext\n"), 1u);  // the rest of the long line goes with it, "next" survives
  EXPECT_EQ(c.lines, (std::vector<std::string>{"12345678", "next"}));
  EXPECT_EQ(s.overlong_lines(), 1u);
  EXPECT_EQ(c.feed(s, "0123456789\nok\n"), 1u);  // long line complete within one chunk
  EXPECT_EQ(c.lines.back(), "ok");
  EXPECT_EQ(s.overlong_lines(), 2u);
}

TEST(LineSplitter, Discards_and_counts_an_unterminated_line_at_eof) {
  LineSplitter s;
  Collect c;
  c.feed(s, "done\n{\"type\":\"upd");
  EXPECT_EQ(s.finish(), 12u);  // {"type":"upd
  EXPECT_EQ(c.lines, (std::vector<std::string>{"done"}));
  EXPECT_EQ(s.truncated_at_eof(), 1u);
  EXPECT_EQ(s.buffered(), 0u);
  EXPECT_EQ(s.finish(), 0u);  // nothing left: not counted twice
  EXPECT_EQ(s.truncated_at_eof(), 1u);
}

TEST(LineSplitter, Counts_an_overlong_line_cut_by_eof_as_overlong) {
  LineSplitter s(4);
  Collect c;
  c.feed(s, "123456");
  EXPECT_EQ(s.finish(), 0u);
  EXPECT_EQ(s.overlong_lines(), 1u);
  EXPECT_EQ(s.truncated_at_eof(), 0u);
}

TEST(LineSplitter, Default_limit_is_the_parsers_line_limit) {
  EXPECT_EQ(LineSplitter().max_line_bytes(), kMaxLineBytes);
}

}  // namespace
}  // namespace raftbgp::transport
