//! `feature-decorator`: a cargo feature chooses the decorator at compile time (book section "The
//! Decorator Pattern").
//!
//! Because a decorator has the same interface as what it wraps, the choice between the two can be
//! made by the compiler: code under `#[cfg(feature = "logging_decorator")]` is built only when the
//! feature is on, code under `#[cfg(not(..))]` only when it is off. A build without the feature
//! contains no trace of the decorator and pays nothing for it.
//!
//! The chapter's one feature, `logging_decorator` (off by default, declared in `Cargo.toml`),
//! switches two things here: [`greeter`] returns the excited greeting instead of the plain one,
//! and [`maybe_logged`] wraps a future in
//! [`LoggingFuture`](crate::logging_future::LoggingFuture) (which logs and counts every poll)
//! instead of returning it untouched. [`LOGGING_DECORATOR`] tells the running program which build
//! it is.
//!
//! Run it both ways:
//!
//! ```text
//! cargo run -p ch09 -- feature-decorator
//! cargo run -p ch09 --features logging_decorator -- feature-decorator
//! ```
//!
//! Each prints the state of the feature, the greeting, and how many polls the logging wrapper
//! counted (0 when off), then the command that flips it.
//!
//! Every combination of features is a different program, so each must be built, linted and tested:
//! the chapter's tests carry `#[cfg]` too, and CI runs them with the feature off and on.
//!
//! How we differ from the book: the feature is named for logging but, in the book, only switches
//! in excitement. We keep the name and let it switch the logging future of `logging-future` as
//! well, as the section's closing remark suggests.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::demo::{Args, DemoResult};

use crate::greeting_decorator::{Greeting, HelloWorld};
#[cfg(feature = "logging_decorator")]
use crate::{greeting_decorator::ExcitedGreeting, logging_future::LoggingFuture};

/// The book's `main`: the feature decides which greeter is built. Returns what it prints.
pub fn book_main() -> String {
    #[cfg(feature = "logging_decorator")]
    let hello = ExcitedGreeting { inner: HelloWorld };

    #[cfg(not(feature = "logging_decorator"))]
    let hello = HelloWorld;

    let greeting = hello.greet();
    println!("{greeting}");
    greeting
}

/// Whether this build has the `logging_decorator` feature.
pub const LOGGING_DECORATOR: bool = cfg!(feature = "logging_decorator");

/// The greeter of this build: [`ExcitedGreeting`](crate::greeting_decorator::ExcitedGreeting)
/// around [`HelloWorld`] with the feature, plain [`HelloWorld`] without.
#[cfg(feature = "logging_decorator")]
pub fn greeter() -> impl Greeting {
    ExcitedGreeting { inner: HelloWorld }
}

/// The greeter of this build: [`ExcitedGreeting`](crate::greeting_decorator::ExcitedGreeting)
/// around [`HelloWorld`] with the feature, plain [`HelloWorld`] without.
#[cfg(not(feature = "logging_decorator"))]
pub fn greeter() -> impl Greeting {
    HelloWorld
}

/// With the feature: `future` inside a [`LoggingFuture`] that prints a line and adds one to
/// `polls` on every poll. Without it: `future` itself, and `polls` stays as it is.
///
/// ```
/// use ch09::feature_decorator::{LOGGING_DECORATOR, maybe_logged};
/// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let polls = Arc::new(AtomicUsize::new(0));
/// assert_eq!(maybe_logged(async { 7 }, polls.clone()).await, 7);
/// assert_eq!(polls.load(Ordering::Relaxed), if LOGGING_DECORATOR { 1 } else { 0 });
/// # }
/// ```
// Book: the feature only switches `ExcitedGreeting` in, despite its name; we let it switch the
// logging future on as well, as the section's closing remark suggests.
#[cfg(feature = "logging_decorator")]
pub fn maybe_logged<F: Future>(
    future: F,
    polls: Arc<AtomicUsize>,
) -> impl Future<Output = F::Output> {
    LoggingFuture::counting(future, polls)
}

/// With the feature: `future` inside a [`LoggingFuture`](crate::logging_future::LoggingFuture)
/// that prints a line and adds one to `polls` on every poll. Without it: `future` itself, and
/// `polls` stays as it is.
///
/// ```
/// use ch09::feature_decorator::{LOGGING_DECORATOR, maybe_logged};
/// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let polls = Arc::new(AtomicUsize::new(0));
/// assert_eq!(maybe_logged(async { 7 }, polls.clone()).await, 7);
/// assert_eq!(polls.load(Ordering::Relaxed), if LOGGING_DECORATOR { 1 } else { 0 });
/// # }
/// ```
#[cfg(not(feature = "logging_decorator"))]
pub fn maybe_logged<F: Future>(
    future: F,
    _polls: Arc<AtomicUsize>,
) -> impl Future<Output = F::Output> {
    future
}

/// Runs the demo: `feature-decorator` (no arguments; the switch is the cargo feature).
#[tokio::main(flavor = "current_thread")]
pub async fn run(args: Args) -> DemoResult {
    args.finish()?;
    let state = if LOGGING_DECORATOR { "on" } else { "off" };
    println!("logging_decorator: {state}");
    book_main();

    let polls = Arc::new(AtomicUsize::new(0));
    let waited = maybe_logged(
        async {
            tokio::task::yield_now().await;
            "a future that yields once"
        },
        polls.clone(),
    )
    .await;
    println!(
        "awaited {waited:?} through maybe_logged: {} poll(s) logged",
        polls.load(Ordering::Relaxed)
    );

    if LOGGING_DECORATOR {
        println!("build without the feature: cargo run -p ch09 -- feature-decorator");
    } else {
        println!(
            "build with the feature: cargo run -p ch09 --features logging_decorator -- feature-decorator"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: &str = "Hello, World!";
    const EXCITED: &str = "Hello, World! I'm so excited to be in Rust!";

    /// Awaits a future that is pending once through `maybe_logged` and returns the poll count.
    async fn polls_of_a_yielding_future() -> usize {
        let polls = Arc::new(AtomicUsize::new(0));
        let output = maybe_logged(
            async {
                tokio::task::yield_now().await;
                "done"
            },
            polls.clone(),
        )
        .await;
        assert_eq!(output, "done");
        polls.load(Ordering::Relaxed)
    }

    #[cfg(feature = "logging_decorator")]
    #[tokio::test]
    async fn with_the_feature_the_decorators_are_built() {
        const { assert!(LOGGING_DECORATOR) };
        assert_eq!(greeter().greet(), EXCITED);
        assert_eq!(book_main(), EXCITED);
        // Pending once, then ready: two polls, both logged.
        assert_eq!(polls_of_a_yielding_future().await, 2);
    }

    #[cfg(not(feature = "logging_decorator"))]
    #[tokio::test]
    async fn without_the_feature_nothing_is_decorated() {
        const { assert!(!LOGGING_DECORATOR) };
        assert_eq!(greeter().greet(), PLAIN);
        assert_eq!(book_main(), PLAIN);
        assert_eq!(polls_of_a_yielding_future().await, 0);
    }

    #[test]
    fn both_greeters_exist_in_every_build() {
        // The feature picks one; neither type disappears, so neither build warns of dead code.
        assert_eq!(HelloWorld.greet(), PLAIN);
        assert_eq!(
            crate::greeting_decorator::ExcitedGreeting { inner: HelloWorld }.greet(),
            EXCITED
        );
    }

    #[test]
    fn the_demo_runs() {
        run(Args::from_iter([])).unwrap();
    }
}
