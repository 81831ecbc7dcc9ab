//! `cargo run -p ch09 [-- list | -- <id> [args…]]`: the demos of chapter 9, in book order.
//!
//! This file is only the table of contents; each demo lives in the library module named after
//! its id, and `common::demo::run_chapter` does the dispatching.

use std::process::ExitCode;

use ch09::*;
use common::demo::{Demo, run_chapter};

const DEMOS: &[Demo] = &[
    Demo::new(
        "isolated-module",
        "Building an Isolated Module",
        isolated_module::run,
    )
    .with_usage("[--delay-ms D]"),
    Demo::new(
        "waterfall-chain",
        "Waterfall Design Pattern",
        waterfall_chain::run,
    )
    .with_usage("[--fail-at N]"),
    Demo::new(
        "waterfall-branching",
        "Waterfall Design Pattern",
        waterfall_branching::run,
    )
    .with_usage("[--seed N]"),
    Demo::new(
        "greeting-decorator",
        "The Decorator Pattern",
        greeting_decorator::run,
    ),
    Demo::new(
        "feature-decorator",
        "The Decorator Pattern",
        feature_decorator::run,
    ),
    Demo::new(
        "logging-future",
        "The Decorator Pattern",
        logging_future::run,
    ),
    Demo::new(
        "switch-state-machine",
        "The State Machine Pattern",
        switch_state_machine::run,
    ),
    Demo::new(
        "state-future",
        "The State Machine Pattern",
        state_future::run,
    )
    .with_usage("[--phase-ms P]"),
    Demo::new("retry-backoff", "The Retry Pattern", retry_backoff::run)
        .with_usage("[--failures K] [--initial-ms I] [--url URL]"),
    Demo::new(
        "circuit-breaker",
        "The Circuit-Breaker Pattern",
        circuit_breaker::run,
    )
    .with_usage("[--cooldown-ms C]"),
    Demo::new(
        "patterns-combined",
        "Extra: patterns together",
        patterns_combined::run,
    )
    .with_usage("[--failures K]"),
];

fn main() -> ExitCode {
    run_chapter("ch09", DEMOS)
}
