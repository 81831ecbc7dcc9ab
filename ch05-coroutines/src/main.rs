//! `cargo run -p ch05 [-- list | -- <id> [args…]]`: the demos of chapter 5, in book order.
//!
//! This file is only the table of contents; each demo lives in the library module named after
//! its id, and `common::demo::run_chapter` does the dispatching.

use std::process::ExitCode;

use ch05::*;
use common::demo::{Demo, run_chapter};

const DEMOS: &[Demo] = &[
    Demo::new(
        "coroutine-state-machine",
        "What Are Coroutines?",
        coroutine_state_machine::run,
    )
    .with_usage("[--step-ms N]"),
    Demo::new(
        "write-coroutine",
        "Why Use Coroutines?",
        write_coroutine::run,
    )
    .with_usage("[--count N] [--seed S]"),
    Demo::new(
        "lazy-generator",
        "Generating with Coroutines",
        lazy_generator::run,
    )
    .with_usage("[--take N]"),
    Demo::new(
        "read-coroutine",
        "Implementing a Simple Generator in Rust",
        read_coroutine::run,
    )
    .with_usage("[--file PATH]"),
    Demo::new(
        "coroutine-manager",
        "Stacking Our Coroutines",
        coroutine_manager::run,
    )
    .with_usage("[--count N] [--seed S]"),
    Demo::new(
        "symmetric-coroutine",
        "Calling a Coroutine from a Coroutine",
        symmetric_coroutine::run,
    )
    .with_usage("[--count N] [--seed S]"),
    Demo::new(
        "sleep-coroutines",
        "Mimicking Async Behavior with Coroutines",
        sleep_coroutines::run,
    )
    .with_usage("[--millis MS]"),
    Demo::new(
        "coroutine-executor",
        "Mimicking Async Behavior with Coroutines",
        coroutine_executor::run,
    )
    .with_usage("[--millis MS]"),
    Demo::new(
        "sleep-coroutine-future",
        "Mimicking Async Behavior with Coroutines",
        sleep_coroutine_future::run,
    )
    .with_usage("[--millis MS]"),
    Demo::new(
        "controlled-coroutines",
        "Controlling Coroutines",
        controlled_coroutines::run,
    )
    .with_usage("[--seed S] [--cutoff C]"),
    Demo::new(
        "nesting-future",
        "Controlling Coroutines",
        nesting_future::run,
    ),
    Demo::new(
        "coroutines-across-threads",
        "Controlling Coroutines",
        coroutines_across_threads::run,
    )
    .with_usage("[--seed S]"),
    Demo::new(
        "mutex-coroutines",
        "Testing Coroutines",
        mutex_coroutines::run,
    ),
    Demo::new(
        "mutex-future-adapter",
        "Testing Coroutines",
        mutex_future_adapter::run,
    )
    .with_usage("[--threshold N]"),
    Demo::new(
        "schedule-explorer",
        "Extra: every interleaving",
        schedule_explorer::run,
    ),
];

fn main() -> ExitCode {
    run_chapter("ch05", DEMOS)
}
