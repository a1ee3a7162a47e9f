// Policy as code on the client side: `policy apply -f FILE [--dry-run]`, `policy export`, `policy history`.
// apply reads the file (every error listed, nothing sent when it has any), reads the cluster's table
// (policy.show, linearizable), computes and shows the diff, and sends the whole table as one policy.apply
// (one Raft entry). The agent checks the routes again against its node-local limits and lists every error.
#include <ctime>
#include <fstream>
#include <sstream>

#include "ctl.h"
#include "raftbgp/agent/log.h"
#include "raftbgp/agent/policy_file.h"

namespace raftbgp::agent::ctl {

using nlohmann::json;

namespace {

std::vector<v1::PolicyRoute> routes_of(const json& show) {
  std::vector<v1::PolicyRoute> out;
  for (const json& r : show.at("routes")) out.push_back(policy_route_from_json(r));
  return out;
}

json prefixes(const std::vector<v1::PolicyRoute>& routes) {
  json a = json::array();
  for (const auto& r : routes) a.push_back(r.prefix());
  return a;
}

std::variant<json, Failure> read_policy_file(const std::string& path, std::vector<v1::PolicyRoute>& routes) {
  std::ifstream in(path);
  if (!in) return Failure{kExitUsage, "bad_file", "cannot read " + path};
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = parse_policy_file(text.str());
  if (auto* errors = std::get_if<std::vector<ConfigError>>(&parsed)) {
    std::string all = path + ": " + std::to_string(errors->size()) + " error(s), nothing was sent";
    for (const ConfigError& e : *errors) all += "\nline " + std::to_string(e.line) + ": " + e.to_string();
    return Failure{kExitUsage, "invalid_policy", all};
  }
  routes = std::get<std::vector<v1::PolicyRoute>>(parsed);
  return json::object();
}

}  // namespace

std::variant<json, Failure> policy_apply(const PolicyApplyRequest& req) {
  std::vector<v1::PolicyRoute> desired;
  if (auto r = read_policy_file(req.file, desired); std::holds_alternative<Failure>(r)) return r;
  auto shown = req.send("policy.show", json::object());
  if (auto* f = std::get_if<Failure>(&shown)) return *f;
  const json& show = std::get<json>(shown);
  const PolicyDiff diff = diff_policy(routes_of(show), desired);
  json out{{"dry_run", req.dry_run},
           {"diff", {{"added", prefixes(diff.added)}, {"removed", prefixes(diff.removed)}, {"changed", json::array()}}},
           {"diff_text", format_policy_diff(diff)}};
  for (const auto& [was, now] : diff.changed) out["diff"]["changed"].push_back(now.prefix());
  // Nothing to change: no entry (and no history record) unless the operator asks for a dry run.
  if (diff.empty() && !req.dry_run) {
    out["unchanged"] = true;
    out["index"] = show.value("index", json(nullptr));
    return out;
  }
  json args{{"routes", json::array()}, {"dry_run", req.dry_run}};
  for (const auto& r : desired) args["routes"].push_back(policy_route_json(r));
  auto applied = req.send("policy.apply", args);
  if (auto* f = std::get_if<Failure>(&applied)) return *f;
  if (!req.dry_run) out["index"] = std::get<json>(applied).value("index", json(nullptr));
  return out;
}

int show_policy_apply(json& r) {
  const std::string diff = r.value("diff_text", "");
  std::printf("%s", diff.empty() ? "no changes\n" : printable(diff).c_str());
  if (r.value("dry_run", false)) {
    std::printf("dry run: the agent accepted every route; nothing was applied\n");
  } else if (r.value("unchanged", false)) {
    std::printf("already in effect at index %s\n", cell(r["index"]).c_str());
  } else {
    std::printf("applied at index %s (one entry)\n", cell(r["index"]).c_str());
  }
  return kExitOk;
}

int show_policy_export(json& r) { return std::printf("%s", export_policy_file(routes_of(r)).c_str()), kExitOk; }

void print_history(json& changes) {
  std::printf("%-8s %-20s %-6s %-16s %-24s %-6s %s\n", "Index", "When (UTC)", "UID", "Host", "Client", "Op", "Change");
  for (json& c : changes) {
    const std::int64_t ms = c.value("unix_ms", std::int64_t{0});
    char when[32] = "-";
    if (ms > 0) {
      const std::time_t t = static_cast<std::time_t>(ms / 1000);
      std::tm tm{};
      ::gmtime_r(&t, &tm);
      std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    std::string change;
    for (const auto& [sign, key] : {std::pair{"+", "added"}, {"-", "removed"}, {"~", "changed"}})
      for (const json& p : c[key]) change += (change.empty() ? "" : " ") + std::string(sign) + cell(p);
    std::printf("%-8s %-20s %-6s %-16s %-24s %-6s %s\n", cell(c["index"]).c_str(), when, cell(c["uid"]).c_str(),
                cell(c["hostname"]).c_str(), cell(c["client_id"]).c_str(), cell(c["op"]).c_str(),
                change.empty() ? "(no change)" : change.c_str());
  }
}

}  // namespace raftbgp::agent::ctl
