#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "ctl.h"
#include "raftbgp/agent/control.h"
#include "raftbgp/agent/log.h"

namespace raftbgp::agent::ctl {

using nlohmann::json;

// One value for human output; strings are made printable. (Non-const json everywhere below: operator[]
// of a const json on a missing key is undefined behaviour; the non-const one inserts null, shown "-".)
std::string cell(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return printable(v.get<std::string>());
  return printable(v.dump());
}

namespace {
void print_transport(json& s);
}  // namespace

void print_status(json& s) {
  std::printf("node %s  cluster %s  role %s  term %s  leader %s\n", cell(s["node_id"]).c_str(),
              cell(s["cluster_id"]).c_str(), cell(s["role"]).c_str(), cell(s["term"]).c_str(),
              cell(s["leader"]).c_str());
  std::printf("commit %s  applied %s  log %s..%s  epoch %s\n", cell(s["commit"]).c_str(), cell(s["applied"]).c_str(),
              cell(s["first_index"]).c_str(), cell(s["last_index"]).c_str(), cell(s["epoch"]).c_str());
  json& snap = s["snapshot"];
  std::printf("snapshot last %s  taken %s  installed %s  transfers %zu\n\n", cell(snap["last_index"]).c_str(),
              cell(snap["taken"]).c_str(), cell(snap["installed"]).c_str(), snap["transfers"].size());
  print_members(s);
  print_transport(s);
}

// Voters first, then learners, each by id, so a 32-router cluster reads top-down; Lag is the leader's last index
// minus the member's match (only the leader knows matches), and a last line counts members per role and state.
void print_members(json& s) {
  struct Row {
    json* m;
    bool voter;
    std::uint64_t id;
  };
  std::vector<Row> rows;
  for (json& m : s["members"])
    rows.push_back({&m, m["voter"].get<bool>(), m["id"].is_number_unsigned() ? m["id"].get<std::uint64_t>() : 0});
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.voter != b.voter ? a.voter : a.id < b.id; });
  const bool has_last = s["last_index"].is_number_unsigned();
  std::map<std::string, std::map<std::string, int>> counts;  // role -> state -> members
  std::printf("%-8s %-8s %-10s %-8s %-10s %-8s %s\n", "Member", "Role", "Match", "Lag", "State", "Contact", "Info");
  for (const Row& r : rows) {
    json& m = *r.m;
    std::string info = m["id"] == s["node_id"] ? "self" : "";
    if (m["id"] == s["leader"]) info += info.empty() ? "leader" : ",leader";
    const std::string contact = m["last_contact_ms"].is_null() ? "-" : cell(m["last_contact_ms"]) + "ms";
    std::string lag = "-";
    if (has_last && m["match"].is_number_unsigned()) {
      const auto last = s["last_index"].get<std::uint64_t>(), match = m["match"].get<std::uint64_t>();
      lag = std::to_string(last > match ? last - match : 0);
    }
    const char* role = r.voter ? "voter" : "learner";
    ++counts[role][m["state"].is_string() ? printable(m["state"].get<std::string>()) : "unknown"];
    std::printf("%-8s %-8s %-10s %-8s %-10s %-8s %s\n", cell(m["id"]).c_str(), role, cell(m["match"]).c_str(),
                lag.c_str(), cell(m["state"]).c_str(), contact.c_str(), info.c_str());
  }
  std::string summary;
  for (const char* role : {"voter", "learner"}) {
    int n = 0;
    std::string states;
    for (const auto& [state, k] : counts[role]) {
      n += k;
      states += (states.empty() ? "" : ", ") + std::to_string(k) + " " + state;
    }
    if (n > 0) summary += (summary.empty() ? "" : "; ") + std::to_string(n) + " " + role + "s (" + states + ")";
  }
  if (!summary.empty()) std::printf("%s\n", summary.c_str());
}

namespace {
void print_transport(json& s) {
  json& t = s["transport"];
  std::string reasons;
  for (const auto& [k, v] : t["rejected"].items())
    if (v.get<std::uint64_t>() > 0) reasons += " " + printable(k) + "=" + v.dump();
  std::printf("\nTransport: frames sent %s received %s rejected %s%s%s\n", cell(t["frames_sent"]).c_str(),
              cell(t["frames_received"]).c_str(), cell(t["rejected_total"]).c_str(), reasons.empty() ? "" : " (",
              reasons.empty() ? "" : (reasons.substr(1) + ")").c_str());
  std::printf("           fragments pending %s  exabgp queue %s outstanding / %s waiting  dropped %s\n",
              cell(t["fragments_pending"]).c_str(), cell(t["queue_outstanding"]).c_str(),
              cell(t["queue_waiting"]).c_str(), cell(t["queue_dropped"]).c_str());
}

}  // namespace

void print_cluster(json& v) {
  std::printf("leader %s's view (asked node %s%s)  term %s  commit %s  last %s  applied %s\n",
              cell(v["leader"]).c_str(), cell(v["node_id"]).c_str(), v.value("forwarded", false) ? ", forwarded" : "",
              cell(v["term"]).c_str(), cell(v["commit"]).c_str(), cell(v["last_index"]).c_str(),
              cell(v["applied"]).c_str());
  std::printf("voters %s  learners %s\n\n", cell(v["voters"]).c_str(), cell(v["learners"]).c_str());
  print_members(v);
}

namespace {
// A policy route in one short line: only the attributes it sets.
std::string route_summary(json& r) {
  if (r.is_null()) return "-";
  std::string out = "next-hop " + (r["next_hop"].is_string() && !r["next_hop"].get<std::string>().empty()
                                       ? cell(r["next_hop"])
                                       : std::string("(node's own)"));
  for (const char* k : {"med", "local_pref", "prepend"})
    if (r.contains(k) && !r[k].is_null() && r[k] != 0) out += std::string(" ") + k + " " + cell(r[k]);
  for (const char* k : {"communities", "large_communities", "nodes"})
    if (r.contains(k) && r[k].is_array() && !r[k].empty()) {
      std::string list;
      for (const json& x : r[k]) list += (list.empty() ? "" : ",") + cell(x);
      out += std::string(" ") + k + " " + list;
    }
  return out;
}
}  // namespace

void print_watch_event(json& e) {
  const bool kv = e.contains("key");
  const bool was = !e["old"].is_null(), now = !e["new"].is_null();
  const char* what = kv ? (now ? "put" : "delete") : (was && now ? "change" : now ? "add" : "remove");
  const std::string old_s = kv ? cell(e["old"]) : route_summary(e["old"]);
  const std::string new_s = kv ? cell(e["new"]) : route_summary(e["new"]);
  std::printf("%-8s %-7s %s  %s -> %s%s\n", cell(e["index"]).c_str(), what, cell(kv ? e["key"] : e["prefix"]).c_str(),
              old_s.c_str(), new_s.c_str(), e.value("snapshot", false) ? "  (installed snapshot)" : "");
}

void print_policies(json& routes) {
  std::printf("%-24s %-16s %-6s %-6s %-4s %-24s %-24s %s\n", "Prefix", "Next-hop", "MED", "LPref", "Prep",
              "Communities", "Large", "Nodes");
  for (json& r : routes) {
    auto join = [](const json& a) {
      std::string s;
      for (const json& v : a) s += (s.empty() ? "" : ",") + cell(v);
      return s.empty() ? std::string("-") : s;
    };
    const std::string nh = r["next_hop"].get<std::string>().empty() ? "(node's own)" : cell(r["next_hop"]);
    std::printf("%-24s %-16s %-6s %-6s %-4s %-24s %-24s %s\n", cell(r["prefix"]).c_str(), nh.c_str(),
                cell(r["med"]).c_str(), cell(r["local_pref"]).c_str(), cell(r["prepend"]).c_str(),
                join(r["communities"]).c_str(), join(r["large_communities"]).c_str(),
                r["nodes"].empty() ? "all" : join(r["nodes"]).c_str());
  }
}

}  // namespace raftbgp::agent::ctl
