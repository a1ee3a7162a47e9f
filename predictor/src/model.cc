#include "raftbgp/predict/model.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

namespace raftbgp::predict {
namespace {

using nlohmann::json;

constexpr double kFloorUs = 50;

// ---- YAML ---------------------------------------------------------------------------------------

struct YamlError {
  std::string what;
};

// A delay in milliseconds: a number (constant), {const: x}, {uniform: [lo, hi]}, {normal: [mean, sd]},
// {exponential: mean}, {sum: [delay...]}, or the name of a hop.
Distribution parse_delay(const YAML::Node& n, const std::map<std::string, Distribution>& hops,
                         const std::string& where) {
  constexpr double kUs = 1000;
  if (n.IsScalar()) {
    const std::string s = n.as<std::string>();
    if (auto it = hops.find(s); it != hops.end()) return it->second;
    try {
      return Distribution::constant(n.as<double>() * kUs);
    } catch (const YAML::Exception&) {
      throw YamlError{where + ": '" + s + "' is neither a number of ms nor a hop name"};
    }
  }
  if (n.IsSequence()) {  // a path: the sum of its hops
    std::vector<Distribution> parts;
    for (const YAML::Node& p : n) parts.push_back(parse_delay(p, hops, where));
    return Distribution::sum(std::move(parts));
  }
  if (!n.IsMap() || n.size() != 1) throw YamlError{where + ": a delay is a number, a hop name, a list or one key"};
  const std::string kind = n.begin()->first.as<std::string>();
  const YAML::Node v = n.begin()->second;
  auto pair = [&](const char* what) {
    if (!v.IsSequence() || v.size() != 2) throw YamlError{where + ": " + kind + " takes [" + what + "]"};
    return std::make_pair(v[0].as<double>() * kUs, v[1].as<double>() * kUs);
  };
  if (kind == "const") return Distribution::constant(v.as<double>() * kUs);
  if (kind == "uniform") {
    auto [lo, hi] = pair("lo, hi");
    return Distribution::uniform(lo, hi);
  }
  if (kind == "normal") {
    auto [m, sd] = pair("mean, sd");
    return Distribution::normal(m, sd);
  }
  if (kind == "exponential") return Distribution::exponential(v.as<double>() * kUs);
  if (kind == "sum") return parse_delay(v, hops, where);
  throw YamlError{where + ": unknown delay kind '" + kind + "'"};
}

// ---- model files ----------------------------------------------------------------------------------

Distribution from_histogram(const json& h, double scale = 1.0, double offset_us = 0) {
  std::vector<double> upper;
  std::vector<std::uint64_t> counts;
  std::uint64_t prev = 0;
  for (std::size_t i = 0; i < h["bounds"].size(); ++i) {
    upper.push_back(h["bounds"][i].get<double>() * 1e6);
    const std::uint64_t c = h["counts"][i].get<std::uint64_t>();
    counts.push_back(c - prev);
    prev = c;
  }
  // Samples past the last bound (+Inf) are put in the last bucket.
  if (!counts.empty()) counts.back() += h["count"].get<std::uint64_t>() - prev;
  const double first_lower = upper.empty() ? 0 : upper.front() / std::exp2(0.25);
  Distribution d = Distribution::empirical(std::move(upper), std::move(counts), first_lower);
  if (scale == 1.0 && offset_us == 0) return d;
  return Distribution::affine(d, scale, offset_us, kFloorUs);
}

std::uint64_t count_of(const json& h) {
  return h.is_object() && h.contains("count") ? h["count"].get<std::uint64_t>() : 0;
}

// The notes' line for the model's co_move, and where it came from.
std::string co_move_note(const Model& m, const std::string& source) {
  return "links move together: rho " + std::to_string(m.co_move) + ", tau " + std::to_string(m.co_move_tau_us / 1000) +
         " ms" + source;
}

}  // namespace

double co_move_at(const Model& m, double dt_us) {
  if (m.co_move <= 0) return 0;
  return m.co_move * std::exp(-std::max(0.0, dt_us) / std::max(1.0, m.co_move_tau_us));
}

const Distribution& Model::link(NodeId from, NodeId to) const {
  auto it = links.find({from, to});
  return it == links.end() ? default_link : it->second;
}
const Distribution& Model::fsync_of(NodeId n) const {
  auto it = fsync.find(n);
  return it == fsync.end() ? default_fsync : it->second;
}
const Distribution& Model::work_of(NodeId n) const {
  auto it = work.find(n);
  return it == work.end() ? default_work : it->second;
}
const Distribution* Model::persist_of(NodeId n) const {
  auto it = persist.find(n);
  return it == persist.end() ? nullptr : &it->second;
}
const Distribution& Model::apply_of(NodeId n) const {
  auto it = apply.find(n);
  return it == apply.end() ? default_apply : it->second;
}

std::variant<Model, std::string> model_from_yaml(const std::string& text) {
  Model m;
  try {
    const YAML::Node y = YAML::Load(text);
    if (!y["nodes"] || !y["nodes"].IsSequence()) return "topology: `nodes` (a list of node ids) is required";
    for (const YAML::Node& n : y["nodes"]) m.voters.push_back(n.as<NodeId>());
    m.leader = y["leader"] ? y["leader"].as<NodeId>() : m.voters.front();
    if (std::find(m.voters.begin(), m.voters.end(), m.leader) == m.voters.end())
      return "topology: `leader` is not one of `nodes`";
    if (const YAML::Node t = y["timers"]) {
      if (t["tick_ms"]) m.tick_us = t["tick_ms"].as<double>() * 1000;
      if (t["election_ticks"]) m.election_ticks = t["election_ticks"].as<int>();
      if (t["heartbeat_ticks"]) m.heartbeat_ticks = t["heartbeat_ticks"].as<int>();
    }
    std::map<std::string, Distribution> hops;
    if (const YAML::Node h = y["hops"])
      for (const auto& kv : h) {
        const std::string name = kv.first.as<std::string>();
        hops[name] = parse_delay(kv.second, hops, "hops." + name);
        m.notes.push_back("hop " + name + ": " + hops[name].describe());
      }
    if (const YAML::Node c = y["co_move"]) {
      if (!c.IsMap() || !c["rho"] || !c["tau_ms"])
        return "topology: `co_move` takes {rho: r, tau_ms: t} (how the links' delays move together, model.h)";
      m.co_move = c["rho"].as<double>();
      m.co_move_tau_us = c["tau_ms"].as<double>() * 1000;
      if (!(m.co_move >= 0 && m.co_move <= 1) || !(m.co_move_tau_us > 0))
        return "topology: `co_move` needs 0 <= rho <= 1 and tau_ms > 0";
      m.notes.push_back(co_move_note(m, ""));
    }
    if (!y["path"]) return "topology: `path` (the default one-way path between two agents) is required";
    m.default_link = parse_delay(y["path"], hops, "path");
    m.notes.push_back("links: " + m.default_link.describe() + " one way, unless listed");
    if (const YAML::Node ls = y["links"])
      for (const YAML::Node& l : ls) {
        const NodeId a = l["from"].as<NodeId>(), b = l["to"].as<NodeId>();
        const Distribution d = parse_delay(l["path"], hops, "links");
        m.links[{a, b}] = d;
        if (!l["one_way"] || !l["one_way"].as<bool>()) m.links[{b, a}] = d;
        m.notes.push_back("link " + std::to_string(a) + "-" + std::to_string(b) + ": " + d.describe());
      }
    m.default_fsync = y["fsync"] ? parse_delay(y["fsync"], hops, "fsync") : Distribution::constant(0);
    m.default_apply = y["apply"] ? parse_delay(y["apply"], hops, "apply") : Distribution::constant(0);
    m.default_work = y["work"] ? parse_delay(y["work"], hops, "work") : Distribution::constant(0);
    m.notes.push_back("fsync: " + m.default_fsync.describe() + "; apply: " + m.default_apply.describe() +
                      "; work: " + m.default_work.describe());
  } catch (const YamlError& e) {
    return "topology: " + e.what;
  } catch (const YAML::Exception& e) {
    return std::string("topology: ") + e.what();
  }
  return m;
}

std::optional<std::pair<double, double>> fit_co_move(const json& c) {
  constexpr std::uint64_t kMinBinPairs = 30, kMinPairs = 100;
  if (!c.is_object() || !c.contains("gap_upper_seconds")) return std::nullopt;
  const json& upper = c["gap_upper_seconds"];
  struct Bin {
    double gap_us, r, weight;
  };
  std::vector<Bin> bins;
  std::uint64_t total = 0;
  for (std::size_t k = 0; k < upper.size(); ++k) {  // the last bin (past the last bound) has no gap to fit to
    const std::uint64_t n = c["pairs"][k].get<std::uint64_t>();
    if (n < kMinBinPairs) continue;
    const double dn = static_cast<double>(n);
    const double sx = c["sum_x"][k].get<double>(), sy = c["sum_y"][k].get<double>();
    const double vx = c["sum_xx"][k].get<double>() - sx * sx / dn, vy = c["sum_yy"][k].get<double>() - sy * sy / dn;
    if (vx <= 0 || vy <= 0) continue;
    const double r = (c["sum_xy"][k].get<double>() - sx * sy / dn) / std::sqrt(vx * vy);
    const double hi = upper[k].get<double>() * 1e6, lo = k == 0 ? 0 : upper[k - 1].get<double>() * 1e6;
    bins.push_back({lo == 0 ? hi / 2 : std::sqrt(lo * hi), r, dn});
    total += n;
  }
  if (total < kMinPairs) return std::nullopt;
  double best_err = std::numeric_limits<double>::infinity(), best_rho = 0, best_tau = 0;
  for (int j = 0; j <= 64; ++j) {
    const double tau = 200 * std::exp2(j / 4.0);  // 0.2 ms to 13 s
    for (int i = 0; i <= 99; ++i) {
      const double rho = i / 100.0;
      double err = 0;
      for (const Bin& b : bins) err += b.weight * std::pow(b.r - rho * std::exp(-b.gap_us / tau), 2);
      if (err < best_err) best_err = err, best_rho = rho, best_tau = tau;
    }
  }
  return std::make_pair(best_rho, best_tau);
}

std::variant<Model, std::string> model_from_dumps(const std::vector<std::string>& texts,
                                                  std::optional<std::pair<double, double>> co_move) {
  Model m;
  std::vector<json> dumps;
  for (const std::string& t : texts) {
    json j = json::parse(t, nullptr, false);
    const bool ok =
        !j.is_discarded() && j.is_object() && j.contains("format") && j["format"] == json("raftbgp-latency-model/1");
    if (!ok) return "model: not a raftbgp-latency-model/1 file (raftbgpctl debug model)";
    dumps.push_back(std::move(j));
  }
  if (dumps.empty()) return "model: no model file";
  try {
    // Members and timers: from the leader's file when there is one, else the first.
    const json* ref = &dumps.front();
    for (const json& d : dumps)
      if (d["role"] == "leader") ref = &d;
    for (const json& v : (*ref)["voters"]) m.voters.push_back(v.get<NodeId>());
    m.leader = (*ref)["leader"].get<NodeId>();
    if (m.leader == 0) m.leader = m.voters.front();
    m.tick_us = (*ref)["timers"]["tick_ms"].get<double>() * 1000;
    m.election_ticks = (*ref)["timers"]["election_ticks"].get<int>();
    m.heartbeat_ticks = (*ref)["timers"]["heartbeat_ticks"].get<int>();
    if (!co_move) co_move = fit_co_move(ref->value("rtt_co_move", json()));
    if (co_move) {
      m.co_move = co_move->first;
      m.co_move_tau_us = co_move->second;
      m.notes.push_back(
          co_move_note(m, ref->contains("rtt_co_move")
                              ? " (fitted to " + std::to_string((*ref)["node_id"].get<NodeId>()) + "'s rtt_co_move)"
                              : ""));
    } else {
      m.notes.push_back("links drawn independently (no rtt_co_move with enough pairs)");
    }
    std::vector<Distribution> all_fsync, all_apply;
    std::map<NodeId, Distribution> service;  // the peer's time from an AppendEntries to its answer (see model.h)
    for (const json& d : dumps) {
      const NodeId n = d["node_id"].get<NodeId>();
      if (count_of(d.value("append_service_seconds", json())) >= kMinSamples) {
        service[n] = from_histogram(d["append_service_seconds"]);
        m.notes.push_back("service " + std::to_string(n) + ": AppendEntries delivered -> answer written, " +
                          service[n].describe());
      }
      if (count_of(d["fsync_seconds"]) > 0) {
        m.fsync[n] = from_histogram(d["fsync_seconds"]);
        service.try_emplace(n, m.fsync[n]);
        all_fsync.push_back(m.fsync[n]);
        m.notes.push_back("fsync " + std::to_string(n) + ": " + m.fsync[n].describe());
      }
      if (count_of(d["apply_seconds"]) > 0) {
        m.apply[n] = from_histogram(d["apply_seconds"]);
        all_apply.push_back(m.apply[n]);
        m.notes.push_back("apply " + std::to_string(n) + ": " + m.apply[n].describe());
      }
    }
    m.default_fsync = Distribution::mixture(all_fsync);
    m.default_apply = Distribution::mixture(all_apply);
    // The agent's work besides the fsync, from the followers' answer times.
    std::vector<Distribution> all_work;
    for (const json& d : dumps) {
      const NodeId n = d["node_id"].get<NodeId>();
      if (!m.fsync.count(n)) continue;
      // The simulated leader works as this node did when it led (proposal -> AppendEntries written), a follower as it
      // did answering.
      std::string key = n == m.leader ? "propose_service_seconds" : "append_service_seconds";
      json h = d.value(key, json());
      if (count_of(h) < kMinSamples) {
        key = "append_service_seconds";
        h = d.value(key, json());
      }
      if (count_of(h) < kMinSamples) continue;
      if (key == "propose_service_seconds") {
        // A leader's AppendEntries leave before its WAL fsync (the output hook), so its proposal -> AppendEntries
        // written holds no WAL fsync: it is the work before the send, drawn whole, and the fsync follows it.
        // Not in the mixture for the nodes without a work of their own: a follower's work holds no such save.
        m.work[n] = from_histogram(h);
        m.notes.push_back("work " + std::to_string(n) + ": " + m.work[n].describe() + " (" + key +
                          ": its AppendEntries leave after it, then the fsync)");
        continue;
      }
      m.work[n] = from_histogram(h, 1.0, -m.fsync[n].quantile_estimate(0.5));
      m.persist[n] = from_histogram(h);
      all_work.push_back(m.work[n]);
      m.notes.push_back("persist " + std::to_string(n) + ": " + m.persist[n].describe() + " (" + key +
                        ", fsync and work drawn as one)");
      m.notes.push_back("work " + std::to_string(n) + ": " + m.work[n].describe() + " (" + key +
                        " less p50 fsync; for the nodes without a persist of their own)");
    }
    m.default_work = Distribution::mixture(all_work);  // a node without answers (the leader) works like the others
    if (all_fsync.empty()) m.notes.push_back("fsync: nothing measured, 0");
    // Per link, the best measurement either end holds: AppendEntries round trips before heartbeats before votes
    // (each needs kMinSamples; a few vote round trips from the cluster's first election, while peers were still
    // starting, once stood for a whole link), then the larger sample.
    struct Source {
      int rank = 0;
      NodeId a = 0, b = 0;  // a measured, towards b
      const json* hist = nullptr;
    };
    constexpr const char* kSources[] = {"append_rtt_seconds", "heartbeat_rtt_seconds", "vote_rtt_seconds"};
    std::map<std::pair<NodeId, NodeId>, Source> best;
    for (const json& d : dumps) {
      const NodeId a = d["node_id"].get<NodeId>();
      if (!d["peers"].is_object()) continue;
      for (const auto& [key, p] : d["peers"].items()) {
        const NodeId b = std::stoull(key);
        // Only links between voters are simulated. A learner's answers are paced (agent/include/raftbgp/agent/
        // ack_pacing.h: held up to a few ticks), so its round trips would also spoil the mixture that stands in for
        // the links nobody measured.
        if (std::find(m.voters.begin(), m.voters.end(), a) == m.voters.end() ||
            std::find(m.voters.begin(), m.voters.end(), b) == m.voters.end())
          continue;
        for (int rank = 0; rank < 3; ++rank) {
          const auto it = p.find(kSources[rank]);
          if (it == p.end() || count_of(*it) < kMinSamples) continue;
          Source& cur = best[{std::min(a, b), std::max(a, b)}];
          if (cur.hist == nullptr || rank < cur.rank || (rank == cur.rank && count_of(*it) > count_of(*cur.hist)))
            cur = Source{rank, a, b, &*it};
          break;
        }
      }
    }
    std::vector<Distribution> measured;
    for (const auto& [pair, src] : best) {
      // The peer's own part of the round trip, drawn apart: its whole distribution, not a median taken off every round
      // trip (which left the spread of its fsync in the links, where the simulator drew it a second time on top of
      // the fsync it draws itself). A heartbeat's answer costs the peer no fsync and little work: taken whole.
      const auto sv = service.find(src.b);
      const Distribution within = src.rank == 1         ? Distribution::constant(0)
                                  : sv != service.end() ? sv->second
                                  : all_fsync.empty()   ? Distribution::constant(0)
                                                        : m.default_fsync;
      const bool less = src.rank != 1;
      // The way out and the way back are drawn about half a round trip apart: they move together by that much.
      const Distribution rtt = from_histogram(*src.hist);
      const Distribution one =
          Distribution::half_of(rtt, kFloorUs, within, co_move_at(m, rtt.quantile_estimate(0.5) / 2));
      m.links[{src.a, src.b}] = one;
      m.links[{src.b, src.a}] = one;
      measured.push_back(one);
      m.notes.push_back("link " + std::to_string(src.a) + "-" + std::to_string(src.b) + ": " + one.describe() +
                        " from " + std::to_string(count_of(*src.hist)) + " " + kSources[src.rank] + " of " +
                        std::to_string(src.a) +
                        (less ? ", with " + std::to_string(src.b) + "'s service drawn apart" : "") +
                        ", split in two halves that add up to it");
    }
    if (measured.empty()) return "model: no link was measured (dump the leader after some writes)";
    m.default_link = Distribution::mixture(measured);
    for (NodeId a : m.voters)
      for (NodeId b : m.voters)
        if (a < b && !m.links.count({a, b}))
          m.notes.push_back("link " + std::to_string(a) + "-" + std::to_string(b) +
                            ": not measured (dump that node as leader), the mixture of the measured links");
  } catch (const json::exception& e) {
    return std::string("model: ") + e.what();
  }
  return m;
}

}  // namespace raftbgp::predict
