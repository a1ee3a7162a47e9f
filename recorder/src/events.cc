// One JSON line per record: see events.h.
#include "raftbgp/recorder/events.h"

#include <nlohmann/json.hpp>

#include "raftbgp/recorder/replay.h"

namespace raftbgp::recorder {

namespace {

using nlohmann::json;
using raftbgp::v1::Record;

json message_json(const raftbgp::v1::Message& m) {
  json out{{"type", raftbgp::v1::MessageType_Name(m.type())},
           {"from", m.from()},
           {"to", m.to()},
           {"term", m.term()},
           {"log_term", m.log_term()},
           {"index", m.index()},
           {"commit", m.commit()},
           {"n", m.entries_size()},
           {"reject", m.reject()}};
  if (m.entries_size() > 0) out["last"] = m.entries(m.entries_size() - 1).index();
  return out;
}

template <class Entries>
json span(const Entries& entries) {
  return json::array({entries.Get(0).index(), entries.Get(entries.size() - 1).index()});
}

}  // namespace

std::string event_json(const Record& r) {
  json out{{"seq", r.seq()}, {"at_us", r.at_us()}, {"kind", record_kind(r)}};
  switch (r.kind_case()) {
    case Record::kStart: out["node"] = r.start().node_id(); break;
    case Record::kStep: out["msg"] = message_json(r.step()); break;
    case Record::kPropose: out["bytes"] = r.propose().size(); break;
    case Record::kReady: {
      const raftbgp::v1::RecReady& rd = r.ready();
      json send = json::array();
      for (const auto& m : rd.messages()) send.push_back(message_json(m));
      out["send"] = std::move(send);
      if (rd.entries_size() > 0) out["persist"] = span(rd.entries());
      if (rd.committed_entries_size() > 0) out["apply"] = span(rd.committed_entries());
      if (rd.has_hard_state()) out["commit"] = rd.hard_state().commit();
      out["send_before_persist"] = rd.send_before_persist();
      break;
    }
    default: break;
  }
  return out.dump();
}

}  // namespace raftbgp::recorder
