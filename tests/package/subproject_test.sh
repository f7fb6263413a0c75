#!/usr/bin/env bash
# dobj included with add_subdirectory by another project (configure only: the build is the same
# code the installed-package test builds): no dobj test targets, no build type forced, dobj's
# warnings stay on dobj's targets, and dobj::worker with dobj_add_worker() is there to use.
# Usage: subproject_test.sh <source dir>
set -euo pipefail
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir "$work/outer"
cat >"$work/outer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(outer LANGUAGES CXX)
add_subdirectory("$src" dobj)
dobj_add_worker(guestbook-worker SOURCES "$src/templates/worker/src/main.cpp"
                                         "$src/templates/worker/src/guestbook.cpp")
target_include_directories(guestbook-worker PRIVATE "$src/templates/worker/src")
CMAKE
cmake -S "$work/outer" -B "$work/build" >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "configure failed"; }

targets=$(cmake --build "$work/build" --target help)
grep -q "guestbook-worker" <<<"$targets" || fail "the outer project's worker target is missing"
grep -q "dobj_worker" <<<"$targets" || fail "dobj's libraries are missing"
if grep -E "_(test|pgtest|itest)$|dobj-test-worker|dobj-bench|dobj-chaos" <<<"$targets"; then
  fail "dobj built its tests inside another project"
fi
build_type=$(grep '^CMAKE_BUILD_TYPE:' "$work/build/CMakeCache.txt" | cut -d= -f2)
[[ -z "$build_type" ]] || fail "dobj forced the build type '$build_type'"
flags="$work/build/CMakeFiles/guestbook-worker.dir/flags.make"
grep -q -- "-Wshadow" "$flags" && fail "dobj's warnings leaked into the outer project's target"
grep -q -- "-Wshadow" "$work/build/dobj/libs/worker/CMakeFiles/dobj_worker.dir/flags.make" ||
  fail "dobj's own targets lost their warnings"
echo "subproject: 1 passed, 0 failed"
