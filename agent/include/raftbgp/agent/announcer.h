// RouteAnnouncer: keeps this node's ExaBGP announcing exactly the policy routes the applied state asks
// of it (docs/architecture.md §4), by sending only the difference after each apply.
//
// State: `announced_` maps canonical prefix -> the announce command last sent for it. reconcile() compares
// it with the desired commands (format_policy_announce for each policy whose `nodes` include this node):
//   desired, not announced or with another command -> the new announce (BGP replaces by prefix)
//   announced, not desired                         -> withdraw
// Prefixes overlapping a reserved (mailbox) range are never announced here: the proposer already refused
// them, and this second check keeps mailbox and policy routes apart even with a mismatched config.
// Nor is a route this router's local guards refuse (policy.h RouteGuards), nor any beyond the first
// guards.max_policy_routes it would announce (in prefix order): each is listed in problems() and
// counted in guard_refused().
//
// Stale routes of a previous incarnation. ExaBGP keeps its RIB when it respawns the agent, and a crash
// can come between a withdraw and its ack. So the announcer keeps a record file (`<data_dir>/announced`,
// one prefix per line, atomic writes that outlive a crash of the agent but, like ExaBGP's RIB, not a power loss:
// files.h Durability::kProcessCrash) of every prefix that may be in ExaBGP's RIB: it is rewritten with (desired ∪
// withdrawals not yet acked) BEFORE the commands are handed out, and shrinks when a withdraw is acked. At start, load()
// reads it; the first reconcile() then withdraws every recorded prefix that is no longer desired and re-announces every
// desired one (ExaBGP may have restarted too, with an empty RIB; an identical re-announce is suppressed by ExaBGP's
// cache, docs/exabgp.md §4.2, so it costs nothing on the wire).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "raftbgp/agent/files.h"
#include "raftbgp/agent/policy.h"
#include "raftbgp/transport/mailbox.h"

namespace raftbgp::agent {

class RouteAnnouncer {
 public:
  // `record_path` "" disables the record file (unit tests of the diff alone).
  RouteAnnouncer(NodeRouteContext ctx, Neighbors neighbor, std::vector<transport::IpPrefix> reserved,
                 std::string record_path, RouteGuards guards = {});

  // Reads the record file of a previous incarnation (missing file: nothing recorded).
  std::optional<FileError> load();

  // Commands that move ExaBGP from what was announced to what `policies` asks of this node, in the order
  // to write them (withdrawals first). Updates the record file first; a failure to write it is returned
  // in `error` and the commands are withheld (retried at the next reconcile).
  struct Diff {
    std::vector<std::string> lines;
    std::optional<FileError> error;
  };
  Diff reconcile(const std::map<std::string, v1::PolicyRoute>& policies);

  // The commands handed out may never have reached ExaBGP (watchdog reset): the next reconcile() re-sends
  // every desired announce and the withdraw of every prefix not desired or still being withdrawn.
  void resend_all();

  // ExaBGP answered one of our commands. A `done` withdraw leaves the record; an `error` is logged by the
  // caller and kept in problems().
  void on_ack(const std::string& line, bool done);

  // prefix -> announce command currently believed in ExaBGP's RIB.
  const std::map<std::string, std::string>& announced() const { return announced_; }
  // Prefixes with a withdraw sent but not yet acked.
  const std::set<std::string>& withdrawing() const { return withdrawing_; }
  // prefix -> why this node does not announce a route the policy asks of it (or why ExaBGP refused it).
  const std::map<std::string, std::string>& problems() const { return problems_; }
  // Routes of the last reconcile() that this router's guards kept from being announced.
  std::size_t guard_refused() const { return guard_refused_; }

 private:
  std::map<std::string, std::string> desired(const std::map<std::string, v1::PolicyRoute>& policies);
  std::optional<FileError> write_record(const std::set<std::string>& prefixes);
  std::set<std::string> record_set() const;

  NodeRouteContext ctx_;
  Neighbors neighbor_;
  std::vector<transport::IpPrefix> reserved_;
  std::string record_path_;
  std::map<std::string, std::string> announced_;
  std::set<std::string> withdrawing_;
  std::set<std::string> recorded_;  // content of the record file as last written
  std::set<std::string> stale_;     // recorded by a previous incarnation, not yet reconciled
  bool first_reconcile_ = true;
  std::map<std::string, std::string> problems_;
  RouteGuards guards_;
  std::size_t guard_refused_ = 0;
};

}  // namespace raftbgp::agent
