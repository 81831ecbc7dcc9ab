//! `raw-waker-vtable` (Extra, after "Context in Futures" and "How Are Futures Processed?"): a
//! [`Waker`] built by hand from a [`RawWakerVTable`], counting every call it receives.
//!
//! A `Waker` is two pointers: a data pointer, and a table of four functions that receive it:
//! `clone`, `wake` (consumes the waker), `wake_by_ref` (borrows it) and `drop`. Here the data is
//! an `Arc<WakeSignal>` turned into a raw pointer with [`Arc::into_raw`], and the rule that makes
//! it sound is a reference count kept exactly balanced: **every live waker owns one strong count**.
//! `clone` adds one for the new waker, `wake` and `drop` give the waker's count back, `wake_by_ref`
//! leaves it alone. That is what the safe [`std::task::Wake`] trait writes for us (the
//! [`block_on_by_hand`](crate::block_on_by_hand) demo uses it); writing it out shows what each
//! function owes the count, and the counters show it holds: after any mix of clones, wakes and
//! drops, on any threads, `Arc::strong_count` is back to 1 (only our own handle left).
//!
//! This is the only `unsafe` in the chapter: the `unsafe_op_in_unsafe_fn` lint is denied, so each
//! vtable function wraps its one unsafe operation in its own `unsafe {}` block, with the reason it
//! is sound in a `// SAFETY:` comment above it. The tests run under valgrind in CI.
//!
//! Run it with `cargo run -p ch02 -- raw-waker-vtable [--unit-ms N]`: it drives
//! `CounterFuture::new(5)` and a [`RemoteFuture`] through the same `block_on` loop as
//! `block-on-by-hand`, then has 4 threads wake clones of one waker, printing the calls each
//! function received and the strong count at the end; then the same three runs with the safe waker.
//!
//! The book has no listing here: it only uses the wakers tokio hands out (`cx.waker()`).

use std::fmt;
use std::future::Future;
use std::io;
use std::mem::ManuallyDrop;
use std::sync::Arc;
use std::task::{RawWaker, RawWakerVTable, Waker};
use std::thread;

use common::CounterFuture;
use common::demo::{Args, DemoResult};

use crate::block_on_by_hand::{RemoteFuture, block_on_with};
use crate::units::unit_arg;
use crate::wake_signal::WakeSignal;

/// The four functions of every waker [`raw_waker`] builds.
///
/// A `static`, not a `const`: [`Waker::will_wake`] compares vtable *addresses*, and each use of a
/// `const` may get its own copy at its own address, so two clones of one waker could look like
/// wakers of different tasks. A `static` has exactly one address.
static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A [`Waker`] that signals `signal` when woken, built by hand over the `static` vtable `VTABLE`.
///
/// ```
/// use ch02::raw_waker_vtable::raw_waker;
/// use ch02::wake_signal::WakeSignal;
/// use std::sync::Arc;
///
/// let signal = WakeSignal::new();
/// let waker = raw_waker(Arc::clone(&signal));
/// waker.clone().wake();
/// drop(waker);
/// assert_eq!((signal.clones(), signal.wakes_by_value(), signal.drops()), (1, 1, 1));
/// assert_eq!(Arc::strong_count(&signal), 1);
/// ```
pub fn raw_waker(signal: Arc<WakeSignal>) -> Waker {
    assert_send_sync(&signal);
    let data = Arc::into_raw(signal).cast::<()>();
    // SAFETY: `data` is from `Arc::into_raw` and carries one strong count, owned by this waker. The
    // `VTABLE` functions keep one count per live waker (`clone` adds one, `wake` and `drop` release
    // their waker's, `wake_by_ref` none), so the signal is freed once, after the last waker; they
    // may run on any thread as `WakeSignal` is `Send + Sync` (checked by `assert_send_sync`).
    unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
}

/// Compile-time check behind `raw_waker`'s safety argument: a waker may be cloned, woken and
/// dropped on any thread, so what it points to must be `Send + Sync`.
fn assert_send_sync<T: Send + Sync>(_: &T) {}

/// `clone`: a second waker for the same signal, with one more strong count for it to own.
unsafe fn clone(data: *const ()) -> RawWaker {
    let signal = data.cast::<WakeSignal>();
    // SAFETY: `signal` came from `Arc::into_raw` (in `raw_waker`), and the waker being cloned
    // still owns one strong count, so the `WakeSignal` is alive during this call: borrowing it to
    // count is sound, and `increment_strong_count` adds the count the new waker will own.
    unsafe {
        (*signal).count_clone();
        Arc::increment_strong_count(signal);
    }
    RawWaker::new(data, &VTABLE)
}

/// `wake`: consumes the waker, so its count is released here (std calls no `drop` after it).
unsafe fn wake(data: *const ()) {
    // SAFETY: `data` came from `Arc::into_raw` and the waker being consumed owns one strong count:
    // `Arc::from_raw` takes that count over, and dropping the `Arc` at the end releases it, once.
    let signal = unsafe { Arc::from_raw(data.cast::<WakeSignal>()) };
    signal.count_wake();
}

/// `wake_by_ref`: the waker stays alive and keeps its count.
unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: `data` came from `Arc::into_raw` and the borrowed waker owns one strong count, so the
    // `WakeSignal` is alive; `ManuallyDrop` keeps the rebuilt `Arc` from releasing that count,
    // which still belongs to the waker.
    let signal = unsafe { ManuallyDrop::new(Arc::from_raw(data.cast::<WakeSignal>())) };
    signal.count_wake_by_ref();
}

/// `drop`: the waker is gone; release exactly its one count.
unsafe fn drop_waker(data: *const ()) {
    // SAFETY: `data` came from `Arc::into_raw` and the waker being dropped owns one strong count:
    // `Arc::from_raw` takes it over, and the `Arc` releases it when it goes out of scope below
    // (after counting, so the `WakeSignal` is still alive while we count).
    let signal = unsafe { Arc::from_raw(data.cast::<WakeSignal>()) };
    signal.count_drop();
}

/// The calls a signal's waker received, and the strong count left once every waker is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calls {
    /// `clone` calls.
    pub clones: usize,
    /// `wake` calls (by value).
    pub wakes: usize,
    /// `wake_by_ref` calls.
    pub wake_by_refs: usize,
    /// `drop` calls.
    pub drops: usize,
    /// `Arc::strong_count` of our own handle at the end: 1 when the count is balanced.
    pub strong_count: usize,
}

impl Calls {
    /// Reads the counters of `signal`.
    pub fn of(signal: &Arc<WakeSignal>) -> Self {
        Calls {
            clones: signal.clones(),
            wakes: signal.wakes_by_value(),
            wake_by_refs: signal.wake_by_refs(),
            drops: signal.drops(),
            strong_count: Arc::strong_count(signal),
        }
    }
}

impl fmt::Display for Calls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "clones {:>2}  wakes {:>2}  wake_by_refs {:>2}  drops {:>2}  strong_count {}",
            self.clones, self.wakes, self.wake_by_refs, self.drops, self.strong_count
        )
    }
}

/// How a signal becomes a waker: [`raw_waker`], or the safe `Wake` implementation.
pub type MakeWaker = fn(Arc<WakeSignal>) -> Waker;

/// `block_on` (from `block-on-by-hand`) with the waker `make_waker` builds, quietly; returns the
/// output and the calls its waker received.
pub fn block_on_counting<F: Future>(make_waker: MakeWaker, future: F) -> (F::Output, Calls) {
    let mut signal = None;
    let output = block_on_with(
        |s| {
            signal = Some(Arc::clone(&s));
            make_waker(s)
        },
        future,
        |_| {},
    );
    let signal = signal.expect("block_on_with always builds its waker");
    (output, Calls::of(&signal))
}

/// One waker for a fresh signal, cloned into `threads` threads that each wake their clone by
/// value; returns the calls once every thread has been joined and the original waker dropped.
pub fn wake_from_threads(make_waker: MakeWaker, threads: usize) -> io::Result<Calls> {
    let signal = WakeSignal::new();
    let waker = make_waker(Arc::clone(&signal));
    let handles = (1..=threads)
        .map(|i| {
            let clone = waker.clone();
            thread::Builder::new()
                .name(format!("waker-{i}"))
                .spawn(move || clone.wake())
        })
        .collect::<io::Result<Vec<_>>>()?;
    drop(waker);
    for handle in handles {
        handle
            .join()
            .map_err(|_| io::Error::other("a waker thread panicked"))?;
    }
    Ok(Calls::of(&signal))
}

/// Runs the demo: `[--unit-ms N]`.
pub fn run(mut args: Args) -> DemoResult {
    let unit = unit_arg(&mut args)?;
    args.finish()?;

    // (name, how to build the waker, whether its clone/drop calls reach our counters)
    let wakers: [(&str, MakeWaker, bool); 2] = [
        ("the hand-made RawWakerVTable waker", raw_waker, true),
        ("the safe `Wake` waker, for comparison", Waker::from, false),
    ];
    for (name, make_waker, sees_clones) in wakers {
        let show = |calls: Calls| {
            if sees_clones {
                calls.to_string()
            } else {
                format!(
                    "clones  -  wakes {:>2}  wake_by_refs {:>2}  drops  -  strong_count {} \
                     (std clones and drops the Arc itself)",
                    calls.wakes, calls.wake_by_refs, calls.strong_count
                )
            }
        };
        println!("With {name}:");
        println!("  block_on(CounterFuture::new(5)):");
        let (output, calls) = block_on_counting(make_waker, CounterFuture::new(5));
        println!("    -> {output}   {}", show(calls));
        println!("  block_on(RemoteFuture), completed by the `remote` thread after 2 units:");
        let (output, calls) = block_on_counting(make_waker, RemoteFuture::new(2 * unit));
        println!("    -> {output:?}   {}", show(calls));
        println!("  one waker, cloned into 4 threads that each wake their clone by value:");
        println!("    {}", show(wake_from_threads(make_waker, 4)?));
        println!();
    }
    println!(
        "CounterFuture wakes itself by reference 4 times and never clones its waker. RemoteFuture\n\
         stores a clone that the `remote` thread wakes by value (a wake consumes the waker: no drop\n\
         call). block_on drops its own waker when it returns: the 1 drop. strong_count 1: only our\n\
         own handle on the signal is left, so no waker leaked a count and none was released twice."
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block_on_by_hand::{REMOTE_DATA, watchdog};
    use std::time::Duration;

    fn calls(clones: usize, wakes: usize, wake_by_refs: usize, drops: usize) -> Calls {
        Calls {
            clones,
            wakes,
            wake_by_refs,
            drops,
            strong_count: 1,
        }
    }

    #[test]
    fn raw_waker_create_then_drop_releases_its_count() {
        let signal = WakeSignal::new();
        let waker = raw_waker(Arc::clone(&signal));
        assert_eq!(Arc::strong_count(&signal), 2, "the waker owns one count");
        drop(waker);
        assert_eq!(Calls::of(&signal), calls(0, 0, 0, 1));
        assert!(!signal.is_woken());
    }

    #[test]
    fn raw_waker_three_clones_woken_by_ref_then_all_four_dropped() {
        let signal = WakeSignal::new();
        let waker = raw_waker(Arc::clone(&signal));
        let clones: Vec<Waker> = (0..3).map(|_| waker.clone()).collect();
        assert_eq!(
            Arc::strong_count(&signal),
            5,
            "four wakers, four counts, plus ours"
        );
        for clone in &clones {
            clone.wake_by_ref();
        }
        assert_eq!(
            Arc::strong_count(&signal),
            5,
            "wake_by_ref leaves the count alone"
        );
        drop(clones);
        drop(waker);
        assert_eq!(Calls::of(&signal), calls(3, 0, 3, 4));
        assert_eq!(
            signal.take_woken(),
            Some(common::timeline::current_thread_name())
        );
    }

    #[test]
    fn raw_waker_wake_by_value_consumes_it_without_a_drop_call() {
        let signal = WakeSignal::new();
        raw_waker(Arc::clone(&signal)).wake();
        assert_eq!(Calls::of(&signal), calls(0, 1, 0, 0));
        assert!(signal.is_woken());
    }

    #[test]
    fn raw_waker_will_wake_between_clones_not_across_signals() {
        let (one, other) = (WakeSignal::new(), WakeSignal::new());
        let waker = raw_waker(Arc::clone(&one));
        let clone = waker.clone();
        let stranger = raw_waker(Arc::clone(&other));
        assert!(waker.will_wake(&clone) && clone.will_wake(&waker));
        assert!(!waker.will_wake(&stranger) && !stranger.will_wake(&clone));
        drop((waker, clone, stranger));
        assert_eq!(Calls::of(&one), calls(1, 0, 0, 2));
        assert_eq!(Calls::of(&other), calls(0, 0, 0, 1));
    }

    #[test]
    fn raw_waker_8_threads_1000_cycles_each_give_exact_totals() {
        const THREADS: usize = 8;
        const CYCLES: usize = 1000;
        let signal = WakeSignal::new();
        let waker = raw_waker(Arc::clone(&signal));
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let mine = waker.clone();
                thread::spawn(move || {
                    for _ in 0..CYCLES {
                        let copy = mine.clone();
                        copy.wake_by_ref();
                        copy.wake();
                    }
                }) // `mine` is dropped when the thread ends
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        drop(waker);
        let n = THREADS * CYCLES;
        // clones: one per thread plus one per cycle; drops: each thread's clone plus the original.
        assert_eq!(Calls::of(&signal), calls(THREADS + n, n, n, THREADS + 1));
    }

    #[test]
    fn raw_waker_made_on_main_dropped_or_woken_on_another_thread() {
        let signal = WakeSignal::new();
        let waker = raw_waker(Arc::clone(&signal));
        let clone = waker.clone();
        thread::spawn(move || drop(waker)).join().unwrap();
        assert_eq!(
            Calls::of(&signal).strong_count,
            2,
            "the clone still owns its count"
        );
        thread::Builder::new()
            .name("other".into())
            .spawn(move || clone.wake())
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(Calls::of(&signal), calls(1, 1, 0, 1));
        assert_eq!(signal.take_woken().as_deref(), Some("other"));
    }

    #[test]
    fn raw_waker_block_on_completes_counter_future_with_4_wakes() {
        let (output, calls_seen) = watchdog(Duration::from_secs(10), || {
            block_on_counting(raw_waker, CounterFuture::new(5))
        });
        assert_eq!(output, 5);
        // Never cloned; woken by reference 4 times; block_on's own waker dropped at the end.
        assert_eq!(calls_seen, calls(0, 0, 4, 1));
    }

    #[test]
    fn raw_waker_block_on_completes_a_future_woken_from_another_thread() {
        let (output, calls_seen) = watchdog(Duration::from_secs(10), || {
            block_on_counting(raw_waker, RemoteFuture::new(Duration::from_millis(5)))
        });
        assert_eq!(output, REMOTE_DATA);
        // The future stores one clone, the `remote` thread wakes it by value, block_on drops its own.
        assert_eq!(calls_seen, calls(1, 1, 0, 1));
    }

    #[test]
    fn raw_waker_and_safe_waker_agree_on_wakes() {
        let safe: MakeWaker = Waker::from;
        let (_, raw) = block_on_counting(raw_waker, CounterFuture::new(5));
        let (_, by_trait) = block_on_counting(safe, CounterFuture::new(5));
        assert_eq!(by_trait, calls(0, 0, 4, 0), "no clone/drop hooks in `Wake`");
        assert_eq!(
            (raw.wakes, raw.wake_by_refs),
            (by_trait.wakes, by_trait.wake_by_refs)
        );
        let threads = wake_from_threads(safe, 4).unwrap();
        assert_eq!(threads, calls(0, 4, 0, 0));
        assert_eq!(wake_from_threads(raw_waker, 4).unwrap(), calls(4, 4, 0, 1));
    }

    #[test]
    fn raw_waker_demo_runs_and_rejects_a_bad_unit() {
        run(Args::from_iter(["--unit-ms", "1"])).unwrap();
        let err = run(Args::from_iter(["--unit-ms", "x"])).unwrap_err();
        assert!(err.is::<common::demo::UsageError>(), "{err}");
    }
}
