//! `cargo run -p ch07 [-- list | -- <id> [args…]]`: the demos of chapter 7, in book order.
//!
//! This file is only the table of contents; each demo lives in the library module named after
//! its id, and `common::demo::run_chapter` does the dispatching.

use std::process::ExitCode;

use ch07::*;
use common::demo::{Demo, run_chapter};

const DEMOS: &[Demo] = &[
    Demo::new("custom-runtime", "Building a Runtime", custom_runtime::run)
        .with_usage("[--sleep-ms MS]"),
    Demo::new(
        "builder-options",
        "Building a Runtime",
        builder_options::run,
    ),
    Demo::new(
        "priority-runtimes",
        "Building a Runtime",
        priority_runtimes::run,
    )
    .with_usage("[--job-ms MS]"),
    Demo::new(
        "local-pool-one-thread",
        "Processing Tasks with Local Pools",
        local_pool_one_thread::run,
    )
    .with_usage("[--work-ms MS]"),
    Demo::new(
        "local-pool-three-threads",
        "Processing Tasks with Local Pools",
        local_pool_three_threads::run,
    )
    .with_usage("[--work-ms MS]"),
    Demo::new(
        "pin-index-std-sleep",
        "Processing Tasks with Local Pools",
        pin_index_std_sleep::run,
    )
    .with_usage("[--work-ms MS]"),
    Demo::new(
        "pin-index-tokio-sleep",
        "Processing Tasks with Local Pools",
        pin_index_tokio_sleep::run,
    )
    .with_usage("[--work-ms MS]"),
    Demo::new(
        "local-set-non-send",
        "Processing Tasks with Local Pools",
        local_set_non_send::run,
    ),
    Demo::new(
        "unsafe-thread-counter",
        "Getting Unsafe with Thread Data",
        unsafe_thread_counter::run,
    )
    .with_usage("[--tasks N]"),
    Demo::new(
        "ctrl-c-three-times",
        "Graceful Shutdowns",
        ctrl_c_three_times::run,
    )
    .with_usage("[--wait]"),
    Demo::new(
        "ctrl-c-blocking-pitfall",
        "Graceful Shutdowns",
        ctrl_c_blocking_pitfall::run,
    )
    .with_usage("[--case a|b|c] [--wait] [--block-ms MS] [--idle-ms MS]"),
    Demo::new(
        "signals-on-main-thread",
        "Graceful Shutdowns",
        signals_on_main_thread::run,
    )
    .with_usage("[--wait]"),
    Demo::new(
        "collect-state-ctrl-c",
        "Graceful Shutdowns",
        collect_state_ctrl_c::run,
    )
    .with_usage("[--wait] [--tasks N]"),
    Demo::new(
        "collect-state-sighup",
        "Graceful Shutdowns",
        collect_state_sighup::run,
    )
    .with_usage("[--wait] [--tasks N]"),
    Demo::new(
        "graceful-drain",
        "Extra: graceful drain",
        graceful_drain::run,
    )
    .with_usage("[--wait] [--state-dir DIR] [--unit-ms MS] [--term-after-ms MS]"),
];

fn main() -> ExitCode {
    run_chapter("ch07", DEMOS)
}
