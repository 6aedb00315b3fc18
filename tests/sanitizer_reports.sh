#!/usr/bin/env bash
# sanitizer_reports.sh: the sanitizer build's last test. Prints every
# sanitizer report the test processes wrote to DIR (ASAN_OPTIONS and
# UBSAN_OPTIONS log_path) and fails if there is one; the reports move to
# DIR/seen/ so the next run starts clean.
set -uo pipefail
dir=$1
mkdir -p "$dir/seen"
found=0
for f in "$dir"/asan* "$dir"/ubsan*; do
  [ -f "$f" ] || continue
  found=$((found + 1))
  echo "== $f"
  cat "$f"
  mv "$f" "$dir/seen/"
done
if [ $found -gt 0 ]; then
  echo "sanitizer_reports: $found report(s) from test processes (kept in $dir/seen)" >&2
  exit 1
fi
echo "sanitizer_reports: no report from any test process"
