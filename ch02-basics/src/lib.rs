//! Chapter 2 of *Async Rust*, "Basic Async Rust": tasks, futures, pinning, context and wakers.
//!
//! One module per demo, named after its id (`remote-waker` lives in [`remote_waker`]), in the
//! order of the book. Run them all with `cargo run -p ch02`, list them with
//! `cargo run -p ch02 -- list`, or run one with `cargo run -p ch02 -- <id> [args…]`.
//!
//! Helper modules shared by several demos: [`units`] (the scaled time unit and named runtimes),
//! [`kitchen`] (the breakfast steps of "Understanding Tasks"), [`log_dir`] (where the logger demos
//! write) and [`wake_signal`] (a waker that counts its wakes and unparks a thread).
//!
//! | book section | demos |
//! |---|---|
//! | Understanding Tasks | [`coffee_toast_join`], [`coffee_cooperative_nudge`], [`coffee_sequential_task`], [`two_people_in_turn`], [`people_joined_one_worker`] |
//! | Futures | [`counter_two_tasks`] |
//! | Pinning in Futures | [`self_ref_pinning`] |
//! | Context in Futures | [`counter_without_wake`], [`timeout_slow_task`], [`cancel_safety`] |
//! | Waking Futures Remotely | [`remote_waker`] |
//! | Sharing Data Between Futures | [`shared_counter_futures`] |
//! | High-Level Data Sharing Between Futures | [`async_mutex_counter`], [`future_state_machine`] |
//! | How Are Futures Processed? | [`block_on_by_hand`] |
//! | Putting It All Together | [`audit_logger`], [`ordered_audit_log`] |
//! | Extra | [`raw_waker_vtable`], [`lock_retry_cost`] |

pub mod kitchen;
pub mod log_dir;
pub mod units;
pub mod wake_signal;

pub mod async_mutex_counter;
pub mod audit_logger;
pub mod block_on_by_hand;
pub mod cancel_safety;
pub mod coffee_cooperative_nudge;
pub mod coffee_sequential_task;
pub mod coffee_toast_join;
pub mod counter_two_tasks;
pub mod counter_without_wake;
pub mod future_state_machine;
pub mod lock_retry_cost;
pub mod ordered_audit_log;
pub mod people_joined_one_worker;
pub mod raw_waker_vtable;
pub mod remote_waker;
pub mod self_ref_pinning;
pub mod shared_counter_futures;
pub mod timeout_slow_task;
pub mod two_people_in_turn;
