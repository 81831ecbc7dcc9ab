//! Chapter 9 of *Async Rust*, "Design Patterns".
//!
//! One module per demo, named after its id, in the order of the book. Run them all with
//! `cargo run -p ch09`, list them with `cargo run -p ch09 -- list`, or run one with
//! `cargo run -p ch09 -- <id> [args…]`. The cargo feature `logging_decorator` (off by default) is
//! the book's compile-time switch: see [`feature_decorator`].
//!
//! | book section | demos |
//! |---|---|
//! | Building an Isolated Module | [`isolated_module`] |
//! | Waterfall Design Pattern | [`waterfall_chain`], [`waterfall_branching`] |
//! | The Decorator Pattern | [`greeting_decorator`], [`feature_decorator`], [`logging_future`] |
//! | The State Machine Pattern | [`switch_state_machine`], [`state_future`] |
//! | The Retry Pattern | [`retry_backoff`] |
//! | The Circuit-Breaker Pattern | [`circuit_breaker`] |
//! | Extra: patterns together | [`patterns_combined`] |
//!
//! | helper | what | used by |
//! |---|---|---|
//! | [`flaky`] | the loopback server whose `/flaky` route fails a scripted number of times | `retry-backoff`, `circuit-breaker`, `patterns-combined` |

pub mod flaky;

pub mod circuit_breaker;
pub mod feature_decorator;
pub mod greeting_decorator;
pub mod isolated_module;
pub mod logging_future;
pub mod patterns_combined;
pub mod retry_backoff;
pub mod state_future;
pub mod switch_state_machine;
pub mod waterfall_branching;
pub mod waterfall_chain;
