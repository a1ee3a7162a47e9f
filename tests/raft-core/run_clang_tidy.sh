#!/usr/bin/env bash
# CTest test tidy_raft_core: clang-tidy (the root .clang-tidy) over raft-core's sources, with the compile
# commands of the build; fails on any warning. Two files at a time (the CI machines have 2 cores).
#
#   tests/raft-core/run_clang_tidy.sh SOURCE_DIR BUILD_DIR
set -u
src=${1:?usage: run_clang_tidy.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: run_clang_tidy.sh SOURCE_DIR BUILD_DIR}
tidy=${CLANG_TIDY:-/usr/bin/clang-tidy}
if [ ! -x "$tidy" ]; then
  echo "tidy_raft_core: $tidy not found; install Debian's clang-tidy package (tests/install-deps does)" >&2
  exit 1
fi
if [ ! -f "$build/compile_commands.json" ]; then
  echo "tidy_raft_core: $build/compile_commands.json missing; configure with CMAKE_EXPORT_COMPILE_COMMANDS=ON" >&2
  exit 1
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# GCC-only warning flags of cmake/Warnings.cmake are unknown to clang: not our finding.
find "$src/raft-core/src" "$src/raft-core/wal/src" -name '*.cc' | sort |
  xargs -P 2 -n 1 "$tidy" -p "$build" --quiet --extra-arg=-Wno-unknown-warning-option >"$out" 2>&1
status=$?
if grep -q -E ': (warning|error):' "$out" || [ "$status" != 0 ]; then
  grep -E -A3 ': (warning|error):' "$out"
  echo "tidy_raft_core: clang-tidy reported the findings above (exit $status)" >&2
  exit 1
fi
echo "tidy_raft_core: no clang-tidy findings in raft-core"
