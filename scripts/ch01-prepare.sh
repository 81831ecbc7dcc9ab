#!/usr/bin/env bash
# ch01-prepare.sh: chapter 1, "Introduction to Processes". Builds the ch01 binary in release mode
# and prints its path, ready for scripts/ch01-run.sh:
#
#   bin=$(scripts/ch01-prepare.sh)
#   scripts/ch01-run.sh "$bin" http://127.0.0.1:PORT/posts/1
#
# Nothing is copied into the source tree: the binary stays in cargo's target directory
# (`$CARGO_TARGET_DIR` if set, else `target/` at the workspace root). Cargo's progress goes to
# stderr, so stdout carries only the path.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$root"

cargo build --release -p ch01

target_dir=${CARGO_TARGET_DIR:-target}
if [[ $target_dir != /* ]]; then
    target_dir=$root/$target_dir
fi
bin=$target_dir/release/ch01
if [[ ! -x $bin ]]; then
    echo "error: the build finished but $bin is missing (is build.target-dir set in a cargo config?)" >&2
    exit 1
fi
echo "$bin"
