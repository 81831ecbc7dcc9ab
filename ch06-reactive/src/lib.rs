//! Chapter 6 of *Async Rust*, "Reactive Programming".
//!
//! One module per demo, named after its id, in the order of the book. Run them all with
//! `cargo run -p ch06`, list them with `cargo run -p ch06 -- list`, or run one with
//! `cargo run -p ch06 -- <id> [args…]`.
//!
//! `sim` is not a demo: it holds what the thermostat demos share (the scaled-down period, a runtime
//! with named workers, a timeline on tokio's clock, and `wait_for`). `input` is not a demo either:
//! it reads input lines from stdin on a thread, or plays a script, for `user-input-callbacks`.

pub mod broadcast_vs_bus;
pub mod busy_poll_cost;
pub mod callback_basics;
pub mod compare_exchange;
pub mod delayed_oscillation;
pub mod display_observer;
pub mod event_bus_handle;
pub mod event_bus_struct;
pub mod event_bus_tasks;
pub mod event_loop_thread;
pub mod heater_heat_loss;
pub mod heating_system;
pub mod input;
pub mod sim;
pub mod subjects_atomics;
pub mod user_input_callbacks;
