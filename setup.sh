#!/usr/bin/env bash
# setup.sh: installs the Debian packages lexswitch needs (only those missing),
# then configures and builds into build/. Safe to run again: it skips what is
# already there. Usage: ./setup.sh [--sanitize | --fuzz]
#   --sanitize  ASan+UBSan build in build-san/
#   --fuzz      libFuzzer build of tests/fuzz/ in build-fuzz/ with clang-14 (docs/FUZZING.md)
set -euo pipefail
cd "$(dirname "$0")"

mode="${1:-}"
packages=(build-essential cmake pkg-config libzmq3-dev libuv1-dev libmsgpack-dev
          librocksdb-dev libcriterion-dev libsodium-dev clang-14 libclang-rt-14-dev
          libsqlite3-dev libpq-dev postgresql libfaketime e2fsprogs)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

build_dir=build
cmake_flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
build_target=all
if [ "$mode" = "--sanitize" ]; then
  build_dir=build-san
  cmake_flags=(-DCMAKE_BUILD_TYPE=Debug -DLEX_SANITIZE=ON)
elif [ "$mode" = "--fuzz" ]; then
  build_dir=build-fuzz
  cmake_flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DLEX_FUZZ=ON -DCMAKE_C_COMPILER=clang-14)
  build_target=fuzz_all
fi
cmake -S . -B "$build_dir" "${cmake_flags[@]}" >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target "$build_target"
