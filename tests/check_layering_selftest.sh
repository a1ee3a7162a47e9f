#!/usr/bin/env bash
# Proves the layering check can fail: a copy of the tree with one forbidden include in raft-core, and one
# in bgp-transport, must each be reported; the clean copy must pass.
set -u
check=${1:?usage: check_layering_selftest.sh CHECK_SCRIPT}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/raft-core/src" "$tmp/bgp-transport/src"
printf '#include <vector>\n' > "$tmp/raft-core/src/node.cc"
printf '#include <string>\n' > "$tmp/bgp-transport/src/frame.cc"
"$check" "$tmp" >/dev/null || { echo "selftest: a clean tree was reported"; exit 1; }
printf '#include <chrono>\n' >> "$tmp/raft-core/src/node.cc"
if "$check" "$tmp" >/dev/null; then echo "selftest: <chrono> in raft-core was not reported"; exit 1; fi
printf '#include <vector>\n' > "$tmp/raft-core/src/node.cc"
printf '#include <boost/asio.hpp>\n' >> "$tmp/bgp-transport/src/frame.cc"
if "$check" "$tmp" >/dev/null; then echo "selftest: Asio in bgp-transport was not reported"; exit 1; fi
echo "selftest OK: the layering check reports violations in raft-core and bgp-transport"
