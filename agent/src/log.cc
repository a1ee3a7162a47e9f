#include "raftbgp/agent/log.h"

#include <sys/time.h>

#include <cstdio>
#include <ctime>

namespace raftbgp::agent {
namespace {
LogLevel g_level = LogLevel::kInfo;
std::string g_tag = "raftbgpd";
}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view text) {
  if (text == "error") return LogLevel::kError;
  if (text == "warn") return LogLevel::kWarn;
  if (text == "info") return LogLevel::kInfo;
  if (text == "debug") return LogLevel::kDebug;
  return std::nullopt;
}

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kError: return "error";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kInfo: return "info";
    case LogLevel::kDebug: return "debug";
  }
  return "?";
}

void set_log_level(LogLevel level) { g_level = level; }
void set_log_tag(std::string tag) { g_tag = std::move(tag); }
bool log_enabled(LogLevel level) { return static_cast<int>(level) <= static_cast<int>(g_level); }

std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  char hex[8];
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const auto next = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0;
    if (c < 0x20 || c == 0x7f) {
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {
      std::snprintf(hex, sizeof hex, "\\u%04x", next);
      out += hex;
      ++i;
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

void log_line(LogLevel level, std::string_view message) {
  // Wall-clock time is for the operator reading the log only; the agent's logic runs on ticks.
  timeval tv{};
  gettimeofday(&tv, nullptr);
  tm utc{};
  gmtime_r(&tv.tv_sec, &utc);
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(tv.tv_usec / 1000));
  std::string line;
  line.reserve(message.size() + 64);
  line += stamp;
  line += ' ';
  line += g_tag;
  line += ' ';
  line += log_level_name(level);
  line += ": ";
  std::string flat(message);
  for (char& c : flat)
    if (c == '\n' || c == '\r') c = ' ';
  line += printable(flat);
  line += '\n';
  // One fwrite per line keeps lines whole when ExaBGP interleaves our stderr with its own.
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace raftbgp::agent
