#!/usr/bin/env bash
# ch01-run.sh: chapter 1, "Introduction to Processes". Starts four launchers in the background,
# waits for each one by its PID and prints how it exited.
#
# Usage: scripts/ch01-run.sh <path to the ch01 binary> <url>
#
# Each launcher is `<binary> spawn-process --url <url>`: a process that itself runs one
# `connection-process` child fetching <url>. The four run at the same time, so with a server that
# takes D to answer the whole script takes about D (plus process start-up), not 4 x D.
# Prints `Task N (PID p) exited with code c` for each launcher, in task order, and exits 1 if any
# launcher failed (2 on bad arguments). `scripts/ch01-prepare.sh` builds a release binary;
# `cargo run -p ch01 -- four-processes-script` runs this script against a loopback server.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 <path to the ch01 binary> <url>" >&2
    exit 2
fi
bin=$1
url=$2
if [[ ! -f $bin || ! -x $bin ]]; then
    echo "error: '$bin' is not an executable file (build it with scripts/ch01-prepare.sh)" >&2
    exit 2
fi

tasks=4
pids=()
for ((task = 1; task <= tasks; task++)); do
    "$bin" spawn-process --url "$url" &
    pids+=("$!")
done

failed=0
for ((task = 1; task <= tasks; task++)); do
    pid=${pids[task - 1]}
    code=0
    # `|| code=$?` keeps `set -e` from ending the script when a launcher fails.
    wait "$pid" || code=$?
    echo "Task $task (PID $pid) exited with code $code"
    if ((code != 0)); then
        failed=$((failed + 1))
    fi
done

if ((failed > 0)); then
    echo "$failed of $tasks tasks failed" >&2
    exit 1
fi
