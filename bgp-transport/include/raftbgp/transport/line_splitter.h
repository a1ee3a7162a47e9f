// LineSplitter: cuts the byte stream ExaBGP writes to its process's stdin into lines, with bounded memory.
// Used by raftbgpd (agent/raftbgpd.cc) and raftbgp-ping (bgp-transport/tools/ping.cc) for ExaBGP's stdin,
// and by raftbgp-ping for its control FIFO. Pure: no IO, the caller reads and feeds.
//
// Contract:
// - feed() takes any chunk (a read() may end anywhere, even between '\r' and '\n') and calls on_line once per
//   complete line, in order, without its '\n' and without one trailing '\r' (ExaBGP writes "\n"; a "\r\n"
//   writer is accepted the same way).
// - A line longer than max_line_bytes (bytes before its '\n', a '\r' included) is dropped WHOLE, up to and
//   including its '\n': never delivered cut, never buffered beyond max_line_bytes. Each such line counts once
//   in overlong_lines() and in feed()'s return value, so the caller can log it. For ExaBGP's stdin the default
//   limit is the parser's own (kMaxLineBytes, exabgp.h): a longer line would be rejected as kTooLong anyway.
// - finish() is for EOF: an unterminated last line is not a line (ExaBGP ends every line with '\n'; a cut
//   one is a truncated JSON event or ack). It is discarded and counted in truncated_at_eof(); finish()
//   returns its length so the caller can say what was lost.
// - If on_line throws, the exception propagates and the line being delivered is lost; the caller is then
//   expected to stop (raftbgpd exits on a WAL error).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "raftbgp/transport/exabgp.h"

namespace raftbgp::transport {

class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line_bytes = kMaxLineBytes) : max_(max_line_bytes) {}

  // Calls on_line(std::string_view) for each complete line in `bytes`; the view is valid during the call only.
  // Returns how many over-long lines ended in this chunk (dropped, see above).
  template <class F>
  std::size_t feed(std::string_view bytes, F&& on_line) {
    std::size_t dropped = 0;
    while (!bytes.empty()) {
      const std::size_t nl = bytes.find('\n');
      const std::string_view part = bytes.substr(0, nl);
      if (!discarding_ && partial_.size() + part.size() > max_) {
        partial_.clear();
        partial_.shrink_to_fit();  // a burst of long lines must not keep its buffer forever
        discarding_ = true;
      }
      if (nl == std::string_view::npos) {
        if (!discarding_) partial_.append(part);
        return dropped;
      }
      bytes.remove_prefix(nl + 1);
      if (discarding_) {
        discarding_ = false;
        ++overlong_;
        ++dropped;
        continue;
      }
      if (partial_.empty()) {
        on_line(strip_cr(part));  // the common case: the whole line is in this chunk, no copy
        continue;
      }
      partial_.append(part);
      std::string line;
      line.swap(partial_);
      on_line(strip_cr(line));
    }
    return dropped;
  }

  // End of input. Returns the bytes of the unterminated last line it discards (0 if none); an over-long
  // line cut by EOF counts as over-long, not as truncated.
  std::size_t finish() {
    const std::size_t lost = partial_.size();
    if (discarding_) ++overlong_;
    if (lost > 0) ++truncated_at_eof_;
    partial_.clear();
    discarding_ = false;
    return lost;
  }

  std::size_t max_line_bytes() const { return max_; }
  std::size_t buffered() const { return partial_.size(); }  // bytes of the incomplete line held now
  std::uint64_t overlong_lines() const { return overlong_; }
  std::uint64_t truncated_at_eof() const { return truncated_at_eof_; }

 private:
  static std::string_view strip_cr(std::string_view l) {
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    return l;
  }

  std::size_t max_;
  std::string partial_;
  bool discarding_ = false;
  std::uint64_t overlong_ = 0;
  std::uint64_t truncated_at_eof_ = 0;
};

}  // namespace raftbgp::transport
