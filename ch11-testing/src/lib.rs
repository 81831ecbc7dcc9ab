//! Chapter 11 of *Async Rust*, "Testing": mocks, concurrency failures caught by tests, a mock
//! HTTP server, futures polled by hand.
//!
//! One module per demo, named after its id (`poll-step-by-step` lives in [`poll_step_by_step`]),
//! in the order of the book. Run them all with `cargo run -p ch11`, list them with
//! `cargo run -p ch11 -- list`, or run one with `cargo run -p ch11 -- <id> [args…]`. Each demo
//! prints what its technique caught; its tests (`cargo test -p ch11 <module>`) are the chapter's
//! real subject.
//!
//! | helper | what | used by |
//! |---|---|---|
//! | [`caught`] | catch a panic (a mock's or loom's complaint) and print its message | `sync-mock-trait`, `mockito-endpoint`, `loom-lost-update` |
//!
//! | book section | demos |
//! |---|---|
//! | Performing Basic Sync Testing | [`sync_mock_trait`] |
//! | Mocking Async Code | [`async_mock_trait`] |
//! | Testing For Deadlocks | [`deadlock_timeout`], [`livelock_corridor`] |
//! | Testing for Race Conditions | [`race_lost_update`] |
//! | Testing Channel Capacity | [`channel_capacity_stall`] |
//! | Testing Network Interactions | [`mockito_endpoint`] |
//! | Fine-Grained Future Testing | [`poll_step_by_step`] |
//! | Extra: controlling time in tests | [`virtual_time_backoff`] |
//! | Extra: exhaustive interleavings | [`loom_lost_update`] |

pub mod caught;

pub mod async_mock_trait;
pub mod channel_capacity_stall;
pub mod deadlock_timeout;
pub mod livelock_corridor;
pub mod loom_lost_update;
pub mod mockito_endpoint;
pub mod poll_step_by_step;
pub mod race_lost_update;
pub mod sync_mock_trait;
pub mod virtual_time_backoff;
