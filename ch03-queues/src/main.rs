//! `cargo run -p ch03 [-- list | -- <id> [args…]]`: the demos of chapter 3, in book order.
//!
//! This file is only the table of contents; each demo lives in the library module named after
//! its id, and `common::demo::run_chapter` does the dispatching.

use std::process::ExitCode;

use ch03::*;
use common::demo::{Demo, run_chapter};

const DEMOS: &[Demo] = &[
    Demo::new(
        "basic-queue",
        "Building Our Own Async Queue",
        basic_queue::run,
    ),
    Demo::new(
        "counter-future",
        "Building Our Own Async Queue",
        counter_future::run,
    ),
    Demo::new(
        "async-sleep",
        "Building Our Own Async Queue",
        async_sleep::run,
    ),
    Demo::new(
        "timer-sleep",
        "Building Our Own Async Queue",
        timer_sleep::run,
    ),
    Demo::new(
        "more-workers",
        "Increasing Workers and Queues",
        more_workers::run,
    ),
    Demo::new(
        "priority-queues",
        "Passing Tasks to Different Queues",
        priority_queues::run,
    ),
    Demo::new("task-stealing", "Task Stealing", task_stealing::run),
    Demo::new(
        "spawn-task-macro",
        "Refactoring Our spawn_task Function",
        spawn_task_macro::run,
    ),
    Demo::new("join-macro", "Creating Our Own Join Macro", join_macro::run),
    Demo::new(
        "try-join-macro",
        "Creating Our Own Join Macro",
        try_join_macro::run,
    ),
    Demo::new(
        "runtime-builder",
        "Configuring Our Runtime",
        runtime_builder::run,
    ),
    Demo::new(
        "background-process",
        "Running Background Processes",
        background_process::run,
    ),
];

fn main() -> ExitCode {
    run_chapter("ch03", DEMOS)
}
