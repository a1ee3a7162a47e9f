#include "raftbgp/agent/announcer.h"

#include <sstream>

#include "raftbgp/transport/exabgp.h"

namespace raftbgp::agent {

using transport::IpPrefix;

RouteAnnouncer::RouteAnnouncer(NodeRouteContext ctx, Neighbors neighbor, std::vector<IpPrefix> reserved,
                               std::string record_path, RouteGuards guards)
    : ctx_(std::move(ctx)),
      neighbor_(std::move(neighbor)),
      reserved_(std::move(reserved)),
      record_path_(std::move(record_path)),
      guards_(std::move(guards)) {}

std::optional<FileError> RouteAnnouncer::load() {
  if (record_path_.empty()) return std::nullopt;
  auto content = read_file(record_path_);
  if (auto* e = std::get_if<FileError>(&content)) return *e;
  const auto& text = std::get<std::optional<std::string>>(content);
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    // Only well-formed prefixes: a withdraw of garbage would be answered `error` and teach nothing.
    if (auto p = IpPrefix::parse(line)) stale_.insert(p->to_string());
  }
  recorded_ = stale_;
  return std::nullopt;
}

std::map<std::string, std::string> RouteAnnouncer::desired(const std::map<std::string, v1::PolicyRoute>& policies) {
  std::map<std::string, std::string> out;
  problems_.clear();
  guard_refused_ = 0;
  for (const auto& [prefix, route] : policies) {
    if (!announced_by(route, ctx_.node_id)) continue;
    const auto p = IpPrefix::parse(prefix);
    bool reserved = false;
    for (const IpPrefix& r : reserved_) reserved = reserved || (p && prefixes_overlap(*p, r));
    if (!p || reserved) {
      problems_[prefix] = "overlaps this node's mailbox range: not announced";
      continue;
    }
    auto refusal = guard_refusal(route, guards_);
    if (!refusal && out.size() >= guards_.max_policy_routes)
      refusal = "more than guards.max_policy_routes (" + std::to_string(guards_.max_policy_routes) + ") routes";
    if (refusal) {
      problems_[prefix] = "refused by this router's guards: " + *refusal;
      ++guard_refused_;
      continue;
    }
    const bool v6 = route.prefix().find(':') != std::string::npos;
    auto line =
        format_policy_announce(route, ctx_, neighbor_.of(v6 ? transport::Family::kIpv6 : transport::Family::kIpv4));
    if (const auto* why = std::get_if<PolicyError>(&line)) {
      problems_[prefix] = why->message;
      continue;
    }
    out[prefix] = std::get<std::string>(line);
  }
  return out;
}

std::set<std::string> RouteAnnouncer::record_set() const {
  std::set<std::string> s = withdrawing_;
  for (const auto& [prefix, line] : announced_) s.insert(prefix);
  return s;
}

RouteAnnouncer::Diff RouteAnnouncer::reconcile(const std::map<std::string, v1::PolicyRoute>& policies) {
  const std::map<std::string, std::string> want = desired(policies);
  std::vector<std::string> withdraws, announces;
  std::map<std::string, std::string> next_announced;
  std::set<std::string> next_withdrawing = withdrawing_;
  std::set<std::string> gone = stale_;  // a previous incarnation's routes count as announced
  for (const auto& [prefix, line] : announced_) gone.insert(prefix);
  for (const auto& [prefix, line] : want) {
    gone.erase(prefix);
    auto it = announced_.find(prefix);
    if (first_reconcile_ || it == announced_.end() || it->second != line) announces.push_back(line);
    next_announced[prefix] = line;
    next_withdrawing.erase(prefix);
  }
  for (const std::string& prefix : gone) {
    const IpPrefix p = *IpPrefix::parse(prefix);
    withdraws.push_back(transport::format_withdraw(neighbor_.of(p.family), p));
    next_withdrawing.insert(prefix);
  }
  // Record before the commands leave: the record must cover everything ExaBGP may hold.
  std::set<std::string> record = next_withdrawing;
  for (const auto& [prefix, line] : next_announced) record.insert(prefix);
  Diff diff;
  if (record != recorded_) {
    if (auto e = write_record(record)) {
      diff.error = e;
      return diff;
    }
  }
  announced_ = std::move(next_announced);
  withdrawing_ = std::move(next_withdrawing);
  stale_.clear();
  first_reconcile_ = false;
  diff.lines = std::move(withdraws);
  for (std::string& l : announces) diff.lines.push_back(std::move(l));
  return diff;
}

void RouteAnnouncer::resend_all() {
  first_reconcile_ = true;
  stale_.insert(withdrawing_.begin(), withdrawing_.end());
}

void RouteAnnouncer::on_ack(const std::string& line, bool done) {
  const auto pos = line.find("withdraw route ");
  if (pos != std::string::npos) {
    const std::string prefix = line.substr(pos + 15);
    if (done && withdrawing_.erase(prefix) > 0) {
      const std::set<std::string> record = record_set();
      // A failed rewrite only leaves an extra prefix recorded: the next start withdraws it again.
      if (record != recorded_) (void)write_record(record);
    }
    return;
  }
  if (!done) {
    const auto p0 = line.find("announce route ");
    if (p0 == std::string::npos) return;
    const std::string rest = line.substr(p0 + 15);
    problems_[rest.substr(0, rest.find(' '))] = "ExaBGP answered error to: " + line;
  }
}

std::optional<FileError> RouteAnnouncer::write_record(const std::set<std::string>& prefixes) {
  if (record_path_.empty()) {
    recorded_ = prefixes;
    return std::nullopt;
  }
  std::string content;
  for (const std::string& p : prefixes) content += p + "\n";
  if (auto e = atomic_write_file(record_path_, content, Durability::kProcessCrash)) return e;
  recorded_ = prefixes;
  return std::nullopt;
}

}  // namespace raftbgp::agent
