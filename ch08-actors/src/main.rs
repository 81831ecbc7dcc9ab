//! `cargo run -p ch08 [-- list | -- <id> [args…]]`: the demos of chapter 8, in book order.
//!
//! This file is only the table of contents; each demo lives in the library module named after
//! its id, and `common::demo::run_chapter` does the dispatching.

use std::process::ExitCode;

use ch08::*;
use common::demo::{Demo, run_chapter};

const DEMOS: &[Demo] = &[
    Demo::new("basic-actor", "Building a Basic Actor", basic_actor::run),
    Demo::new(
        "responding-actor",
        "Building a Basic Actor",
        responding_actor::run,
    ),
    Demo::new(
        "actor-vs-mutex",
        "Working with Actors Versus Mutexes",
        actor_vs_mutex::run,
    )
    .with_usage("[--ops N]"),
    Demo::new(
        "work-while-waiting",
        "Working with Actors Versus Mutexes",
        work_while_waiting::run,
    ),
    Demo::new(
        "key-value-actor",
        "Implementing the Router Pattern",
        key_value_actor::run,
    ),
    Demo::new(
        "router-pattern",
        "Implementing the Router Pattern",
        router_pattern::run,
    ),
    Demo::new(
        "state-recovery",
        "Implementing State Recovery for Actors",
        state_recovery::run,
    )
    .with_usage("[--dir DIR]"),
    Demo::new(
        "load-state-file",
        "Implementing State Recovery for Actors",
        load_state_file::run,
    ),
    Demo::new(
        "heartbeat-supervisor",
        "Creating Actor Supervision",
        heartbeat_supervisor::run,
    )
    .with_usage("[--dir DIR]"),
    Demo::new(
        "actor-reset",
        "Creating Actor Supervision",
        actor_reset::run,
    )
    .with_usage("[--dir DIR]"),
    Demo::new("router-vs-direct", "Summary", router_vs_direct::run).with_usage("[--ops N]"),
    Demo::new(
        "writer-crash-matrix",
        "Extra: crash-safe persistence",
        writer_crash_matrix::run,
    )
    .with_usage("[--kills K] | --child DIR [--writes N] [--prefix P]"),
];

fn main() -> ExitCode {
    run_chapter("ch08", DEMOS)
}
