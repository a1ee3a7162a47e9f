#!/usr/bin/env bash
# Enforces the dependency direction of docs/architecture.md §1:
#  - raft-core is pure: no Asio/Boost, threads, clocks, sockets, or file IO. Its one exception is the
#    directory raft-core/wal/ (the on-disk WalStorage, CMake target raft_wal), which may do file IO
#    but nothing else of that list.
#  - raft-core knows nothing of BGP; bgp-transport knows nothing of Asio/Boost or threads.
set -u
root=${1:?usage: check_layering.sh SOURCE_DIR}
fail=0
report() { echo "layering violation: $1"; fail=1; }

include_of='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]'
not_io='boost/|asio|thread>|mutex>|shared_mutex>|condition_variable>|future>|chrono>|ctime>|time\.h>|sys/socket\.h>|netinet/|arpa/|raftbgp/transport|raftbgp/agent'
file_io='fstream>|cstdio>|stdio\.h>|unistd\.h>|fcntl\.h>|sys/stat\.h>|dirent\.h>|filesystem>'
core_forbidden="$include_of($not_io|$file_io)"
wal_forbidden="$include_of($not_io)"
while IFS= read -r f; do
  forbidden=$core_forbidden
  case "$f" in
    "$root"/raft-core/wal/*) forbidden=$wal_forbidden ;;    # the one place that does file IO
    */src/panic.cc) continue ;;                              # writes the abort message to stderr
  esac
  while IFS= read -r hit; do report "$f: $hit"; done < <(grep -nE "$forbidden" "$f")
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
