#include "raftbgp/agent/send_groups.h"

#include <algorithm>
#include <map>
#include <string>

namespace raftbgp::agent {
namespace {

// The message's bytes as if `to` were 0 (proto3 omits it): equal keys mean equal messages but for `to`.
std::string key_without_to(const raft::Message& m) {
  if (m.to() == 0) return m.SerializeAsString();
  raft::Message copy(m);
  copy.clear_to();
  return copy.SerializeAsString();
}

}  // namespace

std::vector<SendGroup> group_for_send(std::span<const raft::Message> messages, std::uint64_t self,
                                      std::size_t max_destinations) {
  std::vector<SendGroup> groups;
  groups.reserve(messages.size());
  if (messages.size() < 2) {
    for (std::size_t i = 0; i < messages.size(); ++i) groups.push_back({i, {messages[i].to()}});
    return groups;
  }
  std::vector<std::string> keys;                    // per group; empty for a group that takes no others
  std::map<std::uint64_t, std::size_t> last_group;  // destination -> index of its latest group
  keys.reserve(messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const std::uint64_t to = messages[i].to();
    const bool groupable = to != self && to != 0;
    std::string key = groupable ? key_without_to(messages[i]) : std::string();
    const auto last = last_group.find(to);
    // Only groups after this destination's latest one keep its order; scanning back stops there.
    const std::size_t floor = last == last_group.end() ? 0 : last->second + 1;
    std::size_t joined = groups.size();
    for (std::size_t g = groups.size(); groupable && g > floor; --g) {
      const SendGroup& cand = groups[g - 1];
      if (cand.to.size() < max_destinations && !keys[g - 1].empty() && keys[g - 1] == key) {
        joined = g - 1;
        break;
      }
    }
    if (joined == groups.size()) {
      groups.push_back({i, {}});
      keys.push_back(groupable ? std::move(key) : std::string());
    }
    groups[joined].to.push_back(to);
    last_group[to] = joined;
  }
  return groups;
}

}  // namespace raftbgp::agent
