// Change streams: `raftbgpctl kv watch [PREFIX]` and `policy watch` (ops kv.watch, policy.watch). A watch is a
// long-lived control-socket request: one ordinary answer line, then one line per change as THIS node applies it
// (control.h "Watch"), until the client goes away or the agent ends the stream with an error line.
//
// Feed: the StateMachine's change observer (state_machine.h StateChange), called inside the ready loop's apply.
// publish() only filters and appends to each subscriber's queue: O(subscribers), no IO, never waits. The control
// session drains a subscriber's queue into its socket as fast as the client reads (control_server.h).
//
// Bounded: each subscriber queues at most WatchLimits::max_queued_events changes or max_queued_bytes of lines. A
// watcher that falls further behind (its client reads too slowly, or not at all) is DROPPED: its queue is
// discarded and replaced by one too_slow error line naming the last index it was sent, then the stream ends. So a
// slow watcher costs the agent a bounded amount of memory and never blocks apply.
//
// History (--from-index N): the hub keeps the last WatchLimits::history changes it saw. A subscription from index
// N first receives every kept change with index >= N, then the live ones; N below the oldest index the history
// still covers completely is refused (not_found: the changes are gone). History starts at the first entry the
// node replays after its own snapshot at start; an installed snapshot restarts it after the snapshot's index (the
// snapshot's difference is streamed to live watchers, marked "snapshot": true, but not kept).
//
// One owner: the agent's io_context thread (no locks; STYLE habit 3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "raftbgp/agent/errors.h"
#include "raftbgp/agent/state_machine.h"

namespace raftbgp::agent {

struct WatchLimits {
  std::size_t max_queued_events = 4096;            // per subscriber, before it is dropped
  std::size_t max_queued_bytes = 4 * 1024 * 1024;  // per subscriber, event lines' bytes
  std::size_t history = 1024;                      // changes kept for --from-index
};

// What a subscriber wants: one table, keys (kv) or prefixes (policy, as text) that start with `prefix`.
struct WatchFilter {
  StateChange::Table table = StateChange::Table::kKv;
  std::string prefix;
  bool matches(const StateChange& c) const;
};

// A change as a watch line's "event" object: {"index", "key" (kv) or "prefix" (policy), "old", "new"} where old
// and new are the value (kv, a string) or the route (policy, policy_route_json), null when absent; and
// "snapshot": true for a snapshot's difference.
std::string watch_event_json(const StateChange& c);

// One subscriber's stream. Created by WatchHub::subscribe; the control session reads it with next() and cancels
// it when its client goes away.
class WatchStream {
 public:
  // One item for the client: an event object (watch_event_json) or the stream's last word, an error.
  using Item = std::variant<std::string, Refusal>;

  WatchStream(WatchFilter filter, WatchLimits limits) : filter_(std::move(filter)), limits_(limits) {}

  // The next item to send, or nullopt when nothing is queued now. After a Refusal, nothing more comes.
  std::optional<Item> next();
  // True once the stream has ended (dropped, or ended by the agent) and its last item was taken.
  bool finished() const { return finished_; }
  // The client went away: the hub forgets the stream at its next publish; queued items are discarded.
  void cancel();
  bool cancelled() const { return cancelled_; }
  // Called (on the agent's thread) when an item becomes available while none was queued: the session then
  // drains the queue. Not called for every item: a session drains until next() returns nullopt.
  void set_wakeup(std::function<void()> wakeup) { wakeup_ = std::move(wakeup); }

  std::size_t queued() const { return queue_.size(); }
  std::size_t queued_bytes() const { return queued_bytes_; }
  // The index of the last event next() handed out (0: none yet).
  raft::Index last_sent_index() const { return last_sent_; }

 private:
  friend class WatchHub;
  // Queues the change if it matches. Past the limits the stream is dropped (too_slow) instead.
  void offer(const StateChange& c);
  // Ends the stream after what is queued (or, when dropped, instead of it) with `why`.
  void end(Refusal why, bool discard_queue);
  void push(Item item, std::size_t bytes, raft::Index index);

  struct Queued {
    Item item;
    std::size_t bytes;
    raft::Index index;
  };
  WatchFilter filter_;
  WatchLimits limits_;
  std::deque<Queued> queue_;
  std::size_t queued_bytes_ = 0;
  raft::Index last_sent_ = 0;
  std::function<void()> wakeup_;
  bool ended_ = false;     // the last item (a Refusal) is queued: offer() ignores further changes
  bool finished_ = false;  // ... and was taken
  bool cancelled_ = false;
};

class WatchHub {
 public:
  explicit WatchHub(WatchLimits limits = {}) : limits_(limits) {}

  // Feeds the hub from `sm`'s applies from now on; the history covers every change above sm's applied index.
  void attach(StateMachine& sm);
  // A new subscriber. With from_index, the kept changes with index >= from_index are queued first; refused
  // (not_found) when the history no longer covers from_index.
  std::variant<std::shared_ptr<WatchStream>, Refusal> subscribe(WatchFilter filter,
                                                                std::optional<raft::Index> from_index);
  // One applied change: to every live subscriber that wants it, and into the history.
  void publish(const StateChange& c);
  // Ends every stream with `why` after what each has queued (the agent is stopping).
  void end_all(const Refusal& why);

  std::size_t subscribers() const;                    // live ones (not cancelled, not ended)
  std::uint64_t dropped() const { return dropped_; }  // subscribers dropped as too slow, since start
  raft::Index history_from() const { return complete_from_; }

 private:
  void forget_gone();

  WatchLimits limits_;
  std::vector<std::shared_ptr<WatchStream>> subs_;
  std::deque<StateChange> history_;  // oldest first
  raft::Index complete_from_ = 1;    // history_ holds every change with index >= this
  std::uint64_t dropped_ = 0;
};

}  // namespace raftbgp::agent
