#!/usr/bin/env bash
# The device tool sends the working tree and the carried paths, 64 MiB at most; the bundled models
# (42 MiB) and .devcarry (16 MiB) leave no room for experiments/ and tests/ (17 MiB), which the
# device runs do not read. Move them beside the checkout for the call, and back after it:
#   bash benchmarks/device/aside.sh        # before the call
#   bash benchmarks/device/aside.sh back   # after it (git status is clean again)
set -euo pipefail
cd "$(dirname "$0")/../.."
aside=../$(basename "$PWD")-aside
if [ "${1:-}" = back ]; then
  for folder in experiments tests; do
    [ -e "$folder" ] && { echo "aside.sh: $folder is back already" >&2; exit 1; }
    mv "$aside/$folder" .
  done
  rmdir "$aside"
  git status --short | head
else
  [ -e "$aside" ] && { echo "aside.sh: $aside exists: bring it back first (aside.sh back)" >&2; exit 1; }
  mkdir "$aside"
  mv experiments tests "$aside/"
  size=$( (git ls-files -z | xargs -0 stat -c %s 2>/dev/null; du -sb .devcarry 2>/dev/null | cut -f1) \
          | awk '{s+=$1} END {printf "%.1f", s/2^20}')
  echo "experiments/ and tests/ are in $aside; the call sends about $size MiB (64 at most)"
fi
