//! Chapter 3 of *Async Rust*, "Building Our Own Async Queues": a task-queue runtime of our own.
//!
//! The runtime grows in steps, one module per step of the book, so a reader can diff one step
//! against the next; what stays the same lives in [`support`]. The last step is [`runtime`],
//! public with its macros (`spawn_task!`, `join!`, `try_join!`): chapter 4 runs hyper and mio on it.
//!
//! Run every demo with `cargo run -p ch03`, list them with `cargo run -p ch03 -- list`, or run one
//! with `cargo run -p ch03 -- <id>`.

pub mod runtime;
pub mod support;

pub mod async_sleep;
pub mod background_process;
pub mod basic_queue;
pub mod counter_future;
pub mod join_macro;
pub mod more_workers;
pub mod priority_queues;
pub mod runtime_builder;
pub mod spawn_task_macro;
pub mod task_stealing;
pub mod timer_sleep;
pub mod try_join_macro;
