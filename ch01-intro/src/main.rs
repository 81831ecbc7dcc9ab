//! `cargo run -p ch01 [-- list | -- <id> [args…]]`: the demos of chapter 1, in book order.
//!
//! This file is only the table of contents; each demo lives in the library module named after
//! its id, and `common::demo::run_chapter` does the dispatching.

use std::process::ExitCode;

use ch01::*;
use common::demo::{Demo, run_chapter};

const DEMOS: &[Demo] = &[
    Demo::new(
        "cpu-stress-threads",
        "What Is Async?",
        cpu_stress_threads::run,
    )
    .with_usage("[--n N] [--threads T]"),
    Demo::new(
        "single-request-timing",
        "What Is Async?",
        single_request_timing::run,
    )
    .with_usage("[--url URL] [--delay-ms D]"),
    Demo::new(
        "sequential-requests",
        "What Is Async?",
        sequential_requests::run,
    )
    .with_usage("[--url URL] [--delay-ms D]"),
    Demo::new("joined-requests", "What Is Async?", joined_requests::run)
        .with_usage("[--url URL] [--delay-ms D]"),
    Demo::new(
        "connection-process",
        "Introduction to Processes",
        connection_process::run,
    )
    .with_usage("[--url URL]"),
    Demo::new(
        "spawn-process",
        "Introduction to Processes",
        spawn_process::run,
    )
    .with_usage("[--url URL]"),
    Demo::new(
        "four-processes-script",
        "Introduction to Processes",
        four_processes_script::run,
    )
    .with_usage("[--url URL] [--delay-ms D]"),
    Demo::new(
        "tokio-process-tasks",
        "Introduction to Processes",
        tokio_process_tasks::run,
    )
    .with_usage("[--url URL] [--delay-ms D]"),
    Demo::new(
        "fib-thread-timing",
        "What Are Threads?",
        fib_thread_timing::run,
    )
    .with_usage("[--n N]"),
    Demo::new("condvar-notify", "What Are Threads?", condvar_notify::run)
        .with_usage("[--pause-ms P]"),
    Demo::new(
        "io-latency-scales",
        "Where Can We Utilize Async?",
        io_latency_scales::run,
    )
    .with_usage("[--url URL]"),
    Demo::new(
        "watch-file-changes",
        "Using Async for File I/O",
        watch_file_changes::run,
    )
    .with_usage("[--interval-ms I]"),
    Demo::new(
        "fetch-and-login",
        "Improving HTTP Request Performance with Async",
        fetch_and_login::run,
    )
    .with_usage("[--url URL]"),
    Demo::new(
        "spawn-cost-compare",
        "Extra: cost of processes, threads, tasks",
        spawn_cost_compare::run,
    )
    .with_usage("[--count N]"),
];

fn main() -> ExitCode {
    run_chapter("ch01", DEMOS)
}
