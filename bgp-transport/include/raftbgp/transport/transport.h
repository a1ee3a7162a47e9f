// Transport: the whole bgp-transport for one node, behind two calls (docs/architecture.md §3).
//
//   send(message, destinations) -> command lines for ExaBGP (write each + '\n' to ExaBGP, in order)
//   on_line(line, now_tick)     -> delivered Messages, plus command lines the acks released
//   tick(now_tick)              -> ages the reassembly buffers
//
// The caller owns all IO and time: it reads ExaBGP's output line by line, feeds every line to on_line,
// and writes every returned line. Nothing here blocks, sleeps, or reads a clock. Not thread-safe: one
// owner (the agent's io_context thread, or a ping tool's loop).
//
// Delivery contract: a delivered Message was sealed by a holder of a cluster key with (src, epoch,
// sequence) never delivered before; its `from` equals the frame's source; `to` is rewritten to my_id (one
// frame can name several destinations). Loss, reordering and coalescing are possible; duplicates are not
// (see replay.h), within one process and across restarts as far as the owner persists the replay state
// (export_replay_state below; raftbgpd saves it before every WAL sync and at shutdown).
//
// Slots (the routers' RIB footprint, docs/architecture.md §3): a mailbox route lives only while its message
// can still be in flight. Each fragment takes the lowest slot of its mailbox that is free or whose last
// announcement ExaBGP acknowledged at least `slot_reuse_ticks` ago (so a transit that coalesces updates of one
// prefix inside its queue, FRR ~50 ms per hop, has delivered the previous version before it is replaced; a slot
// whose announcement still waits in our queue or ExaBGP's is never taken, or two versions would leave together
// and coalesce); a slot not re-announced for `slot_ttl_ticks` after its acknowledgement is withdrawn by tick(). Under
// load a mailbox holds about rate x slot_reuse_ticks routes (at most the layout's slots); idle, only what was sent in
// the last slot_ttl_ticks. When every slot is younger than slot_reuse_ticks the oldest is reused anyway (counted in
// slots_reused_early: that message may be lost to coalescing, and Raft retransmits).
//
// Presence (docs/architecture.md §3 "Quiet when idle"): the top kPresenceSlots slots of every mailbox are not in
// the ring. send(message, destinations, presence = n) puts a one-fragment message on slot slots() - 1 - n of its
// mailbox and keeps it announced (never withdrawn by tick(), never taken by the ring; the next presence send with
// the same n replaces it) until release_presence() withdraws every presence route. A quiet leader's last
// heartbeat thus stays in every RIB, and its withdrawal (by release_presence(), by the next incarnation's
// withdraw_leftovers(), or by the transits when the leader's BGP session dies) reaches the followers as
// Received::presence_withdrawn at BGP speed.
//
// Session events: after `state: down` ExaBGP sends no withdrawals and, after `up`, re-sends every route
// still announced (docs/exabgp.md §4.4). The transport keeps its replay windows and its reassembly buffers across
// the flap, so the re-send is absorbed as kReplay (counted) and may even complete a half-received message.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "raftbgp/transport/counters.h"
#include "raftbgp/transport/crypto.h"
#include "raftbgp/transport/deflate.h"
#include "raftbgp/transport/exabgp.h"
#include "raftbgp/transport/fragment.h"
#include "raftbgp/transport/mailbox.h"
#include "raftbgp/transport/replay.h"
#include "raftbgp/transport/send_queue.h"
#include "raftbgp/v1/raft.pb.h"

namespace raftbgp::transport {

// Slots per mailbox reserved for presence routes (see "Presence"); the ring has the rest.
inline constexpr std::uint32_t kPresenceSlots = 4;

struct TransportConfig {
  std::uint32_t cluster_id = 0;
  std::uint64_t my_id = 0;                             // 1..mailbox max_node_id()
  std::vector<std::uint64_t> members;                  // every id must fit the mailbox layouts (checked by create)
  Family family = Family::kIpv6;                       // family of the mailbox prefixes we announce
  MailboxLayout ipv6 = MailboxLayout::default_ipv6();  // received prefixes are matched against both layouts
  MailboxLayout ipv4 = MailboxLayout::default_ipv4();
  std::string next_hop_ipv4 = "self";   // "self" or an IPv4 address
  std::string next_hop_ipv6;            // an IPv6 address; required when family == kIpv6
  std::string neighbor;                 // non-empty: every command is prefixed "neighbor <ip> "
  std::uint8_t attribute_code = 0xff;   // RFC 2042 development code; never 0xfe
  std::uint8_t attribute_flags = 0xc0;  // optional transitive
  // Bytes of attribute per announcement, frame header and AEAD tag included. 2900 fits BIRD's 3040-byte
  // limit with margin (docs/exabgp.md §2); up to kMaxFrameBytes only where every hop negotiates RFC 8654.
  std::size_t payload_budget = 2900;
  ReassemblyLimits reassembly;         // max_message_bytes also caps what send() accepts
  std::uint64_t slot_reuse_ticks = 2;  // >= 1; see "Slots" above (ticks of tick()/on_line())
  std::uint64_t slot_ttl_ticks = 10;   // > slot_reuse_ticks; withdraw a slot this long after its last use
  // Compress a message (deflate.h) when that makes it shorter, and send it as frame version 3. Off: every
  // frame is v2, which nodes older than v3 can open (a rolling upgrade, frame.h). Received v3 frames are opened
  // either way.
  bool compress = true;
  std::size_t ack_window = 64;    // commands outstanding at ExaBGP
  std::size_t max_queued = 4096;  // commands waiting behind the window
  KeyRing keys;
  std::uint32_t active_key_id = 0;  // must be in keys
  std::uint64_t epoch = 0;          // 1..kMaxEpoch; persisted and bumped by the caller on every boot
  // Mixed into our sealing subkey (crypto.h). 0 (the default): create() draws a fresh random one, which is
  // what every real sender must do; a fixed value is for byte-exact test output only.
  std::uint64_t boot_id = 0;
};

class Transport {
 public:
  // Validates the config; the error names the field.
  static std::variant<Transport, std::string> create(TransportConfig config);

  // Frames `message` for `destinations` (ids other than my_id; duplicates ignored; at most
  // kMaxDestinations), fragments it to the payload budget, gives each fragment a slot (see "Slots") and queues
  // one announce per fragment. Returns the lines the ack window lets out now. Refused (counted in
  // send_refused, returns the empty list): message.from() != my_id, no destination, an id that does not
  // fit the mailbox, a message over reassembly.max_message_bytes or needing more fragments than the ring has
  // slots; with `presence` (< kPresenceSlots, see "Presence"), one needing more than one fragment.
  std::vector<std::string> send(const raftbgp::v1::Message& message, std::span<const std::uint64_t> destinations,
                                std::optional<std::uint32_t> presence = std::nullopt);

  // Withdraws every presence route (see "Presence"); returns the lines the window lets out now.
  std::vector<std::string> release_presence();
  std::size_t presence_routes() const;

  struct Received {
    std::vector<raftbgp::v1::Message> messages;  // delivered, in arrival order
    std::vector<std::string> lines;              // commands released by acks: write them
    ExabgpLine event;                            // what the line was (payload moved out of updates)
    // Sources whose presence route in a mailbox of ours (the group home or mine) was withdrawn.
    std::vector<std::uint64_t> presence_withdrawn;
  };
  // Consumes one line ExaBGP wrote on our stdin. Never throws on any input; bad lines are counted.
  Received on_line(std::string_view line, std::uint64_t now_tick);

  // Drops incomplete messages older than reassembly.max_age_ticks and withdraws slots idle for slot_ttl_ticks.
  // Returns the lines the withdrawals released (write them). now_tick never goes backwards.
  std::vector<std::string> tick(std::uint64_t now_tick);

  // Withdraw commands for every mailbox prefix still announced; queued like sends. Before exit.
  std::vector<std::string> withdraw_announced();

  // Every slot prefix this incarnation has used (live or withdrawn): a superset of what is announced that changes
  // only when a ring grows (slot_count()), so the owner can record it cheaply for the next incarnation's
  // withdraw_leftovers() (agent: mailbox_record.h).
  std::vector<IpPrefix> slot_prefixes() const;
  std::size_t slot_count() const;
  // Queues a withdrawal for each prefix of ours not announced by this incarnation (a leftover of an earlier one).
  std::vector<std::string> withdraw_leftovers(std::span<const IpPrefix> prefixes);

  // Lines the window lets out now (after a burst of send() calls larger than the window).
  std::vector<std::string> take_ready();

  // Replay windows across restarts (replay.h "Restarts"). The owner saves export_replay_state() durably
  // whenever replay_marks() moved, at the latest before it persists anything a delivered message caused,
  // and at shutdown; after create() and before the first on_line() it hands a loaded state back.
  Bytes export_replay_state() const { return replay_.export_state(); }
  std::uint64_t replay_marks() const { return replay_.marks(); }
  void restore_replay_state(ReplayGuard state) { replay_ = std::move(state); }
  std::size_t replay_senders() const { return replay_.senders(); }

  const Counters& counters() const { return counters_; }
  // The command that the most recent "error" ack answered (empty if none yet).
  const std::string& last_error_command() const { return last_error_command_; }
  const TransportConfig& config() const { return config_; }

 private:
  Transport(TransportConfig config, MailboxPlan ipv4, MailboxPlan ipv6);

  const MailboxPlan& send_plan() const { return config_.family == Family::kIpv4 ? ipv4_ : ipv6_; }
  const std::string& next_hop() const;
  struct Slot {
    std::uint64_t last_tick = 0;  // when ExaBGP acknowledged its latest announcement
    bool live = false;            // announced, not withdrawn
    bool queued = false;          // its latest announcement is not acknowledged yet
  };
  static std::uint64_t slot_tag(std::uint64_t mailbox_dst, std::uint32_t slot) {
    return (mailbox_dst << 20 | slot) + 1;  // slot < 2^16, node ids < 2^32: never 0
  }
  void on_slot_settled(std::uint64_t tag);
  void push(Command command);
  std::uint32_t take_slot(std::uint64_t mailbox_dst);
  std::uint32_t ring_slots() const { return send_plan().slots() - kPresenceSlots; }
  // The slot record of (mailbox, slot): the ring's, or a presence slot's (slot >= ring_slots()); nullptr if unused.
  Slot* find_slot(std::uint64_t mailbox_dst, std::uint32_t slot);
  void withdraw(const IpPrefix& prefix);
  // Marks a live slot withdrawn and queues its withdrawal.
  void retire(std::uint64_t mailbox_dst, std::uint32_t slot);
  void on_ack(const AckEvent& ack);
  void on_update(UpdateEvent& update, std::uint64_t now_tick, Received& out);
  void on_withdrawn(const IpPrefix& p, std::vector<std::uint64_t>& presence_withdrawn);
  void on_state(const StateEvent& state);
  void on_mailbox_prefix(const IpPrefix& p, const std::optional<Bytes>& payload, std::uint64_t now_tick,
                         std::vector<raftbgp::v1::Message>& out);
  void receive_frame(std::uint64_t src, ByteView frame, std::uint64_t now_tick, std::vector<raftbgp::v1::Message>& out);
  void deliver(const FrameHeader& header, Bytes message, std::vector<raftbgp::v1::Message>& out);
  void reject(RejectReason reason) { ++counters_.rejected[static_cast<std::size_t>(reason)]; }
  void sync_gauges();

  TransportConfig config_;
  MailboxPlan ipv4_;
  MailboxPlan ipv6_;
  SendQueue queue_;
  Reassembler reassembler_;
  ReplayGuard replay_;
  Counters counters_;
  std::uint64_t next_sequence_ = 1;
  std::uint64_t now_tick_ = 0;
  std::map<std::uint64_t, std::vector<Slot>> slots_;  // mailbox dst (0 = group) -> its ring slots, grown on demand
  std::map<std::pair<std::uint64_t, std::uint32_t>, Slot> presence_;  // (mailbox dst, slot) -> presence slot
  std::uint64_t live_slots_ = 0;  // slots with live set: Counters::mailbox_routes, kept here off the per-line path
  std::string last_error_command_;
  std::unique_ptr<Deflater> deflater_;  // null when config_.compress is off
};

}  // namespace raftbgp::transport
