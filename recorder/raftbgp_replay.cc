// raftbgp-replay FILE: reruns a flight recording (raftbgpd's <data_dir>/recorder.rec) through a fresh
// raft::Node and checks that every Ready is byte-identical (recorder/include/raftbgp/recorder/replay.h).
// `--events` prints the recording as a timeline instead (recorder/include/raftbgp/recorder/events.h).
// Exit status: 0 identical (or printed), 1 diverged, 2 unreadable or malformed recording (or bad usage).
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "raftbgp/agent/recorder.h"
#include "raftbgp/recorder/events.h"
#include "raftbgp/recorder/replay.h"

int main(int argc, char** argv) {
  CLI::App app{"raftbgp-replay: replay a raftbgpd flight recording and check every Ready bit for bit"};
  std::string file;
  raftbgp::recorder::ReplayOptions options;
  bool trace = false;
  app.add_option("FILE", file, "the recording (<data_dir>/recorder.rec)")->required();
  app.add_option("--until", options.until, "stop after record number N");
  app.add_flag("--trace", trace, "print every record and the node's state after each Ready");
  bool events = false;
  app.add_flag("--events", events,
               "print the recording as a timeline, one JSON object per record (time, kind, messages), "
               "without replaying it");
  CLI11_PARSE(app, argc, argv);
  if (trace) options.trace = &std::cout;

  raftbgp::agent::RecordingReadResult read = raftbgp::agent::read_recording(file);
  if (read.error && read.records.empty()) {
    std::cerr << "raftbgp-replay: " << *read.error << "\n";
    return 2;
  }
  if (events) {
    for (const auto& rec : read.records) std::cout << raftbgp::recorder::event_json(rec) << "\n";
    if (!read.error) return 0;
    std::cerr << "raftbgp-replay: " << *read.error << "; printed the " << read.records.size() << " records before it\n";
    return 2;
  }
  const raftbgp::recorder::ReplayResult r = raftbgp::recorder::replay(read.records, options);
  if (r.error) {
    std::cerr << "raftbgp-replay: " << file << ": " << *r.error << "\n";
    return 2;
  }
  if (r.divergence) {
    const auto& d = *r.divergence;
    std::cout << "DIVERGED at record #" << d.seq << " (after " << r.readies << " identical Ready batches)\n";
    std::cout << "inputs before it:\n";
    for (const std::string& c : d.context) std::cout << "  " << c << "\n";
    std::cout << "recorded: " << d.recorded << "\nreplayed: " << d.replayed << "\ndifference:\n"
              << d.difference << "\n";
    return 1;
  }
  std::cout << "identical: " << r.records << " records, " << r.readies << " Ready batches\n";
  if (read.error) {
    // The valid prefix replayed; the tail is damaged (a crash mid-write, or corruption): say so, and fail.
    std::cerr << "raftbgp-replay: " << *read.error << "; replayed the " << read.records.size()
              << " records before it\n";
    return 2;
  }
  return 0;
}
