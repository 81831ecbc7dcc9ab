//! Chapter 10 of *Async Rust*, "Building an Async Server with No Dependencies".
//!
//! One module per demo, named after its id, in the order of the book. Run them all with
//! `cargo run -p ch10`, list them with `cargo run -p ch10 -- list`, or run one with
//! `cargo run -p ch10 -- <id> [args…]`.
//!
//! The book splits the project into four crates (`data_layer`, `async_runtime`, `server`,
//! `client`); here they are module folders of this one std-only package:
//! [`data_layer`] (+ `src/data_layer/`), [`async_runtime`] (+ `src/async_runtime/`: waker,
//! executor, join handle, sleep and timer, socket readiness), [`server`] (+ `src/server/`) and
//! [`client`] (+ `src/client/`). The other demo modules are thin lesson files that run them.
//! Two helpers sit beside the lessons: [`client::unblock`] (one blocking call on a helper thread,
//! for `connect`) and [`load_test::cpu`] (process CPU time from `/proc`).

pub mod async_runtime;
pub mod client;
pub mod data_layer;
pub mod forgotten_wake;
pub mod handle_client;
pub mod hostile_clients;
pub mod join_handle;
pub mod load_test;
pub mod mixed_runtimes;
pub mod raw_waker;
pub mod run_executor;
pub mod server;
pub mod sleep_future;
pub mod task_executor;
pub mod tcp_receiver;
pub mod tcp_sender;
pub mod wake_trait;
pub mod worker_router;
