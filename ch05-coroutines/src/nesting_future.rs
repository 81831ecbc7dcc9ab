//! `nesting-future`: a future that owns another future and polls it from its own `poll` (book
//! section "Controlling Coroutines").
//!
//! This is the async counterpart of controlling coroutines from outside: [`NestingFuture`] holds an
//! inner future and decides when to poll it. It passes its own `Context` down, so when the inner
//! future wakes "its" task, the waker it uses is the outer future's: the runtime polls the outer
//! one, which polls the inner one again. Control logic written this way runs inside a runtime task,
//! though, on whatever thread polls it, away from the main thread's data; a coroutine is resumed
//! by whoever holds it.
//!
//! The demo awaits a `NestingFuture` around `common::CounterFuture::new(3)` on a current-thread
//! runtime (each outer poll printed, then the counter's own line), then `tokio::spawn`s one, which
//! the book's `+ Send` bound on the inner future allows.
//!
//! Run it with `cargo run -p ch05 -- nesting-future`.
//!
//! The book never runs its `NestingFuture`; ours is the same struct and `poll`, plus a count of the
//! outer polls so the demo and the tests can compare them with the inner ones.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use common::CounterFuture;
use common::demo::{Args, DemoResult};
use common::timeline::CountPolls;

/// A future that forwards its polls, and its waker, to the future it holds.
pub struct NestingFuture {
    /// The inner future, boxed and pinned so `NestingFuture` itself stays `Unpin`.
    pub inner: Pin<Box<dyn Future<Output = ()> + Send>>,
    /// Ours: how many times the outer future has been polled.
    // Book: `NestingFuture` holds only `inner` and prints nothing; ours counts and prints its
    // polls, so the demo and the tests can set them beside the inner future's.
    pub polls: u32,
}

impl Future for NestingFuture {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.polls += 1;
        println!("NestingFuture: poll {}", self.polls);
        // The same `cx`: a wake from the inner future is a wake of the outer one's task.
        match self.inner.as_mut().poll(cx) {
            Poll::Ready(_) => Poll::Ready(()),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl NestingFuture {
    /// Boxes `inner` into a new `NestingFuture`.
    pub fn new(inner: impl Future<Output = ()> + Send + 'static) -> Self {
        Self {
            inner: Box::pin(inner),
            polls: 0,
        }
    }
}

/// A `NestingFuture` around a `CounterFuture` of `target` polls, wrapped in an `async` block to
/// fit `Output = ()`. The returned count reads the inner future's polls.
pub fn nest_counter(target: u32) -> (NestingFuture, common::timeline::PollCount) {
    let counter = CountPolls::new(CounterFuture::new(target));
    let inner_polls = counter.counter();
    let nesting = NestingFuture::new(async move {
        counter.await;
    });
    (nesting, inner_polls)
}

/// Runs the demo: `nesting-future`.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;

    println!("awaited on a current-thread runtime:");
    let (nesting, inner_polls) = nest_counter(3);
    runtime.block_on(nesting);
    println!("inner future polled {} times", inner_polls.get());

    println!("\nspawned as a task (the inner future is `Send`, so the NestingFuture is too):");
    let (nesting, inner_polls) = nest_counter(3);
    runtime.block_on(async { tokio::spawn(nesting).await })?;
    println!("inner future polled {} times", inner_polls.get());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    /// A waker that only counts its wakes.
    #[derive(Default)]
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_inner_futures_wakes_reach_the_outer_waker() {
        let counting = Arc::new(CountingWaker::default());
        let waker = Waker::from(Arc::clone(&counting));
        let mut cx = Context::from_waker(&waker);
        let (mut nesting, inner_polls) = nest_counter(3);

        assert_eq!(Pin::new(&mut nesting).poll(&mut cx), Poll::Pending);
        assert_eq!(counting.0.load(Ordering::SeqCst), 1);
        assert_eq!(Pin::new(&mut nesting).poll(&mut cx), Poll::Pending);
        assert_eq!(counting.0.load(Ordering::SeqCst), 2);
        assert_eq!(Pin::new(&mut nesting).poll(&mut cx), Poll::Ready(()));
        assert_eq!(counting.0.load(Ordering::SeqCst), 2, "Ready wakes nobody");

        assert_eq!(nesting.polls, 3);
        assert_eq!(inner_polls.get(), 3, "one inner poll per outer poll");
    }

    #[test]
    fn it_runs_awaited_and_spawned_on_tokio() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime");
        let (nesting, inner_polls) = nest_counter(4);
        runtime.block_on(nesting);
        assert_eq!(inner_polls.get(), 4);

        let (nesting, inner_polls) = nest_counter(2);
        runtime
            .block_on(async { tokio::spawn(nesting).await })
            .expect("the spawned NestingFuture completes");
        assert_eq!(inner_polls.get(), 2);
    }
}
