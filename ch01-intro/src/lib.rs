//! Chapter 1 of *Async Rust*, "Introduction to Async": processes, threads, and a first taste of async.
//!
//! One module per demo, named after its id (`joined-requests` lives in [`joined_requests`]), in the
//! order of the book. Run them all with `cargo run -p ch01`, list them with
//! `cargo run -p ch01 -- list`, or run one with `cargo run -p ch01 -- <id> [args…]`.
//!
//! A demo module uses another only for what that one teaches; the incidental pieces that several
//! demos share are in helper modules, one step away from each demo:
//!
//! | helper | what | used by |
//! |---|---|---|
//! | [`fibonacci`] | the CPU-bound workload | `cpu-stress-threads`, `fib-thread-timing` |
//! | [`loopback`] | the local server that stands in for the book's internet APIs | every request demo |
//! | [`requests`] | a GET timed on the chart, the batch of four results and its report | `sequential-requests`, `joined-requests` |
//! | [`child`] | the child's command line, and how to say how a process ended | `spawn-process`, `tokio-process-tasks` |
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

pub mod child;
pub mod fibonacci;
pub mod loopback;
pub mod requests;

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
