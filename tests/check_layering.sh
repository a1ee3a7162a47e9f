#!/usr/bin/env bash
# Enforces the dependency direction of docs/architecture.md §1:
#  - raft-core is pure: no Asio/Boost, threads, clocks, sockets, or file IO, except the on-disk storage
#    implementation (raft-core/src/wal_storage.cc and its private helpers named wal_*).
#  - raft-core knows nothing of BGP; bgp-transport knows nothing of Asio/Boost or threads.
set -u
root=${1:?usage: check_layering.sh SOURCE_DIR}
fail=0
report() { echo "layering violation: $1"; fail=1; }

core_forbidden='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](boost/|asio|thread>|mutex>|shared_mutex>|condition_variable>|future>|chrono>|ctime>|time\.h>|sys/socket\.h>|netinet/|arpa/|fstream>|cstdio>|stdio\.h>|unistd\.h>|fcntl\.h>|sys/stat\.h>|dirent\.h>|filesystem>|raftbgp/transport|raftbgp/agent)'
while IFS= read -r f; do
  case "$f" in
    */src/wal_*|*/include/raftbgp/raft/wal_*) continue ;;   # the one place that does file IO
    */src/panic.cc) continue ;;                              # writes the abort message to stderr
  esac
  while IFS= read -r hit; do report "$f: $hit"; done < <(grep -nE "$core_forbidden" "$f")
done < <(find "$root/raft-core" -type f \( -name '*.h' -o -name '*.cc' -o -name '*.cpp' \))

transport_forbidden='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](boost/|asio|thread>|mutex>|condition_variable>|future>|sys/socket\.h>|raftbgp/agent)'
if [ -d "$root/bgp-transport" ]; then
  while IFS= read -r f; do
    case "$f" in */tools/*) continue ;; esac  # command-line tools that do their own IO
    while IFS= read -r hit; do report "$f: $hit"; done < <(grep -nE "$transport_forbidden" "$f")
  done < <(find "$root/bgp-transport" -type f \( -name '*.h' -o -name '*.cc' -o -name '*.cpp' \))
fi

[ "$fail" = 0 ] && echo "layering OK: raft-core is pure, bgp-transport has no Asio"
exit "$fail"
