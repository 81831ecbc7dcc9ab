//! `cargo run -p ch02 [-- list | -- <id> [args…]]`: the demos of chapter 2, in book order.
//!
//! This file is only the table of contents; each demo lives in the library module named after
//! its id, and `common::demo::run_chapter` does the dispatching.

use std::process::ExitCode;

use ch02::*;
use common::demo::{Demo, run_chapter};

const DEMOS: &[Demo] = &[
    Demo::new(
        "coffee-toast-join",
        "Understanding Tasks",
        coffee_toast_join::run,
    )
    .with_usage("[--unit-ms N]"),
    Demo::new(
        "coffee-cooperative-nudge",
        "Understanding Tasks",
        coffee_cooperative_nudge::run,
    )
    .with_usage("[--unit-ms N]"),
    Demo::new(
        "coffee-sequential-task",
        "Understanding Tasks",
        coffee_sequential_task::run,
    )
    .with_usage("[--unit-ms N]"),
    Demo::new(
        "two-people-in-turn",
        "Understanding Tasks",
        two_people_in_turn::run,
    )
    .with_usage("[--unit-ms N]"),
    Demo::new(
        "people-joined-one-worker",
        "Understanding Tasks",
        people_joined_one_worker::run,
    )
    .with_usage("[--unit-ms N]"),
    Demo::new("counter-two-tasks", "Futures", counter_two_tasks::run).with_usage("[--unit-ms N]"),
    Demo::new(
        "self-ref-pinning",
        "Pinning in Futures",
        self_ref_pinning::run,
    ),
    Demo::new(
        "counter-without-wake",
        "Context in Futures",
        counter_without_wake::run,
    )
    .with_usage("[--unit-ms N]"),
    Demo::new(
        "timeout-slow-task",
        "Context in Futures",
        timeout_slow_task::run,
    )
    .with_usage("[--unit-ms N]"),
    Demo::new(
        "cancel-safety",
        "Context in Futures › Cancel Safety",
        cancel_safety::run,
    )
    .with_usage("[--unit-ms N]"),
    Demo::new("remote-waker", "Waking Futures Remotely", remote_waker::run)
        .with_usage("[--unit-ms N]"),
    Demo::new(
        "shared-counter-futures",
        "Sharing Data Between Futures",
        shared_counter_futures::run,
    )
    .with_usage("[--unit-ms N]"),
    Demo::new(
        "async-mutex-counter",
        "High-Level Data Sharing Between Futures",
        async_mutex_counter::run,
    )
    .with_usage("[--unit-ms N]"),
    Demo::new(
        "future-state-machine",
        "High-Level Data Sharing › How Futures in Rust Are Different",
        future_state_machine::run,
    ),
    Demo::new(
        "block-on-by-hand",
        "How Are Futures Processed?",
        block_on_by_hand::run,
    )
    .with_usage("[--unit-ms N]"),
    Demo::new("audit-logger", "Putting It All Together", audit_logger::run)
        .with_usage("[--dir DIR]"),
    Demo::new(
        "ordered-audit-log",
        "Putting It All Together › Ensuring Order in Asynchronous Operations",
        ordered_audit_log::run,
    )
    .with_usage("[--dir DIR]"),
    Demo::new(
        "raw-waker-vtable",
        "Extra: a waker built by hand",
        raw_waker_vtable::run,
    )
    .with_usage("[--unit-ms N]"),
    Demo::new(
        "lock-retry-cost",
        "Extra: what busy retrying costs",
        lock_retry_cost::run,
    )
    .with_usage("[--unit-ms N]"),
];

fn main() -> ExitCode {
    run_chapter("ch02", DEMOS)
}
