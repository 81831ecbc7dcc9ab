//! Chapter 8 of *Async Rust*, "The Actor Model": actors, a router, a writer that persists, and a
//! supervisor that restarts.
//!
//! One module per demo, named after its id (`state-recovery` lives in [`state_recovery`]), in the
//! order of the book. Run them all with `cargo run -p ch08`, list them with
//! `cargo run -p ch08 -- list`, or run one with `cargo run -p ch08 -- <id> [args…]`.
//!
//! Helper modules shared by several demos: [`actor_error`] (what a caller gets instead of an
//! answer), [`persist`] (the crash-safe write of `data.json`, step by step) and [`store`] (what the
//! actors of one persistent system share: configuration, writer lock, counters, event log).
//!
//! | book section | demos |
//! |---|---|
//! | Building a Basic Actor | [`basic_actor`], [`responding_actor`] |
//! | Working with Actors Versus Mutexes | [`actor_vs_mutex`], [`work_while_waiting`] |
//! | Implementing the Router Pattern | [`key_value_actor`], [`router_pattern`] |
//! | Implementing State Recovery for Actors | [`state_recovery`], [`load_state_file`] |
//! | Creating Actor Supervision | [`heartbeat_supervisor`], [`actor_reset`] |
//! | Summary | [`router_vs_direct`] |
//! | Extra: crash-safe persistence | [`writer_crash_matrix`] |

pub mod actor_error;
pub mod actor_reset;
pub mod actor_vs_mutex;
pub mod basic_actor;
pub mod heartbeat_supervisor;
pub mod key_value_actor;
pub mod load_state_file;
pub mod persist;
pub mod responding_actor;
pub mod router_pattern;
pub mod router_vs_direct;
pub mod state_recovery;
pub mod store;
pub mod work_while_waiting;
pub mod writer_crash_matrix;
