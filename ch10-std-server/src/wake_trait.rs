//! `wake-trait` ("Building Our Waker"): the same waker through `std::task::Wake`, no `unsafe`.
//!
//! The code is in [`crate::async_runtime::waker`]: `ThreadWaker { thread, wakes }` implements
//! `Wake`, and `Waker::from(Arc<ThreadWaker>)` builds exactly the reference-counted vtable that
//! `raw-waker` writes by hand. [`block_on`] is a one-future runtime on top of it: poll, and on
//! `Pending` park until the waker has fired (a spurious unpark just parks again). The executor's
//! task wakers use the same trait.
//!
//! The demo blocks on a future that another thread completes after 50 ms (2 polls, at least one
//! park), reruns the `raw-waker` stress with `ThreadWaker`, and counts the `unsafe` blocks of each
//! version. Run it with `cargo run -p ch10 -- wake-trait [--delay-ms MS]`.

pub use crate::async_runtime::waker::{BlockOnStats, ThreadWaker, block_on, block_on_counted};

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};
use common::timeline::format_duration;

use crate::raw_waker::stress;

/// A future whose first poll starts a thread that, after `delay`, stores `value` and wakes the
/// stored waker: the shape of every real wake-up (a timer, a socket, a channel).
pub fn completed_by_thread<T: Send + 'static>(
    delay: Duration,
    value: T,
) -> impl Future<Output = T> + Send {
    struct Slot<T> {
        value: Option<T>,
        waker: Option<Waker>,
    }
    let slot = Arc::new(Mutex::new(Slot {
        value: None,
        waker: None,
    }));
    let mut pending = Some(value);
    std::future::poll_fn(move |cx| {
        let mut guard = slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(value) = guard.value.take() {
            return Poll::Ready(value);
        }
        guard.waker = Some(cx.waker().clone());
        if let Some(value) = pending.take() {
            let slot = Arc::clone(&slot);
            thread::spawn(move || {
                thread::sleep(delay);
                let mut guard = slot.lock().unwrap_or_else(|e| e.into_inner());
                guard.value = Some(value);
                let waker = guard.waker.take();
                drop(guard);
                if let Some(waker) = waker {
                    waker.wake();
                }
            });
        }
        Poll::Pending
    })
}

/// `unsafe` blocks and impls in the two halves of `async_runtime/src/waker.rs`.
pub fn unsafe_counts() -> (usize, usize) {
    let source = include_str!("async_runtime/waker.rs");
    let split = source
        .find("pub struct ThreadWaker")
        .unwrap_or(source.len());
    let count = |text: &str| {
        text.lines()
            .map(|line| line.split("//").next().unwrap_or(""))
            .map(|code| code.matches("unsafe\x20{").count()) // `\x20`: a space
            .sum()
    };
    (count(&source[..split]), count(&source[split..]))
}

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let delay_ms = args.value_in("delay-ms", 50u64, 1..=5_000)?;
    args.finish()?;

    let started = Instant::now();
    let (value, stats) = block_on_counted(completed_by_thread(
        Duration::from_millis(delay_ms),
        "done by another thread",
    ));
    println!(
        "block_on: {value:?} after {} — {} polls, {} park(s)",
        format_duration(started.elapsed()),
        stats.polls,
        stats.parks
    );

    let state = ThreadWaker::for_current_thread();
    let report = stress(
        &state,
        Waker::from,
        |s| s.wakes.load(Ordering::SeqCst),
        8,
        10_000,
    );
    println!(
        "8 threads x 10000 clones of a Waker::from(Arc<ThreadWaker>): strong count {} -> {} -> {}, wakes counted: {}",
        report.before, report.peak, report.after, report.wakes
    );
    let (raw, safe) = unsafe_counts();
    println!(
        "unsafe blocks in waker.rs: {raw} in the hand-written vtable, {safe} in the Wake version"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::task::Waker;
    use std::thread;
    use std::time::Duration;

    use super::*;
    use crate::async_runtime::test_support::within;
    use crate::raw_waker::StressReport;

    #[test]
    fn wake_trait_count_follows_every_clone_and_drop() {
        let state = ThreadWaker::for_current_thread();
        let mut live: Vec<Waker> = Vec::new();
        let mut rng = crate::data_layer::XorShift::new(3);
        for step in 0..1_000 {
            match rng.below(4) {
                0 | 1 => live.push(match live.last() {
                    Some(w) => w.clone(),
                    None => Waker::from(Arc::clone(&state)),
                }),
                2 => {
                    if let Some(w) = live.pop() {
                        w.wake();
                    }
                }
                _ => {
                    if let Some(w) = live.pop() {
                        w.wake_by_ref();
                    }
                }
            }
            assert_eq!(Arc::strong_count(&state), 1 + live.len(), "step {step}");
        }
        live.clear();
        assert_eq!(Arc::strong_count(&state), 1);
    }

    #[test]
    fn wake_trait_stress_across_threads() {
        let report = within(Duration::from_secs(60), || {
            let state = ThreadWaker::for_current_thread();
            stress(
                &state,
                Waker::from,
                |s| s.wakes.load(Ordering::SeqCst),
                8,
                10_000,
            )
        });
        assert_eq!(
            report,
            StressReport {
                before: 1,
                peak: 80_002,
                after: 1,
                wakes: 80_000,
            }
        );
    }

    #[test]
    fn wake_trait_block_on_polls_twice_for_one_external_wake() {
        let (value, stats) = within(Duration::from_secs(10), || {
            // A stray unpark token left on this thread must not cause an extra poll.
            thread::current().unpark();
            block_on_counted(completed_by_thread(Duration::from_millis(30), 42))
        });
        assert_eq!(value, 42);
        assert_eq!(
            stats.polls, 2,
            "the stray token only made the thread park again"
        );
    }

    #[test]
    fn wake_trait_version_has_no_unsafe() {
        let (raw, safe) = unsafe_counts();
        assert!(raw >= 4, "{raw}");
        assert_eq!(safe, 0);
    }
}
