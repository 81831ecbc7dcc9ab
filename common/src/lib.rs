//! Shared pieces of the *Async Rust* companion workspace.
//!
//! Every chapter crate uses a little of this crate, so that its own code can stay about the
//! chapter's lesson:
//!
//! | module | what | used by |
//! |---|---|---|
//! | [`demo`] | the runner behind every chapter's `main.rs`, and the argument helpers | every chapter |
//! | [`CounterFuture`] | the hand-written future of chapters 2 and 3 | ch02, ch03, ch05, ch09 |
//! | [`timeline`] | spans recorded from any thread, drawn as an ASCII Gantt chart; [`timeline::CountPolls`] | most chapters |
//! | `http` (feature `http`) | a loopback HTTP/1.1 server with routes, delays, counters and arrival times | ch01, ch04, ch09 |
//! | `client` (feature `client`) | the one place reqwest clients are built | ch01, ch09 |
//! | [`panic`] | the text inside a panic payload | ch01, ch03, ch04, ch10, ch11 |
//! | [`xorshift`] | deterministic pseudo-random numbers, no dependency | ch01, ch10 |
//! | `testing` (feature `testing`) | run a chapter binary as a reader does, under a watchdog | chapter tests |
//!
//! The default build uses nothing but the standard library: chapter 10 builds an HTTP server on std
//! alone and still shares the runner. The HTTP pieces sit behind cargo features because speaking
//! HTTP well is hyper's and reqwest's job, not something to hand-write here.
#![warn(missing_docs)]

pub mod counter;
pub mod demo;
pub mod panic;
pub mod timeline;
pub mod xorshift;

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "testing")]
pub mod testing;

pub use counter::CounterFuture;
pub use timeline::Timeline;
