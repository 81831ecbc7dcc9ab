//! `cargo run -p ch06 [-- list | -- <id> [args…]]`: the demos of chapter 6, in book order.
//!
//! This file is only the table of contents; each demo lives in the library module named after
//! its id, and `common::demo::run_chapter` does the dispatching.

use std::process::ExitCode;

use ch06::*;
use common::demo::{Demo, run_chapter};

const DEMOS: &[Demo] = &[
    Demo::new(
        "subjects-atomics",
        "Defining Our Subjects",
        subjects_atomics::run,
    ),
    Demo::new(
        "display-observer",
        "Building Our Display Observer",
        display_observer::run,
    )
    .with_usage("[--step-ms 100] [--clear]"),
    Demo::new(
        "compare-exchange",
        "Building Our Display Observer",
        compare_exchange::run,
    ),
    Demo::new(
        "heater-heat-loss",
        "Building Our Heater and Heat-Loss Observer",
        heater_heat_loss::run,
    )
    .with_usage("[--period-ms 100]"),
    Demo::new(
        "heating-system",
        "Building Our Heater and Heat-Loss Observer",
        heating_system::run,
    )
    .with_usage("[--periods 40] [--period-ms 75]"),
    Demo::new(
        "callback-basics",
        "Getting User Input via Callbacks",
        callback_basics::run,
    ),
    Demo::new(
        "event-loop-thread",
        "Getting User Input via Callbacks",
        event_loop_thread::run,
    )
    .with_usage("[--work-ms 50]"),
    Demo::new(
        "user-input-callbacks",
        "Getting User Input via Callbacks",
        user_input_callbacks::run,
    )
    .with_usage("[--periods 20] [--period-ms 75] [--script \"h,i,+,+,-\" | --stdin]"),
    Demo::new(
        "event-bus-struct",
        "Building Our Event Bus Struct",
        event_bus_struct::run,
    ),
    Demo::new(
        "event-bus-handle",
        "Building Our Event Bus Handle",
        event_bus_handle::run,
    ),
    Demo::new(
        "event-bus-tasks",
        "Interacting with Our Event Bus via Async Tasks",
        event_bus_tasks::run,
    )
    .with_usage("[--period-ms 100] [--gap-ms 20]"),
    Demo::new(
        "busy-poll-cost",
        "Extra: cost of self-waking observers",
        busy_poll_cost::run,
    )
    .with_usage("[--span-ms 300] [--period-ms 100]"),
    Demo::new(
        "delayed-oscillation",
        "Extra: delayed reactions",
        delayed_oscillation::run,
    )
    .with_usage("[--periods 80] [--period-ms 20]"),
    Demo::new(
        "broadcast-vs-bus",
        "Extra: tokio's ready-made channels",
        broadcast_vs_bus::run,
    ),
];

fn main() -> ExitCode {
    run_chapter("ch06", DEMOS)
}
