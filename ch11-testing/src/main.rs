//! `cargo run -p ch11 [-- list | -- <id> [args…]]`: the demos of chapter 11, in book order.
//!
//! This file is only the table of contents; each demo lives in the library module named after
//! its id, and `common::demo::run_chapter` does the dispatching.

use std::process::ExitCode;

use ch11::*;
use common::demo::{Demo, run_chapter};

const DEMOS: &[Demo] = &[
    Demo::new(
        "sync-mock-trait",
        "Performing Basic Sync Testing",
        sync_mock_trait::run,
    ),
    Demo::new(
        "async-mock-trait",
        "Mocking Async Code",
        async_mock_trait::run,
    ),
    Demo::new(
        "deadlock-timeout",
        "Testing For Deadlocks",
        deadlock_timeout::run,
    ),
    Demo::new(
        "livelock-corridor",
        "Testing For Deadlocks",
        livelock_corridor::run,
    ),
    Demo::new(
        "race-lost-update",
        "Testing for Race Conditions",
        race_lost_update::run,
    )
    .with_usage("[--tasks N] [--threaded-tasks M]"),
    Demo::new(
        "channel-capacity-stall",
        "Testing Channel Capacity",
        channel_capacity_stall::run,
    )
    .with_usage("[--capacity C]"),
    Demo::new(
        "mockito-endpoint",
        "Testing Network Interactions",
        mockito_endpoint::run,
    )
    .with_usage("[--url URL]"),
    Demo::new(
        "poll-step-by-step",
        "Fine-Grained Future Testing",
        poll_step_by_step::run,
    ),
    Demo::new(
        "virtual-time-backoff",
        "Extra: controlling time in tests",
        virtual_time_backoff::run,
    ),
    Demo::new(
        "loom-lost-update",
        "Extra: exhaustive interleavings",
        loom_lost_update::run,
    ),
];

fn main() -> ExitCode {
    run_chapter("ch11", DEMOS)
}
