//! Chapter 7 of *Async Rust*, "Customizing Tokio".
//!
//! One module per demo, named after its id, in the order of the book. Run them all with
//! `cargo run -p ch07`, list them with `cargo run -p ch07 -- list`, or run one with
//! `cargo run -p ch07 -- <id> [args…]`.
//!
//! The incidental pieces several demos share, and that are no lesson themselves, are in helper
//! modules:
//!
//! | helper | what | used by |
//! |---|---|---|
//! | [`threads`] | thread labels with the worker index, a recorder for the runtime's thread hooks, a test watchdog | `custom-runtime`, `builder-options`, `priority-runtimes` |
//! | [`pool_run`] | the local-pool driver: placement, pause, transcript of what tasks print, pool-thread names, report and chart | the four local-pool demos, `local-set-non-send`, `unsafe-thread-counter` |
//! | [`child`] | the parent/child plumbing of the signal demos: start this same binary as a child, relay its lines with a deadline, send signals with `nix`, wait with a limit (kill and fail past it); child side: `forward_signals`, `exit_when_parent_goes` | `ctrl-c-three-times`, `ctrl-c-blocking-pitfall`, `signals-on-main-thread`, `collect-state-ctrl-c`, `collect-state-sighup`, `graceful-drain` |

pub mod builder_options;
pub mod child;
pub mod collect_state_ctrl_c;
pub mod collect_state_sighup;
pub mod ctrl_c_blocking_pitfall;
pub mod ctrl_c_three_times;
pub mod custom_runtime;
pub mod graceful_drain;
pub mod local_pool_one_thread;
pub mod local_pool_three_threads;
pub mod local_set_non_send;
pub mod pin_index_std_sleep;
pub mod pin_index_tokio_sleep;
pub mod pool_run;
pub mod priority_runtimes;
pub mod signals_on_main_thread;
pub mod threads;
pub mod unsafe_thread_counter;
