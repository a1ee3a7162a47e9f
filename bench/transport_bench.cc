// bgp-transport CPU cost per frame (goal, docs/architecture.md §7: well under 5% of ExaBGP's ~0.3-0.7 ms per command).
//   SealFormat/N   : seal one frame of N attribute bytes and format its announce command line
//   ParseOpen/N    : parse ExaBGP's JSON line for that frame, hex-decode, authenticate and decrypt
//   OpenFrame/N    : authenticate and decrypt only (no JSON)
//   FullPath/N     : Message -> Transport::send -> command line -> (JSON as ExaBGP prints it) ->
//                    Transport::on_line -> delivered Message, plus the "done" ack
// N = 200, 1000, 2900 bytes of attribute (frame header and tag included). Time per iteration = per frame.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "raftbgp/transport/frame.h"
#include "raftbgp/transport/hex.h"
#include "raftbgp/transport/transport.h"

namespace rt = raftbgp::transport;

namespace {

constexpr std::size_t kOverhead = rt::frame_overhead(1);

rt::KeyRing ring() {
  rt::KeyRing r;
  rt::Key k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i);
  r.add(1, k);
  return r;
}

rt::FrameHeader header(std::uint64_t seq) {
  rt::FrameHeader h;
  h.cluster_id = 7;
  h.key_id = 1;
  h.src = 1;
  h.epoch = 1;
  h.sequence = seq;
  h.boot_id = 1;
  h.destinations = {2};
  return h;
}

// The update line a receiving ExaBGP 4.2.21 prints for one announce (shape of the golden captures).
std::string json_for(const std::string& command) {
  const std::size_t p0 = 15, p1 = command.find(' ', p0);
  const std::size_t h0 = command.rfind(" 0x") + 3;
  const std::string hex = command.substr(h0, command.size() - 2 - h0);
  return std::string(R"({ "exabgp": "4.0.1", "time": 1795680056.384719, "host" : "vm", "pid" : 9966, "ppid" : 9935, )"
                     R"("counter": 5, "type": "update", "neighbor": { "address": { "local": "10.255.3.2", "peer": )"
                     R"("10.255.3.1" }, "asn": { "local": 65003, "peer": 65002 } , "direction": "receive", "message": )"
                     R"({ "update": { "attribute": { "origin": "igp", "as-path": [ 65002, 65001 ], )"
                     R"("confederation-path": [], "attribute-0xFF-0xF0": "0x)") +
         hex + R"(" }, "announce": { "ipv6 unicast": { "fe80::1": [ { "nlri": ")" + command.substr(p0, p1 - p0) +
         R"(" } ] } } } } } })";
}

void SealFormat(benchmark::State& state) {
  rt::KeyRing keys = ring();
  const rt::KeyEntry key = *keys.sender_key(header(1).subkey_id());
  const rt::Bytes payload(static_cast<std::size_t>(state.range(0)) - kOverhead, 0x5a);
  const rt::IpPrefix prefix = *rt::IpPrefix::parse("fd72:6166:10:200::/64");
  std::uint64_t seq = 1;
  for (auto _ : state) {
    const rt::Bytes frame = rt::seal_frame(header(seq++), payload, key);
    benchmark::DoNotOptimize(rt::format_announce("", prefix, "fd00::1", 0xff, 0xc0, frame));
  }
  state.SetItemsProcessed(state.iterations());
}

void ParseOpen(benchmark::State& state) {
  rt::KeyRing keys = ring();
  const rt::Bytes payload(static_cast<std::size_t>(state.range(0)) - kOverhead, 0x5a);
  const rt::Bytes frame = rt::seal_frame(header(1), payload, *keys.sender_key(header(1).subkey_id()));
  const std::string line =
      json_for(rt::format_announce("", *rt::IpPrefix::parse("fd72:6166:10:200::/64"), "fd00::1", 0xff, 0xc0, frame));
  for (auto _ : state) {
    rt::ExabgpLine parsed = rt::parse_exabgp_line(line, 0xff);
    const auto& update = std::get<rt::UpdateEvent>(parsed);
    benchmark::DoNotOptimize(rt::open_frame(*update.payload, 7, 2, keys));
  }
  state.SetItemsProcessed(state.iterations());
}

void OpenFrame(benchmark::State& state) {
  rt::KeyRing keys = ring();
  const rt::Bytes payload(static_cast<std::size_t>(state.range(0)) - kOverhead, 0x5a);
  const rt::Bytes frame = rt::seal_frame(header(1), payload, *keys.sender_key(header(1).subkey_id()));
  for (auto _ : state) benchmark::DoNotOptimize(rt::open_frame(frame, 7, 2, keys));
  state.SetItemsProcessed(state.iterations());
}

rt::Transport make(std::uint64_t me) {
  rt::TransportConfig c;
  c.cluster_id = 7;
  c.my_id = me;
  c.members = {1, 2};
  c.next_hop_ipv6 = "fd00::1";
  c.keys = ring();
  c.active_key_id = 1;
  c.epoch = 1;
  return std::get<rt::Transport>(rt::Transport::create(c));
}

void FullPath(benchmark::State& state) {
  rt::Transport tx = make(1), rx = make(2);
  raftbgp::v1::Message m;
  m.set_type(raftbgp::v1::MSG_APP);
  m.set_from(1);
  m.set_term(3);
  // Entry data sized so the frame is about N bytes (message framing adds ~20 bytes).
  const std::size_t data = static_cast<std::size_t>(state.range(0)) - kOverhead - 24;
  auto* e = m.add_entries();
  e->set_term(3);
  e->set_index(1);
  e->set_data(std::string(data, 'x'));
  const std::vector<std::uint64_t> to{2};
  std::size_t delivered = 0;
  for (auto _ : state) {
    for (const std::string& cmd : tx.send(m, to)) delivered += rx.on_line(json_for(cmd), 0).messages.size();
    tx.on_line("done", 0);
  }
  if (delivered != static_cast<std::size_t>(state.iterations()))
    state.SkipWithError("not every message was delivered in one frame");
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(SealFormat)->Arg(200)->Arg(1000)->Arg(2900)->Unit(benchmark::kMicrosecond);
BENCHMARK(ParseOpen)->Arg(200)->Arg(1000)->Arg(2900)->Unit(benchmark::kMicrosecond);
BENCHMARK(OpenFrame)->Arg(200)->Arg(1000)->Arg(2900)->Unit(benchmark::kMicrosecond);
BENCHMARK(FullPath)->Arg(200)->Arg(1000)->Arg(2900)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
