//! The book's `async_runtime` crate, as a module folder ("Building Our std Async Runtime").
//!
//! The book plans five parts — a waker, an executor, a sender, a receiver and a sleeper — and
//! lists them in `async_runtime/src/lib.rs`. Here each part is a file in `src/async_runtime/`:
//!
//! | part | file | what it holds |
//! |---|---|---|
//! | waker | [`waker`] | the hand-written reference-counted `RawWakerVTable` and its safe twin on `std::task::Wake`, plus a parking `block_on` |
//! | executor | [`executor`] | `Task`, `Executor` (polls only woken tasks, parks when none is ready), `Spawner` |
//! | join handle | [`join`] | `JoinHandle<T>` (blocking `join()` or `.await`) and `JoinError` |
//! | sleeper | [`sleep`] + [`timer`] | `Sleep`, woken at its deadline by one timer thread |
//! | socket readiness | [`reactor`] | `Readiness`: a task waits for a socket to become readable or writable without spinning (`poll(2)` on Unix) |
//!
//! The sender and receiver futures build on [`reactor`]. Nothing here comes from a crate: the
//! whole runtime is `std` (and, on Unix, one declaration of the C library's `poll`).

pub mod executor;
pub mod join;
pub mod reactor;
pub mod receiver;
pub mod sender;
pub mod sleep;
pub mod timer;
pub mod waker;

#[cfg(test)]
pub(crate) mod test_support;

pub use executor::{Executor, Spawner, Task};
pub use join::{JoinError, JoinHandle};
pub use reactor::{Interest, Readiness};
pub use sleep::{Sleep, sleep};
pub use waker::block_on;
