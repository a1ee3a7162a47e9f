#include "raftbgp/agent/policy_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "raftbgp/agent/policy.h"

namespace raftbgp::agent {
namespace {

using nlohmann::json;

// Collects the errors of one file; each reader records its error and returns nullopt, so every field of
// every route is checked.
struct Reader {
  std::vector<ConfigError> errors;

  void error(const std::string& field, const std::string& why, const YAML::Node& at) {
    errors.push_back({field, why, at.Mark().line + 1});
  }

  std::optional<std::string> text(const YAML::Node& n, const std::string& field) {
    if (!n.IsScalar()) return error(field, "must be a string", n), std::nullopt;
    return n.Scalar();
  }

  std::optional<std::uint64_t> number(const YAML::Node& n, const std::string& field, std::uint64_t max) {
    const std::string s = n.IsScalar() ? n.Scalar() : std::string();
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v > max)
      return error(field, "must be an integer in 0.." + std::to_string(max), n), std::nullopt;
    return v;
  }

  // A list of scalars, each read by `item`.
  template <class F>
  void list(const YAML::Node& n, const std::string& field, F&& item) {
    if (!n || n.IsNull()) return;  // absent (an invalid node) or empty
    if (!n.IsSequence()) return error(field, "must be a list", n);
    for (std::size_t i = 0; i < n.size(); ++i) item(n[i], field + "[" + std::to_string(i) + "]");
  }

  // Only `known` keys, each once (yaml-cpp keeps both copies of a duplicate; lookups see the first).
  bool only_keys(const YAML::Node& map, const std::string& field, std::initializer_list<std::string_view> known) {
    if (!map.IsMap()) return error(field, "must be a mapping", map), false;
    std::set<std::string> seen;
    const std::size_t before = errors.size();
    for (const auto& kv : map) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
      const std::string where = field.empty() ? key : field + "." + key;
      if (std::find(known.begin(), known.end(), key) == known.end())
        error(where, "unknown key", kv.first);
      else if (!seen.insert(key).second)
        error(where, "duplicate key", kv.first);
    }
    return errors.size() == before;
  }

  std::optional<v1::PolicyRoute> route(const YAML::Node& n, const std::string& field) {
    if (!only_keys(n, field,
                   {"prefix", "next_hop", "communities", "large_communities", "med", "local_pref", "prepend", "nodes"}))
      return std::nullopt;
    const std::size_t before = errors.size();
    v1::PolicyRoute r;
    if (!n["prefix"]) error(field + ".prefix", "is required", n);
    if (auto s = n["prefix"] ? text(n["prefix"], field + ".prefix") : std::nullopt) r.set_prefix(*s);
    if (auto s = n["next_hop"] ? text(n["next_hop"], field + ".next_hop") : std::nullopt) r.set_next_hop(*s);
    list(n["communities"], field + ".communities", [&](const YAML::Node& c, const std::string& f) {
      if (auto s = text(c, f)) r.add_communities(*s);
    });
    list(n["large_communities"], field + ".large_communities", [&](const YAML::Node& c, const std::string& f) {
      if (auto s = text(c, f)) r.add_large_communities(*s);
    });
    if (n["med"])
      if (auto v = number(n["med"], field + ".med", 0xffffffffu)) r.set_med(static_cast<std::uint32_t>(*v));
    if (n["local_pref"])
      if (auto v = number(n["local_pref"], field + ".local_pref", 0xffffffffu))
        r.set_local_pref(static_cast<std::uint32_t>(*v));
    if (n["prepend"])
      if (auto v = number(n["prepend"], field + ".prepend", kMaxPrepend)) r.set_prepend(static_cast<std::uint32_t>(*v));
    list(n["nodes"], field + ".nodes", [&](const YAML::Node& c, const std::string& f) {
      if (auto v = number(c, f, ~std::uint64_t{0})) r.add_nodes(*v);
    });
    if (errors.size() != before) return std::nullopt;
    // The node-independent checks; the receiving agent adds its own (mailbox ranges, membership).
    PolicyLimits limits;
    limits.members.assign(r.nodes().begin(), r.nodes().end());
    std::sort(limits.members.begin(), limits.members.end());
    auto canon = canonicalize_policy(r, limits);
    if (auto* e = std::get_if<PolicyError>(&canon)) return error(field + "." + e->field, e->message, n), std::nullopt;
    return std::get<v1::PolicyRoute>(canon);
  }
};

std::map<std::string, v1::PolicyRoute> by_prefix(const std::vector<v1::PolicyRoute>& routes) {
  std::map<std::string, v1::PolicyRoute> m;
  for (const auto& r : routes) m.emplace(r.prefix(), r);
  return m;
}

template <class List>
std::string bracketed(const List& items) {
  std::string s = "[";
  for (const auto& i : items) s += (s.size() > 1 ? " " : "") + std::string(i);
  return s + "]";
}

}  // namespace

std::variant<std::vector<v1::PolicyRoute>, std::vector<ConfigError>> parse_policy_file(std::string_view yaml_text) {
  Reader rd;
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return std::vector<ConfigError>{{"(yaml)", e.msg, e.mark.line + 1}};
  }
  std::vector<v1::PolicyRoute> routes;
  try {
    if (doc.IsNull())
      return std::vector<ConfigError>{{"(document)", "empty file: write `routes: []` to withdraw all", 1}};
    if (!rd.only_keys(doc, "", {"routes"})) return rd.errors;
    const YAML::Node list = doc["routes"];
    if (!list) return std::vector<ConfigError>{{"routes", "is required (`routes: []` withdraws every route)", 1}};
    if (!list.IsSequence() && !list.IsNull()) return std::vector<ConfigError>{{"routes", "must be a list", 1}};
    std::map<std::string, int> seen;  // canonical prefix -> line
    for (std::size_t i = 0; list.IsSequence() && i < list.size(); ++i) {
      const std::string field = "routes[" + std::to_string(i) + "]";
      auto r = rd.route(list[i], field);
      if (!r) continue;
      auto [it, fresh] = seen.emplace(r->prefix(), list[i].Mark().line + 1);
      if (!fresh)
        rd.error(field + ".prefix",
                 "duplicate prefix " + r->prefix() + " (first at line " + std::to_string(it->second) + ")", list[i]);
      else
        routes.push_back(std::move(*r));
    }
  } catch (const YAML::Exception& e) {
    rd.errors.push_back({"(yaml)", e.msg, e.mark.line + 1});
  }
  if (!rd.errors.empty()) return rd.errors;
  std::sort(routes.begin(), routes.end(), [](const auto& a, const auto& b) { return a.prefix() < b.prefix(); });
  return routes;
}

std::string export_policy_file(const std::vector<v1::PolicyRoute>& routes) {
  YAML::Emitter out;
  out << YAML::Comment("raftbgp policy: raftbgpctl policy apply -f FILE makes the cluster's table exactly this");
  out << YAML::BeginMap << YAML::Key << "routes" << YAML::Value << YAML::BeginSeq;
  for (const auto& [prefix, r] : by_prefix(routes)) {
    out << YAML::BeginMap << YAML::Key << "prefix" << YAML::Value << prefix;
    if (!r.next_hop().empty()) out << YAML::Key << "next_hop" << YAML::Value << r.next_hop();
    auto seq = [&](const char* key, const auto& items) {
      if (items.empty()) return;
      out << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (const auto& i : items) out << i;
      out << YAML::EndSeq;
    };
    seq("communities", r.communities());
    seq("large_communities", r.large_communities());
    if (r.has_med()) out << YAML::Key << "med" << YAML::Value << r.med();
    if (r.has_local_pref()) out << YAML::Key << "local_pref" << YAML::Value << r.local_pref();
    if (r.prepend() != 0) out << YAML::Key << "prepend" << YAML::Value << r.prepend();
    seq("nodes", r.nodes());
    out << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

json policy_route_json(const v1::PolicyRoute& r) {
  json j{{"prefix", r.prefix()}, {"next_hop", r.next_hop()}, {"prepend", r.prepend()}};
  j["communities"] = json::array();
  for (const auto& c : r.communities()) j["communities"].push_back(c);
  j["large_communities"] = json::array();
  for (const auto& c : r.large_communities()) j["large_communities"].push_back(c);
  j["med"] = r.has_med() ? json(r.med()) : json(nullptr);
  j["local_pref"] = r.has_local_pref() ? json(r.local_pref()) : json(nullptr);
  j["nodes"] = json::array();
  for (auto n : r.nodes()) j["nodes"].push_back(n);
  return j;
}

v1::PolicyRoute policy_route_from_json(const json& j) {
  v1::PolicyRoute r;
  r.set_prefix(j.at("prefix").get<std::string>());
  if (j.contains("next_hop") && !j["next_hop"].is_null()) r.set_next_hop(j["next_hop"].get<std::string>());
  if (j.contains("communities"))
    for (const auto& c : j["communities"]) r.add_communities(c.get<std::string>());
  if (j.contains("large_communities"))
    for (const auto& c : j["large_communities"]) r.add_large_communities(c.get<std::string>());
  if (j.contains("med") && !j["med"].is_null()) r.set_med(j["med"].get<std::uint32_t>());
  if (j.contains("local_pref") && !j["local_pref"].is_null()) r.set_local_pref(j["local_pref"].get<std::uint32_t>());
  if (j.contains("prepend") && !j["prepend"].is_null()) r.set_prepend(j["prepend"].get<std::uint32_t>());
  if (j.contains("nodes"))
    for (const auto& n : j["nodes"]) r.add_nodes(n.get<std::uint64_t>());
  return r;
}

json policy_change_json(const v1::PolicyChange& c) {
  const bool known = c.has_author();
  return json{{"index", c.index()},
              {"client_id", c.client_id()},
              {"uid", known ? c.author().uid() : -1},
              {"hostname", c.author().hostname()},
              {"unix_ms", c.author().unix_ms()},
              {"op", c.op()},
              {"added", std::vector<std::string>(c.added().begin(), c.added().end())},
              {"removed", std::vector<std::string>(c.removed().begin(), c.removed().end())},
              {"changed", std::vector<std::string>(c.changed().begin(), c.changed().end())}};
}

PolicyDiff diff_policy(const std::vector<v1::PolicyRoute>& current, const std::vector<v1::PolicyRoute>& desired) {
  PolicyDiff d;
  const auto now = by_prefix(current);
  const auto want = by_prefix(desired);
  for (const auto& [prefix, r] : want) {
    auto it = now.find(prefix);
    if (it == now.end())
      d.added.push_back(r);
    else if (it->second.SerializeAsString() != r.SerializeAsString())
      d.changed.emplace_back(it->second, r);
  }
  for (const auto& [prefix, r] : now)
    if (want.count(prefix) == 0) d.removed.push_back(r);
  return d;
}

std::string policy_route_summary(const v1::PolicyRoute& r) {
  std::vector<std::string> parts;
  if (!r.next_hop().empty()) parts.push_back("next_hop " + r.next_hop());
  if (!r.communities().empty()) parts.push_back("communities " + bracketed(r.communities()));
  if (!r.large_communities().empty()) parts.push_back("large_communities " + bracketed(r.large_communities()));
  if (r.has_med()) parts.push_back("med " + std::to_string(r.med()));
  if (r.has_local_pref()) parts.push_back("local_pref " + std::to_string(r.local_pref()));
  if (r.prepend() != 0) parts.push_back("prepend " + std::to_string(r.prepend()));
  if (!r.nodes().empty()) {
    std::vector<std::string> ids;
    for (auto n : r.nodes()) ids.push_back(std::to_string(n));
    parts.push_back("nodes " + bracketed(ids));
  }
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : " ") + p;
  return s;
}

std::string format_policy_diff(const PolicyDiff& d) {
  std::string out;
  auto line = [&](char sign, const std::string& prefix, const std::string& what) {
    out += std::string(1, sign) + " " + prefix + (what.empty() ? "" : " " + what) + "\n";
  };
  for (const auto& r : d.added) line('+', r.prefix(), policy_route_summary(r));
  for (const auto& r : d.removed) line('-', r.prefix(), policy_route_summary(r));
  for (const auto& [was, now] : d.changed) {
    const std::string a = policy_route_summary(was), b = policy_route_summary(now);
    line('~', now.prefix(), (a.empty() ? "(defaults)" : a) + " -> " + (b.empty() ? "(defaults)" : b));
  }
  return out;
}

}  // namespace raftbgp::agent
