// Entry points shared by the libFuzzer targets (built with clang when RAFTBGP_BUILD_FUZZ=ON) and by the
// corpus replay test (tests/agent/control_corpus_test.cc, always built), so both drive the same code.
// Each must accept any bytes without crashing, throwing, or leaking; a broken invariant aborts.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "raftbgp/agent/config.h"
#include "raftbgp/agent/control.h"
#include "raftbgp/agent/policy.h"
#include "raftbgp/agent/state_machine.h"
#include "raftbgp/transport/ack_router.h"

namespace raftbgp::agent::fuzz {

inline void check(bool ok) {
  if (!ok) std::abort();
}

// A response line must be one line of valid JSON.
inline void check_response_line(const std::string& line) {
  check(line.find('\n') == std::string::npos);
  check(!nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false).is_discarded());
}

inline void handle_line(const std::string& line, std::size_t max_line) {
  check(line.size() <= max_line && line.find('\n') == std::string::npos);
  auto parsed = parse_request(line);
  if (auto* r = std::get_if<ParsedRequest>(&parsed)) {
    check(r->id.is_primitive() && r->request.args.is_object());
    check(r->request.timeout_ms >= 1 && r->request.timeout_ms <= kMaxTimeoutMs);
    ClientResponse ok;
    ok.ok = true;
    ok.result = r->request.args;  // echo the (possibly invalid UTF-8) strings back
    ok.result["op"] = r->request.op;
    ok.result["client_id"] = r->request.client_id;
    check_response_line(format_response(r->id, ok));
  } else {
    const auto& e = std::get<RequestError>(parsed);
    check(e.id.is_primitive());
    check_response_line(format_error(e.id, ErrorCode::kBadRequest, e.message));
  }
}

// The control socket's request path: line framing, then parse_request and the response on each line.
// The bytes go through two framers: the server's (64 KiB lines, one append; each line is parsed), and
// a small one fed in chunks of 1..16 bytes (split points taken from the input) for the overflow paths.
inline void fuzz_control(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  {
    LineFramer framer;
    if (framer.append(input)) {
      while (auto line = framer.next_line()) handle_line(*line, kMaxRequestBytes);
    }
  }
  constexpr std::size_t kSmall = 48;
  LineFramer framer(kSmall);
  std::size_t lines = 0;
  for (std::size_t pos = 0; pos < size;) {
    const std::size_t chunk = std::min<std::size_t>(size - pos, 1 + data[pos] % 16);
    const bool usable = framer.append(input.substr(pos, chunk));
    pos += chunk;
    while (auto line = framer.next_line()) {  // framing only: the first pass parsed these lines
      check(line->size() <= kSmall && line->find('\n') == std::string::npos);
      ++lines;
    }
    check(usable || framer.overflowed());
    if (framer.overflowed()) {
      check(!framer.append("x") && !framer.next_line());
      break;
    }
  }
  check(lines <= static_cast<std::size_t>(std::count(input.begin(), input.end(), '\n')));
}

// The YAML config parser (parse_config, which load_config uses): a ConfigError naming a field, or a
// config that satisfies the documented rules.
inline void fuzz_config(const std::uint8_t* data, std::size_t size) {
  auto r = parse_config(std::string_view(reinterpret_cast<const char*>(data), size));
  if (auto* e = std::get_if<ConfigError>(&r)) {
    check(!e->field.empty() && !e->message.empty());
    return;
  }
  const AgentConfig& c = std::get<AgentConfig>(r);
  check(!c.members.empty() && std::is_sorted(c.members.begin(), c.members.end()));
  check(std::adjacent_find(c.members.begin(), c.members.end()) == c.members.end());
  check(std::binary_search(c.members.begin(), c.members.end(), c.node_id) != c.joining);
  check(c.node_id >= 1 && c.cluster_id >= 1 && c.heartbeat_ticks < c.election_ticks);
  check(!c.data_dir.empty() && c.data_dir.front() == '/' && !c.key_file.empty() && c.key_file.front() == '/');
  check(c.socket_path.size() < 108 && c.socket_path.front() == '/');
}

// Policy route validation (policy.h validate_policy_route), the check every forwarded command, log
// entry and snapshot passes before a route can reach ExaBGP. Input: a serialized PolicyRoute when the
// first byte is even, else text fields separated by '|' (prefix|next_hop|community...|large...) so the
// fuzzer reaches the text parsers directly. A route that validates must be a fixed point of
// canonicalization and give one safe ExaBGP line; apply must agree with validation.
inline void fuzz_policy(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  v1::PolicyRoute route;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    if (!route.ParseFromArray(rest.data(), static_cast<int>(rest.size()))) return;
  } else {
    std::size_t field = 0, start = 0;
    for (std::size_t i = 0; i <= rest.size(); ++i) {
      if (i < rest.size() && rest[i] != '|') continue;
      const std::string part(rest.substr(start, i - start));
      if (field == 0)
        route.set_prefix(part);
      else if (field == 1)
        route.set_next_hop(part);
      else if (part.find(':') != part.rfind(':'))
        route.add_large_communities(part);
      else
        route.add_communities(part);
      ++field;
      start = i + 1;
    }
    route.set_prepend(data[0] % 20);
  }
  const auto err = validate_policy_route(route);
  v1::Command cmd;
  cmd.set_client_id("fuzz");
  cmd.set_seq(1);
  *cmd.mutable_policy_add()->mutable_route() = route;
  StateMachine sm;
  const v1::Result applied = sm.apply(1, cmd);
  check((applied.code() == v1::Result::OK) == !err);
  check(sm.policies().size() == (err ? 0u : 1u));
  if (err) {
    check(!err->field.empty() && !err->message.empty());
    return;
  }
  for (const std::string* s : {&route.prefix(), &route.next_hop()}) check(command_text_ok(*s));
  for (const auto& c : route.communities()) check(command_text_ok(c));
  for (const auto& c : route.large_communities()) check(command_text_ok(c));
  const auto line = format_policy_announce(route, NodeRouteContext{1, "self", "fd00::1", 65001}, "192.0.2.254");
  if (const auto* text = std::get_if<std::string>(&line)) check(transport::AckRouter::line_is_safe(*text));
  check(sm.restore(sm.serialize(), 1) == std::nullopt);
}

}  // namespace raftbgp::agent::fuzz
