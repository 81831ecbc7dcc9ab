//! Chapter 1 of *Async Rust*, "Introduction to Async": processes, threads, and a first taste of async.
//!
//! One module per demo, named after its id (`joined-requests` lives in [`joined_requests`]), in the
//! order of the book. Run them all with `cargo run -p ch01`, list them with
//! `cargo run -p ch01 -- list`, or run one with `cargo run -p ch01 -- <id> [args…]`.
//!
//! Two modules are shared by several demos: [`fibonacci`] (the CPU-bound workload) and
//! [`loopback`] (the local server that stands in for the book's internet APIs).
//!
//! | book section | demos |
//! |---|---|
//! | What Is Async? | [`cpu_stress_threads`], [`single_request_timing`], [`sequential_requests`], [`joined_requests`] |
//! | Introduction to Processes | [`connection_process`], [`spawn_process`], [`four_processes_script`], [`tokio_process_tasks`] |
//! | What Are Threads? | [`fib_thread_timing`], [`condvar_notify`] |
//! | Where Can We Utilize Async? | [`io_latency_scales`] |
//! | Using Async for File I/O | [`watch_file_changes`] |
//! | Improving HTTP Request Performance with Async | [`fetch_and_login`] |
//! | Extra | [`spawn_cost_compare`] |

pub mod fibonacci;
pub mod loopback;

pub mod condvar_notify;
pub mod connection_process;
pub mod cpu_stress_threads;
pub mod fetch_and_login;
pub mod fib_thread_timing;
pub mod four_processes_script;
pub mod io_latency_scales;
pub mod joined_requests;
pub mod sequential_requests;
pub mod single_request_timing;
pub mod spawn_cost_compare;
pub mod spawn_process;
pub mod tokio_process_tasks;
pub mod watch_file_changes;
