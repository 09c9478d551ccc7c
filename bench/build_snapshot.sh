#!/usr/bin/env bash
# Builds the release labeler from a clean export of one commit (default HEAD), so that edits in
# progress in the working tree are not measured and the build does not take the main build's
# lock: sources in $SRC (default /tmp/labeler-bench-src), build products in <repo>/.build-bench.
#   bench/build_snapshot.sh [COMMIT]   → .build-bench/release/labeler, commit in .build-bench/COMMIT
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
COMMIT=$(git -C "$ROOT" rev-parse "${1:-HEAD}")
SRC=${SRC:-/tmp/labeler-bench-src}
rm -rf "$SRC" && mkdir -p "$SRC"
git -C "$ROOT" archive "$COMMIT" | tar -x -C "$SRC"
[ -f "$SRC/Package.resolved" ] || cp "$ROOT/Package.resolved" "$SRC/" 2>/dev/null || true
swift build -c release --product labeler --package-path "$SRC" --scratch-path "$ROOT/.build-bench"
echo "$COMMIT" >"$ROOT/.build-bench/COMMIT"
echo "built $ROOT/.build-bench/release/labeler from $COMMIT"
