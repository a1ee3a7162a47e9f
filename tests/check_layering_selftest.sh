#!/usr/bin/env bash
# Proves the layering check can fail: a copy of the tree with one forbidden include in raft-core, in its
# WAL directory, and in bgp-transport, must each be reported; the clean copy must pass.
set -u
check=${1:?usage: check_layering_selftest.sh CHECK_SCRIPT}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/raft-core/src" "$tmp/raft-core/wal/src" "$tmp/bgp-transport/src"
printf '#include <vector>\n' > "$tmp/raft-core/src/node.cc"
printf '#include <string>\n' > "$tmp/bgp-transport/src/frame.cc"
printf '#include <fcntl.h>\n#include <unistd.h>\n' > "$tmp/raft-core/wal/src/wal_io.cc"  # file IO is the WAL's job
"$check" "$tmp" >/dev/null || { echo "selftest: a clean tree was reported"; exit 1; }
printf '#include <chrono>\n' >> "$tmp/raft-core/src/node.cc"
if "$check" "$tmp" >/dev/null; then echo "selftest: <chrono> in raft-core was not reported"; exit 1; fi
printf '#include <vector>\n' > "$tmp/raft-core/src/node.cc"
# File IO outside raft-core/wal/ is a violation whatever the file is called (no exemption by name).
printf '#include <fstream>\n' > "$tmp/raft-core/src/wal_storage.cc"
if "$check" "$tmp" >/dev/null; then echo "selftest: <fstream> in raft-core/src was not reported"; exit 1; fi
rm "$tmp/raft-core/src/wal_storage.cc"
# The WAL may do file IO, nothing else: no threads, no clock, no Asio.
printf '#include <thread>\n' >> "$tmp/raft-core/wal/src/wal_io.cc"
if "$check" "$tmp" >/dev/null; then echo "selftest: <thread> in raft-core/wal was not reported"; exit 1; fi
printf '#include <fcntl.h>\n' > "$tmp/raft-core/wal/src/wal_io.cc"
printf '#include <boost/asio.hpp>\n' >> "$tmp/bgp-transport/src/frame.cc"
if "$check" "$tmp" >/dev/null; then echo "selftest: Asio in bgp-transport was not reported"; exit 1; fi
echo "selftest OK: the layering check reports violations in raft-core, raft-core/wal and bgp-transport"
