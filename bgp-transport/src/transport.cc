#include "raftbgp/transport/transport.h"

#include <algorithm>

#include "raftbgp/raft/types.h"

namespace raftbgp::transport {
namespace {

std::optional<std::string> validate_ids(const TransportConfig& c, const MailboxPlan& plan) {
  if (!plan.fits(c.my_id))
    return "my_id " + std::to_string(c.my_id) + " outside 1.." + std::to_string(plan.max_node_id()) +
           " (mailbox layout)";
  for (std::uint64_t m : c.members)
    if (!plan.fits(m)) return "members: id " + std::to_string(m) + " does not fit the mailbox layout";
  return std::nullopt;
}

std::optional<std::string> validate_config(const TransportConfig& c, const MailboxPlan& send_plan) {
  if (auto e = validate_ids(c, send_plan)) return e;
  if (auto e = validate_attribute(c.attribute_code, c.attribute_flags)) return "attribute: " + *e;
  const std::string& nh = c.family == Family::kIpv4 ? c.next_hop_ipv4 : c.next_hop_ipv6;
  if (auto e = validate_next_hop(c.family, nh)) return "next_hop: " + *e;
  if (c.payload_budget > kMaxFrameBytes) return "payload_budget: at most 65000 (RFC 8654)";
  if (max_fragment_bytes(c.payload_budget, kMaxDestinations) < 256)
    return "payload_budget: too small for a frame header with " + std::to_string(kMaxDestinations) + " destinations";
  if (c.epoch == 0 || c.epoch > kMaxEpoch) return "epoch: must be 1..2^32-1 (persisted boot counter)";
  if (!c.keys.contains(c.active_key_id)) return "active_key_id: not in the key ring";
  if (c.ack_window == 0 || c.max_queued == 0) return "ack_window and max_queued must be positive";
  if (send_plan.slots() < 2 * kPresenceSlots)
    return "mailbox slot_bits: at least 3 (" + std::to_string(kPresenceSlots) +
           " presence slots and a ring of at least as many)";
  if (c.slot_reuse_ticks == 0 || c.slot_ttl_ticks <= c.slot_reuse_ticks)
    return "slot_reuse_ticks must be >= 1 and slot_ttl_ticks greater than it";
  if (c.reassembly.max_messages == 0) return "reassembly.max_messages must be positive";
  return std::nullopt;
}

}  // namespace

std::variant<Transport, std::string> Transport::create(TransportConfig config) {
  auto v4 = MailboxPlan::create(config.ipv4);
  if (auto* e = std::get_if<std::string>(&v4)) return "ipv4 " + *e;
  auto v6 = MailboxPlan::create(config.ipv6);
  if (auto* e = std::get_if<std::string>(&v6)) return "ipv6 " + *e;
  const MailboxPlan& plan4 = std::get<MailboxPlan>(v4);
  const MailboxPlan& plan6 = std::get<MailboxPlan>(v6);
  if (auto e = validate_config(config, config.family == Family::kIpv4 ? plan4 : plan6)) return *e;
  if (config.boot_id == 0) config.boot_id = random_boot_id();
  return Transport(std::move(config), plan4, plan6);
}

Transport::Transport(TransportConfig config, MailboxPlan ipv4, MailboxPlan ipv6)
    : config_(std::move(config)),
      ipv4_(ipv4),
      ipv6_(ipv6),
      queue_(config_.ack_window, config_.max_queued),
      reassembler_(config_.reassembly),
      deflater_(config_.compress ? std::make_unique<Deflater>() : nullptr) {}

const std::string& Transport::next_hop() const {
  return config_.family == Family::kIpv4 ? config_.next_hop_ipv4 : config_.next_hop_ipv6;
}

std::vector<std::string> Transport::send(const raftbgp::v1::Message& message,
                                         std::span<const std::uint64_t> destinations,
                                         std::optional<std::uint32_t> presence) {
  std::vector<std::uint64_t> dst(destinations.begin(), destinations.end());
  std::sort(dst.begin(), dst.end());
  dst.erase(std::unique(dst.begin(), dst.end()), dst.end());
  std::erase_if(dst, [&](std::uint64_t d) { return d == config_.my_id || d == 0; });
  const MailboxPlan& plan = send_plan();
  const bool ids_ok = std::all_of(dst.begin(), dst.end(), [&](std::uint64_t d) { return plan.fits(d); });
  const auto refuse = [&] {
    ++counters_.send_refused;
    return std::vector<std::string>{};
  };
  if (message.from() != config_.my_id || dst.empty() || dst.size() > kMaxDestinations || !ids_ok) return refuse();
  // Serialized once (ByteSizeLong() first would walk every entry twice). The receiver caps what it inflates at
  // max_message_bytes, so the limit is on the message, not its deflated form.
  const std::string serialized = message.SerializeAsString();
  if (serialized.size() > config_.reassembly.max_message_bytes) return refuse();
  ByteView view(reinterpret_cast<const std::uint8_t*>(serialized.data()), serialized.size());
  std::optional<Bytes> deflated = deflater_ ? deflater_->compress(view) : std::nullopt;
  if (deflated) {
    ++counters_.messages_deflated;
    counters_.deflate_saved_bytes += view.size() - deflated->size();
    view = *deflated;
  }
  const std::size_t piece = max_fragment_bytes(config_.payload_budget, dst.size());
  const std::size_t fragments = view.empty() ? 1 : (view.size() + piece - 1) / std::max<std::size_t>(piece, 1);
  if (fragments > ring_slots() || (presence && (*presence >= kPresenceSlots || fragments != 1))) return refuse();
  const std::vector<ByteView> pieces = split_message(view, piece);
  // 2^48 messages per boot cannot happen in practice; if it did, reusing a nonce would be far worse.
  if (next_sequence_ > kMaxSequence) RAFT_PANIC("transport sequence exhausted: restart to bump the epoch");
  FrameHeader h;
  h.version = deflated ? kFrameVersionDeflate : kFrameVersion;
  h.cluster_id = config_.cluster_id;
  h.key_id = config_.active_key_id;
  h.src = config_.my_id;
  h.epoch = config_.epoch;
  h.sequence = next_sequence_++;
  h.fragment_count = static_cast<std::uint16_t>(pieces.size());
  h.boot_id = config_.boot_id;
  h.destinations = std::move(dst);
  const KeyEntry key = *config_.keys.sender_key(h.subkey_id());
  const std::uint64_t mailbox_dst = h.destinations.size() == 1 ? h.destinations.front() : 0;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    h.fragment_index = static_cast<std::uint16_t>(i);
    const Bytes frame = seal_frame(h, pieces[i], key);
    std::uint32_t slot = 0;
    if (presence) {
      slot = plan.slots() - 1 - *presence;
      Slot& s = presence_[{mailbox_dst, slot}];
      if (!s.live) ++live_slots_;
      s = {now_tick_, true, true};
    } else {
      slot = take_slot(mailbox_dst);
    }
    const IpPrefix prefix = plan.prefix_for({config_.my_id, mailbox_dst, slot});
    push({CommandKind::kAnnounce,
          format_announce(config_.neighbor, prefix, next_hop(), config_.attribute_code, config_.attribute_flags, frame),
          slot_tag(mailbox_dst, slot)});
    ++counters_.frames_sent;
    counters_.frame_bytes_sent += frame.size();
  }
  ++counters_.messages_sent;
  return take_ready();
}

std::uint32_t Transport::take_slot(std::uint64_t mailbox_dst) {
  std::vector<Slot>& slots = slots_[mailbox_dst];
  const auto claim = [&](std::size_t i) {
    if (!slots[i].live) ++live_slots_;
    slots[i] = {now_tick_, true, true};
    return static_cast<std::uint32_t>(i);
  };
  for (std::size_t i = 0; i < slots.size(); ++i)
    if (!slots[i].queued && (!slots[i].live || slots[i].last_tick + config_.slot_reuse_ticks <= now_tick_))
      return claim(i);
  if (slots.size() < ring_slots()) {
    slots.emplace_back();
    return claim(slots.size() - 1);
  }
  // Every slot is busy: reuse the least recently announced one.
  ++counters_.slots_reused_early;
  return claim(static_cast<std::size_t>(
      std::min_element(slots.begin(), slots.end(),
                       [](const Slot& a, const Slot& b) { return a.last_tick < b.last_tick; }) -
      slots.begin()));
}

void Transport::push(Command command) {
  if (std::optional<Command> dropped = queue_.push(std::move(command))) on_slot_settled(dropped->tag);
}

Transport::Slot* Transport::find_slot(std::uint64_t mailbox_dst, std::uint32_t slot) {
  if (slot >= ring_slots()) {
    const auto it = presence_.find({mailbox_dst, slot});
    return it == presence_.end() ? nullptr : &it->second;
  }
  const auto it = slots_.find(mailbox_dst);
  return it == slots_.end() || slot >= it->second.size() ? nullptr : &it->second[slot];
}

// The announcement tagged `tag` left our hands (acknowledged, or dropped from the queue): the slot ages from now.
void Transport::on_slot_settled(std::uint64_t tag) {
  if (tag == 0) return;
  Slot* s = find_slot((tag - 1) >> 20, static_cast<std::uint32_t>((tag - 1) & 0xfffff));
  if (s == nullptr) return;
  s->queued = false;
  s->last_tick = now_tick_;
}

void Transport::withdraw(const IpPrefix& prefix) {
  push({CommandKind::kWithdraw, format_withdraw(config_.neighbor, prefix)});
  ++counters_.withdrawals_sent;
}

void Transport::retire(std::uint64_t mailbox_dst, std::uint32_t slot) {
  find_slot(mailbox_dst, slot)->live = false;
  --live_slots_;
  withdraw(send_plan().prefix_for({config_.my_id, mailbox_dst, slot}));
}

std::vector<std::string> Transport::withdraw_announced() {
  for (auto& [dst, slots] : slots_)
    for (std::uint32_t i = 0; i < slots.size(); ++i)
      if (slots[i].live) retire(dst, i);
  return release_presence();
}

std::vector<std::string> Transport::release_presence() {
  for (auto& [key, s] : presence_)
    if (s.live) retire(key.first, key.second);
  return take_ready();
}

std::size_t Transport::presence_routes() const {
  return static_cast<std::size_t>(
      std::count_if(presence_.begin(), presence_.end(), [](const auto& kv) { return kv.second.live; }));
}

std::vector<IpPrefix> Transport::slot_prefixes() const {
  std::vector<IpPrefix> out;
  const MailboxPlan& plan = send_plan();
  for (const auto& [dst, slots] : slots_)
    for (std::uint32_t i = 0; i < slots.size(); ++i) out.push_back(plan.prefix_for({config_.my_id, dst, i}));
  for (const auto& [key, s] : presence_) out.push_back(plan.prefix_for({config_.my_id, key.first, key.second}));
  return out;
}

std::size_t Transport::slot_count() const {
  std::size_t n = 0;
  for (const auto& [dst, slots] : slots_) n += slots.size();
  return n + presence_.size();
}

std::vector<std::string> Transport::withdraw_leftovers(std::span<const IpPrefix> prefixes) {
  const MailboxPlan& plan = send_plan();
  for (const IpPrefix& p : prefixes) {
    const std::optional<MailboxAddress> a = plan.parse(p);
    if (!a || a->src != config_.my_id) continue;  // not ours (another layout, a corrupt record)
    if (const Slot* s = find_slot(a->dst, a->slot); s != nullptr && s->live) continue;
    withdraw(p);
  }
  return take_ready();
}

std::vector<std::string> Transport::take_ready() {
  std::vector<std::string> lines = queue_.take_ready();
  sync_gauges();
  return lines;
}

std::vector<std::string> Transport::tick(std::uint64_t now_tick) {
  now_tick_ = std::max(now_tick_, now_tick);
  reassembler_.expire(now_tick);
  for (auto& [dst, slots] : slots_)
    for (std::uint32_t i = 0; i < slots.size(); ++i)
      if (slots[i].live && !slots[i].queued && slots[i].last_tick + config_.slot_ttl_ticks <= now_tick_) retire(dst, i);
  return take_ready();
}

void Transport::sync_gauges() {
  counters_.queue_dropped = queue_.dropped();
  counters_.queue_waiting = queue_.waiting();
  counters_.queue_outstanding = queue_.outstanding();
  const ReassemblyStats& s = reassembler_.stats();
  counters_.fragment_duplicates = s.duplicate_fragments;
  counters_.reassembly_evicted_count = s.evicted_count;
  counters_.reassembly_evicted_bytes = s.evicted_bytes;
  counters_.reassembly_expired = s.expired;
  counters_.fragments_pending = reassembler_.pending_messages();
  counters_.reassembly_bytes = reassembler_.pending_bytes();
  counters_.mailbox_routes = live_slots_;
}

Transport::Received Transport::on_line(std::string_view line, std::uint64_t now_tick) {
  now_tick_ = std::max(now_tick_, now_tick);
  Received r{{}, {}, parse_exabgp_line(line, config_.attribute_code), {}};
  ++counters_.lines;
  if (auto* e = std::get_if<LineError>(&r.event)) {
    ++counters_.line_errors[static_cast<std::size_t>(*e)];
  } else if (auto* ack = std::get_if<AckEvent>(&r.event)) {
    on_ack(*ack);
    r.lines = queue_.take_ready();
  } else if (auto* update = std::get_if<UpdateEvent>(&r.event)) {
    on_update(*update, now_tick, r);
  } else if (auto* state = std::get_if<StateEvent>(&r.event)) {
    on_state(*state);
  } else if (std::holds_alternative<NotificationEvent>(r.event)) {
    ++counters_.notifications;
  } else {
    ++counters_.events_ignored;
  }
  sync_gauges();
  return r;
}

void Transport::on_ack(const AckEvent& ack) {
  ++(ack.done ? counters_.acks_done : counters_.acks_error);
  std::optional<Command> c = queue_.on_ack();
  if (!c) {
    ++counters_.acks_unexpected;
    return;
  }
  on_slot_settled(c->tag);
  if (!ack.done) last_error_command_ = std::move(c->line);
}

void Transport::on_state(const StateEvent& state) {
  if (state.state == "connected") ++counters_.peer_connected;
  if (state.state == "up") ++counters_.peer_up;
  // No per-peer route state to forget: a mailbox's content is consumed on arrival, and the replay windows
  // must survive the flap to absorb the re-send that follows `up` (see transport.h).
  if (state.state == "down") ++counters_.peer_down;
}

void Transport::on_update(UpdateEvent& update, std::uint64_t now_tick, Received& out) {
  ++counters_.updates;
  counters_.prefixes_withdrawn += update.withdrawn.size();
  counters_.eors += update.eor.size();
  counters_.other_attribute_codes += update.other_attribute_codes;
  for (const IpPrefix& p : update.withdrawn) on_withdrawn(p, out.presence_withdrawn);
  for (const IpPrefix& p : update.announced) on_mailbox_prefix(p, update.payload, now_tick, out.messages);
  update.payload.reset();  // the frame bytes are consumed here; Received::event keeps the rest
}

// Only presence routes mean something when withdrawn (see "Presence" in transport.h); read in layout v2 only,
// since v1 routers never announce presence.
void Transport::on_withdrawn(const IpPrefix& p, std::vector<std::uint64_t>& presence_withdrawn) {
  const MailboxPlan& plan = p.family == Family::kIpv4 ? ipv4_ : ipv6_;
  const std::optional<MailboxAddress> a = plan.parse(p);
  if (!a || a->src == config_.my_id || (a->dst != 0 && a->dst != config_.my_id)) return;
  if (a->slot + kPresenceSlots < plan.slots()) return;
  ++counters_.presence_withdrawn;
  presence_withdrawn.push_back(a->src);
}

void Transport::on_mailbox_prefix(const IpPrefix& p, const std::optional<Bytes>& payload, std::uint64_t now_tick,
                                  std::vector<raftbgp::v1::Message>& out) {
  const MailboxPlan& plan = p.family == Family::kIpv4 ? ipv4_ : ipv6_;
  // The prefix read in layout v2 and in v1 (mailbox.h). A reading is plausible when it is mail for us or
  // one of our own routes echoed back; both can be (a v2 route X|me reads as v1 me->X, and our own v2 route to X
  // reads as v1 X->me), and then the frame header's source, authenticated by the tag and checked against the
  // prefix before any key work, says which one the sender meant.
  const std::optional<MailboxAddress> v2 = plan.parse(p), v1 = plan.parse_v1(p);
  if (!v2 && !v1) {
    ++counters_.not_mailbox;
    return;
  }
  const auto plausible = [&](const std::optional<MailboxAddress>& a) {
    return a && (a->dst == 0 || a->dst == config_.my_id || a->src == config_.my_id);
  };
  const bool p2 = plausible(v2), p1 = plausible(v1);
  if (!p2 && !p1) {
    ++counters_.foreign_mail;  // mail for another router reached us: a missing filter, harmless
    return;
  }
  if (!payload) {
    ++counters_.without_attribute;
    return;
  }
  std::uint64_t src = p2 ? v2->src : v1->src;
  if (p2 && p1) {
    const Result<Frame> peek = Frame::parse(*payload);
    if (peek.ok())
      src = peek.value().header.src == v1->src ? v1->src : v2->src;
    else if (src == config_.my_id)
      src = v1->src;  // unparseable either way: let open_frame name the fault rather than call it an echo
  }
  receive_frame(src, *payload, now_tick, out);
}

void Transport::receive_frame(std::uint64_t src, ByteView frame, std::uint64_t now_tick,
                              std::vector<raftbgp::v1::Message>& out) {
  // Our own announcements come back through FRR (docs/exabgp.md §1.10): drop them before any crypto.
  if (src == config_.my_id) return reject(RejectReason::kOwnEcho);
  ++counters_.frames_received;
  // The prefix is not authenticated, but a frame must travel in its sender's mailbox; checked before any
  // key work so a forged source costs nothing.
  Result<OpenedFrame> opened = open_frame(frame, config_.cluster_id, config_.my_id, config_.keys, src);
  if (!opened.ok()) return reject(opened.reason());
  OpenedFrame& f = opened.value();
  if (replay_.is_replay(f.header.src, f.header.epoch, f.header.sequence)) return reject(RejectReason::kReplay);
  Reassembler::Outcome o = reassembler_.add(f.header, std::move(f.plaintext), now_tick);
  switch (o.status) {
    case Reassembler::Status::kComplete: return deliver(f.header, std::move(o.message), out);
    case Reassembler::Status::kTooLarge: return reject(RejectReason::kTooLarge);
    case Reassembler::Status::kInconsistent: return reject(RejectReason::kMalformed);
    case Reassembler::Status::kPending:
    case Reassembler::Status::kDuplicate: return;
  }
}

void Transport::deliver(const FrameHeader& header, Bytes message, std::vector<raftbgp::v1::Message>& out) {
  // Marked even if the bytes are not a Message, so a bad message is rejected once, not on every re-send.
  replay_.mark(header.src, header.epoch, header.sequence);
  if (header.version == kFrameVersionDeflate) {
    Result<Bytes> inflated = inflate_bounded(message, config_.reassembly.max_message_bytes);
    if (!inflated.ok()) return reject(inflated.reason());
    message = std::move(inflated).value();
  }
  raftbgp::v1::Message m;
  if (message.size() > static_cast<std::size_t>(INT32_MAX) ||
      !m.ParseFromArray(message.data(), static_cast<int>(message.size())) || m.from() != header.src)
    return reject(RejectReason::kMalformed);
  m.set_to(config_.my_id);
  ++counters_.messages_delivered;
  out.push_back(std::move(m));
}

}  // namespace raftbgp::transport
