#include "raftbgp/agent/watch.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "raftbgp/agent/control.h"
#include "raftbgp/agent/policy_file.h"

namespace raftbgp::agent {

using nlohmann::json;

bool WatchFilter::matches(const StateChange& c) const {
  return c.table == table && c.key.compare(0, prefix.size(), prefix) == 0;
}

std::string watch_event_json(const StateChange& c) {
  json e{{"index", c.index}};
  if (c.table == StateChange::Table::kKv) {
    e["key"] = c.key;
    e["old"] = c.old_value ? json(*c.old_value) : json(nullptr);
    e["new"] = c.new_value ? json(*c.new_value) : json(nullptr);
  } else {
    e["prefix"] = c.key;
    e["old"] = c.old_route ? policy_route_json(*c.old_route) : json(nullptr);
    e["new"] = c.new_route ? policy_route_json(*c.new_route) : json(nullptr);
  }
  if (c.snapshot) e["snapshot"] = true;
  return dump_json(e);
}

std::optional<WatchStream::Item> WatchStream::next() {
  if (queue_.empty() || cancelled_) return std::nullopt;
  Queued q = std::move(queue_.front());
  queue_.pop_front();
  queued_bytes_ -= q.bytes;
  if (std::holds_alternative<Refusal>(q.item)) {
    finished_ = true;
  } else {
    last_sent_ = q.index;
  }
  return std::move(q.item);
}

void WatchStream::cancel() {
  cancelled_ = true;
  queue_.clear();
  queued_bytes_ = 0;
  wakeup_ = nullptr;  // it holds the session: let it go
}

void WatchStream::push(Item item, std::size_t bytes, raft::Index index) {
  const bool was_empty = queue_.empty();
  queue_.push_back(Queued{std::move(item), bytes, index});
  queued_bytes_ += bytes;
  if (was_empty && wakeup_) wakeup_();
}

void WatchStream::offer(const StateChange& c) {
  if (ended_ || cancelled_ || !filter_.matches(c)) return;
  std::string line = watch_event_json(c);
  if (queue_.size() + 1 > limits_.max_queued_events || queued_bytes_ + line.size() > limits_.max_queued_bytes) {
    // Its client reads too slowly: drop it rather than hold the agent's memory (watch.h).
    const raft::Index resume = last_sent_ + 1;
    return end(Refusal{ErrorCode::kTooSlow,
                       "this watcher fell more than " + std::to_string(limits_.max_queued_events) +
                           " changes behind (its client reads too slowly) and was dropped at index " +
                           std::to_string(c.index) + "; every change up to index " + std::to_string(last_sent_) +
                           " was sent: watch again with --from-index " + std::to_string(resume)},
               /*discard_queue=*/true);
  }
  const std::size_t bytes = line.size();
  push(std::move(line), bytes, c.index);
}

void WatchStream::end(Refusal why, bool discard_queue) {
  if (ended_ || cancelled_) return;
  ended_ = true;
  if (discard_queue) {
    queue_.clear();
    queued_bytes_ = 0;
  }
  push(std::move(why), 0, 0);
}

void WatchHub::attach(StateMachine& sm) {
  complete_from_ = sm.applied_index() + 1;
  sm.set_change_observer([this](const StateChange& c) { publish(c); });
}

std::variant<std::shared_ptr<WatchStream>, Refusal> WatchHub::subscribe(WatchFilter filter,
                                                                        std::optional<raft::Index> from_index) {
  if (from_index && *from_index < complete_from_)
    return Refusal{ErrorCode::kNotFound, "changes before index " + std::to_string(complete_from_) +
                                             " are not kept here (the last " + std::to_string(limits_.history) +
                                             " changes since this node's start or its last snapshot install are); "
                                             "--from-index " +
                                             std::to_string(*from_index) + " cannot be served"};
  auto stream = std::make_shared<WatchStream>(std::move(filter), limits_);
  if (from_index)
    for (const StateChange& c : history_)
      if (c.index >= *from_index) stream->offer(c);
  forget_gone();
  subs_.push_back(stream);
  return stream;
}

void WatchHub::publish(const StateChange& c) {
  forget_gone();
  for (const auto& s : subs_) {
    const bool was_ended = s->ended_;
    s->offer(c);
    if (!was_ended && s->ended_) ++dropped_;
  }
  if (c.snapshot) {
    // The entries the snapshot covers were never seen here one by one: the history restarts after it.
    history_.clear();
    complete_from_ = c.index + 1;
    return;
  }
  history_.push_back(c);
  while (history_.size() > limits_.history) {
    complete_from_ = std::max(complete_from_, history_.front().index + 1);
    history_.pop_front();
  }
}

void WatchHub::end_all(const Refusal& why) {
  for (const auto& s : subs_) s->end(why, /*discard_queue=*/false);
  subs_.clear();
}

std::size_t WatchHub::subscribers() const {
  return static_cast<std::size_t>(
      std::count_if(subs_.begin(), subs_.end(), [](const auto& s) { return !s->cancelled_ && !s->ended_; }));
}

void WatchHub::forget_gone() {
  std::erase_if(subs_, [](const std::shared_ptr<WatchStream>& s) { return s->cancelled_ || s->ended_; });
}

}  // namespace raftbgp::agent
