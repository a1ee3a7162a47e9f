// Agent logging: one line per event on stderr (stdout belongs to ExaBGP's command stream, docs/architecture.md §4).
//
//   2025-01-01T12:00:00.123Z raftbgpd[1] info: became leader term=3
//
// Levels error < warn < info < debug; a message is written when its level is at or below the threshold
// (default info). Never log key material or client values: callers pass ids, sizes and reasons only.
// One thread (the agent's io_context) writes; the level is process-wide state set at start and on SIGHUP.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace raftbgp::agent {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

// "error" | "warn" | "info" | "debug"; nullopt otherwise.
std::optional<LogLevel> parse_log_level(std::string_view text);
const char* log_level_name(LogLevel level);

// Sets the threshold and the tag printed after the program name (the node id).
void set_log_level(LogLevel level);
void set_log_tag(std::string tag);
bool log_enabled(LogLevel level);

// Writes one line. Cheap when disabled. A newline or carriage return inside `message` becomes a space;
// other control characters are escaped (printable below): messages quote client-chosen ids, and a
// terminal or log viewer must not interpret them.
void log_line(LogLevel level, std::string_view message);

// `s` made safe for a terminal: control characters (C0, DEL, and C1 as UTF-8 U+0080..U+009F) become
// \xNN (C1: \u00NN) and a backslash is doubled, so the result is unambiguous and cannot move the cursor,
// retitle the window or recolour the screen. Other bytes (UTF-8 included) pass unchanged.
std::string printable(std::string_view s);

}  // namespace raftbgp::agent

#define AGENT_LOG(level, expr)                                                           \
  do {                                                                                   \
    if (::raftbgp::agent::log_enabled(level)) ::raftbgp::agent::log_line(level, (expr)); \
  } while (0)
#define LOG_ERROR(expr) AGENT_LOG(::raftbgp::agent::LogLevel::kError, expr)
#define LOG_WARN(expr) AGENT_LOG(::raftbgp::agent::LogLevel::kWarn, expr)
#define LOG_INFO(expr) AGENT_LOG(::raftbgp::agent::LogLevel::kInfo, expr)
#define LOG_DEBUG(expr) AGENT_LOG(::raftbgp::agent::LogLevel::kDebug, expr)
