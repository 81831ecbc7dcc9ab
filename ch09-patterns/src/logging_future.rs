//! `logging-future`: a decorator around a future, logging every poll (book section "The Decorator
//! Pattern").
//!
//! The decorator idea works for futures too: [`LoggingFuture`] is a future whose `poll` logs a
//! line and then polls the future it wraps, returning whatever that returns. The only difficulty
//! is pinning. `poll` receives `Pin<&mut LoggingFuture<F>>`, and to poll the inner future it needs
//! a `Pin<&mut F>`: a *pin projection*. The book shows two ways, and we keep both:
//!
//! - [`LoggingFuture`] keeps `F` inline and projects the pin to it. The book does that with
//!   `unsafe { map_unchecked_mut(..) }`; we let `pin_project_lite::pin_project!` generate the same
//!   projection and check the conditions that make it sound, so there is no `unsafe` here.
//! - [`BoxedLoggingFuture`] keeps `Pin<Box<F>>`: the inner future is pinned on the heap, the
//!   wrapper itself is `Unpin`, and `get_mut` plus `as_mut` reach it safely, at the cost of one
//!   allocation.
//!
//! Both also count their polls in a shared `Arc<AtomicUsize>`, so tests can check them without
//! reading stdout.
//!
//! The [`Logging`] trait has a blanket implementation for every future. That makes any future
//! loggable, and it also means no future can have a `log` of its own: a second impl for one
//! type would overlap the blanket one, which the coherence rules forbid.
//!
//! Run it with `cargo run -p ch09 -- logging-future`: the book's two lines (`Polling the future!`,
//! then the result), then `common::CounterFuture` (ready on its third poll) wrapped both ways:
//! three `Polling the future!` lines each, and the same result.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use common::CounterFuture;
use common::demo::{Args, DemoResult};

/// Something that can log itself.
pub trait Logging {
    /// Logs one line.
    fn log(&self);
}

pin_project_lite::pin_project! {
    /// The book's `LoggingFuture`: logs, counts, then polls the future it wraps, in place.
    ///
    /// `inner` is the decorated future; `polls` counts the polls so far, shared with whoever
    /// holds a clone of the `Arc`.
    ///
    /// ```
    /// use ch09::logging_future::LoggingFuture;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let logged = LoggingFuture::new(async { 6 * 7 });
    /// let polls = logged.polls.clone();
    /// assert_eq!(logged.await, 42); // prints "Polling the future!" once
    /// assert_eq!(polls.load(std::sync::atomic::Ordering::Relaxed), 1);
    /// # }
    /// ```
    // `F: Future + Logging`, as in the book; the macro takes one bound per clause, hence the
    // `where` clause.
    pub struct LoggingFuture<F>
    where
        F: Future,
        F: Logging,
    {
        // The decorated future. (The macro takes no doc comments on fields.)
        #[pin]
        pub inner: F,
        // Polls so far, shared with whoever holds a clone.
        pub polls: Arc<AtomicUsize>,
    }
}

impl<F: Future + Logging> LoggingFuture<F> {
    /// Wraps `inner` with a fresh poll counter.
    pub fn new(inner: F) -> Self {
        LoggingFuture::counting(inner, Arc::default())
    }

    /// Wraps `inner`, counting its polls into `polls`.
    pub fn counting(inner: F, polls: Arc<AtomicUsize>) -> Self {
        LoggingFuture { inner, polls }
    }
}

impl<F: Future + Logging> Future for LoggingFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Book: `unsafe { self.map_unchecked_mut(|s| &mut s.inner) }`. That was sound (the type has
        // no `Drop` impl, no hand-written `Unpin` impl, and never moves `inner` out), but the
        // compiler cannot check it; `pin_project!` generates the same projection and guarantees
        // those conditions, so no `unsafe` is needed.
        let this = self.project();
        F::log(&this.inner);
        this.polls.fetch_add(1, Ordering::Relaxed);
        this.inner.poll(cx)
    }
}

/// The book's second `LoggingFuture`, holding its future in a `Pin<Box<F>>`: no projection
/// needed, because the box is already pinned and the wrapper itself is `Unpin`.
///
/// ```
/// use ch09::logging_future::BoxedLoggingFuture;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let logged = BoxedLoggingFuture::new(async { "boxed" });
/// assert_eq!(logged.await, "boxed");
/// # }
/// ```
pub struct BoxedLoggingFuture<F: Future + Logging> {
    /// The decorated future, pinned on the heap.
    pub inner: Pin<Box<F>>,
    /// Polls so far, shared with whoever holds a clone.
    pub polls: Arc<AtomicUsize>,
}

impl<F: Future + Logging> BoxedLoggingFuture<F> {
    /// Wraps `inner` (boxing and pinning it) with a fresh poll counter.
    // Book: its `main` builds `LoggingFuture { inner: my_async_function() }`, which fits only the
    // first version; this one needs `Box::pin(my_async_function())`, which `new` does.
    pub fn new(inner: F) -> Self {
        BoxedLoggingFuture::counting(inner, Arc::default())
    }

    /// Wraps `inner` (boxing and pinning it), counting its polls into `polls`.
    pub fn counting(inner: F, polls: Arc<AtomicUsize>) -> Self {
        BoxedLoggingFuture {
            inner: Box::pin(inner),
            polls,
        }
    }
}

impl<F: Future + Logging> Future for BoxedLoggingFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `get_mut` needs `Self: Unpin`, which holds: a `Pin<Box<F>>` is `Unpin` whatever `F` is.
        let this = self.get_mut();
        let inner = this.inner.as_mut();
        F::log(&inner);
        this.polls.fetch_add(1, Ordering::Relaxed);
        inner.poll(cx)
    }
}

/// Every future can log: this is what the decorator calls before each poll.
impl<F: Future> Logging for F {
    fn log(&self) {
        println!("Polling the future!");
    }
}

/// The book's example future: ready at its first poll.
pub async fn my_async_function() -> String {
    "Result of async computation".to_string()
}

/// The book's `main`: wraps [`my_async_function`], awaits it and prints the result (which it
/// also returns, with the number of polls).
pub async fn book_main() -> (String, usize) {
    let logged_future = LoggingFuture::new(my_async_function());
    let polls = logged_future.polls.clone();
    let result = logged_future.await;
    println!("{result}");
    (result, polls.load(Ordering::Relaxed))
}

/// Runs the demo: `logging-future` (no arguments).
#[tokio::main(flavor = "current_thread")]
pub async fn run(args: Args) -> DemoResult {
    args.finish()?;
    book_main().await;

    println!("\nCounterFuture (ready on its third poll) in a LoggingFuture:");
    let inline = LoggingFuture::new(CounterFuture::new(3));
    let polls = inline.polls.clone();
    let output = inline.await;
    println!(
        "output {output} after {} polls",
        polls.load(Ordering::Relaxed)
    );

    println!("\nthe same in a BoxedLoggingFuture:");
    let boxed = BoxedLoggingFuture::new(CounterFuture::new(3));
    let polls = boxed.polls.clone();
    let output = boxed.await;
    println!(
        "output {output} after {} polls",
        polls.load(Ordering::Relaxed)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn count(polls: &Arc<AtomicUsize>) -> usize {
        polls.load(Ordering::Relaxed)
    }

    #[tokio::test]
    async fn the_books_future_is_polled_once() {
        assert_eq!(
            book_main().await,
            ("Result of async computation".to_string(), 1)
        );
    }

    #[tokio::test]
    async fn both_forms_return_the_inner_output_after_pending_count_plus_one_polls() {
        // CounterFuture::new(3): pending twice, ready with 3 on the third poll.
        let polls = Arc::new(AtomicUsize::new(0));
        let output = LoggingFuture::counting(CounterFuture::new(3), polls.clone()).await;
        assert_eq!((output, count(&polls)), (3, 3));

        let polls = Arc::new(AtomicUsize::new(0));
        let output = BoxedLoggingFuture::counting(CounterFuture::new(3), polls.clone()).await;
        assert_eq!((output, count(&polls)), (3, 3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_timer_is_polled_when_started_and_when_it_fires() {
        let start = tokio::time::Instant::now();
        let inline = LoggingFuture::new(tokio::time::sleep(Duration::from_millis(10)));
        let polls = inline.polls.clone();
        inline.await;
        assert_eq!(count(&polls), 2);
        assert_eq!(start.elapsed(), Duration::from_millis(10));

        let boxed = BoxedLoggingFuture::new(tokio::time::sleep(Duration::from_millis(10)));
        let polls = boxed.polls.clone();
        boxed.await;
        assert_eq!(count(&polls), 2);
    }

    #[test]
    fn by_hand_every_poll_is_counted_and_passed_through() {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut logged = std::pin::pin!(LoggingFuture::new(CounterFuture::new(2)));
        assert_eq!(logged.as_mut().poll(&mut cx), Poll::Pending);
        assert_eq!(count(&logged.polls), 1);
        assert_eq!(logged.as_mut().poll(&mut cx), Poll::Ready(2));
        assert_eq!(count(&logged.polls), 2);

        // The boxed form is Unpin, so it needs no pinning by the caller.
        let mut boxed = BoxedLoggingFuture::new(CounterFuture::new(2));
        assert_eq!(Pin::new(&mut boxed).poll(&mut cx), Poll::Pending);
        assert_eq!(Pin::new(&mut boxed).poll(&mut cx), Poll::Ready(2));
        assert_eq!(count(&boxed.polls), 2);
    }

    #[test]
    fn the_demo_runs() {
        run(Args::from_iter([])).unwrap();
    }
}
