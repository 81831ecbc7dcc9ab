//! `cargo run -p ch10 [-- list | -- <id> [args…]]`: the demos of chapter 10, in book order.
//!
//! This file is only the table of contents; each demo lives in the library module named after
//! its id, and `common::demo::run_chapter` does the dispatching.

use std::process::ExitCode;

use ch10::*;
use common::demo::{Demo, run_chapter};

const DEMOS: &[Demo] = &[
    Demo::new("data-layer", "Setting Up the Basics", data_layer::run),
    Demo::new("raw-waker", "Building Our Waker", raw_waker::run),
    Demo::new("wake-trait", "Building Our Waker", wake_trait::run),
    Demo::new("task-executor", "Building Our Executor", task_executor::run),
    Demo::new("join-handle", "Building Our Executor", join_handle::run),
    Demo::new("run-executor", "Running Our Executor", run_executor::run),
    Demo::new(
        "forgotten-wake",
        "Running Our Executor",
        forgotten_wake::run,
    ),
    Demo::new("tcp-sender", "Building Our Sender", tcp_sender::run).with_usage("[--mib N]"),
    Demo::new("tcp-receiver", "Building Our Receiver", tcp_receiver::run)
        .with_usage("[--gap-ms MS]"),
    Demo::new("sleep-future", "Building Our Sleep", sleep_future::run),
    Demo::new("server", "Building Our Server", server::run).with_usage(
        "[--addr ADDR] [--workers N] [--work-ms MS] [--max-conns N] [--idle-ms MS] [--quiet]",
    ),
    Demo::new("worker-router", "Accepting Requests", worker_router::run)
        .with_usage("[--connections N]"),
    Demo::new("handle-client", "Handling Requests", handle_client::run)
        .with_usage("[--work-ms MS] [--idle-ms MS]"),
    Demo::new("client", "Building Our Async Client", client::run)
        .with_usage("[--addr ADDR] [--requests N] [--show K]"),
    Demo::new("mixed-runtimes", "Summary", mixed_runtimes::run).with_usage("[--sleep-ms MS]"),
    Demo::new("hostile-clients", "Extra: robustness", hostile_clients::run)
        .with_usage("[--bad N] [--threads N]"),
    Demo::new("load-test", "Extra: load and idle CPU", load_test::run)
        .with_usage("[--clients N] [--requests N] [--idle-secs S]"),
];

fn main() -> ExitCode {
    run_chapter("ch10", DEMOS)
}
