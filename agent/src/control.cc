#include "raftbgp/agent/control.h"

#include <algorithm>
#include <iterator>

namespace raftbgp::agent {

using nlohmann::json;

bool LineFramer::append(std::string_view bytes) {
  if (overflowed_) return false;
  buffer_.append(bytes);
  // Only the line being assembled counts against the cap here; complete lines are checked by next_line.
  const std::size_t last_nl = buffer_.rfind('\n');
  const std::size_t tail = last_nl == std::string::npos ? buffer_.size() : buffer_.size() - last_nl - 1;
  if (tail > max_line_) overflowed_ = true;
  return !overflowed_;
}

std::optional<std::string> LineFramer::next_line() {
  if (overflowed_) return std::nullopt;
  const std::size_t nl = buffer_.find('\n');
  if (nl == std::string::npos) return std::nullopt;
  if (nl > max_line_) {
    overflowed_ = true;
    return std::nullopt;
  }
  std::string line = buffer_.substr(0, nl);
  buffer_.erase(0, nl + 1);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

bool is_uint(const json& v) { return v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0); }

std::variant<ParsedRequest, RequestError> parse_request(std::string_view line) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return RequestError{nullptr, "not JSON"};
  if (!j.is_object()) return RequestError{nullptr, "a request is a JSON object"};
  ParsedRequest out;
  if (auto it = j.find("id"); it != j.end()) {
    if (!it->is_primitive()) return RequestError{nullptr, "id must be a scalar"};
    out.id = *it;
  }
  auto fail = [&](std::string message) { return RequestError{out.id, std::move(message)}; };
  static constexpr std::string_view kFields[] = {"id", "op", "args", "client_id", "seq", "timeout_ms"};
  for (const auto& [key, value] : j.items())
    if (std::find(std::begin(kFields), std::end(kFields), key) == std::end(kFields))
      return fail("unknown field \"" + key + "\"");
  auto op = j.find("op");
  if (op == j.end() || !op->is_string()) return fail("op must be a string");
  out.request.op = op->get<std::string>();
  if (auto it = j.find("args"); it != j.end()) {
    if (!it->is_object()) return fail("args must be an object");
    out.request.args = *it;
  }
  if (auto it = j.find("client_id"); it != j.end()) {
    if (!it->is_string()) return fail("client_id must be a string");
    out.request.client_id = it->get<std::string>();
  }
  if (auto it = j.find("seq"); it != j.end()) {
    if (!is_uint(*it)) return fail("seq must be a non-negative integer");
    out.request.seq = it->get<std::uint64_t>();
  }
  if (auto it = j.find("timeout_ms"); it != j.end()) {
    if (!is_uint(*it) || it->get<std::uint64_t>() == 0 || it->get<std::uint64_t>() > kMaxTimeoutMs)
      return fail("timeout_ms must be an integer in 1..600000");
    out.request.timeout_ms = it->get<std::uint64_t>();
  }
  return out;
}

bool op_is_exactly_once(std::string_view op) {
  const OpSpec* spec = find_op(op);
  return spec != nullptr && spec->exactly_once;
}

bool op_changes_state(std::string_view op) {
  const OpSpec* spec = find_op(op);
  return spec != nullptr && spec->changes_state;
}

std::string dump_json(const json& j, int indent) { return j.dump(indent, ' ', false, json::error_handler_t::replace); }

std::string format_response(const json& id, const ClientResponse& r) {
  json out{{"id", id}, {"ok", r.ok}};
  if (r.ok) {
    out["result"] = r.result;
  } else {
    out["error"] = json{{"code", std::string(error_name(r.code))}, {"message", r.message}};
    if (!r.result.empty()) out["result"] = r.result;
  }
  return dump_json(out);
}

std::string format_error(const json& id, ErrorCode code, const std::string& message) {
  return format_response(id, error_response(code, message));
}

}  // namespace raftbgp::agent
