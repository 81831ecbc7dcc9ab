//! `raw-waker` ("Building Our Waker"): the book's `RawWakerVTable`, made sound by counting.
//!
//! The code is in [`crate::async_runtime::waker`] (the book's `async_runtime/src/waker.rs`):
//! `VTABLE`, `my_clone`, `my_wake`, `my_wake_by_ref`, `my_drop` and `create_raw_waker`, over
//! an `Arc<WakeCounter>` so that `clone` adds a reference, `drop` and `wake` release one, and
//! `wake_by_ref` only borrows. The book's version shares one `Box` pointer between every clone
//! and frees it in both `my_wake` and `my_drop`: the first program that clones a waker and
//! drops both copies frees the box twice.
//!
//! The demo runs 8 threads that clone one waker 10,000 times each and wake every clone once,
//! then prints the reference count (back to 1: nothing leaked, nothing freed early) and the
//! exact wake count. Then it audits a copy of the book's vtable whose "free" only counts (so
//! running it is harmless): one allocation, freed twice. Run it with
//! `cargo run -p ch10 -- raw-waker [--threads N] [--clones N]`.

pub use crate::async_runtime::waker::{
    VTABLE, WakeCounter, create_raw_waker, my_clone, my_drop, my_wake, my_wake_by_ref, waker_from,
};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::task::{RawWaker, RawWakerVTable, Waker};
use std::thread;

use common::demo::{Args, DemoResult};

use crate::data_layer::XorShift;

/// Reference counts and wakes observed by [`stress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StressReport {
    /// Strong count of the state before any waker existed.
    pub before: usize,
    /// Strong count with every clone alive.
    pub peak: usize,
    /// Strong count after every waker was woken or dropped.
    pub after: usize,
    /// Wakes the state counted.
    pub wakes: usize,
}

/// `threads` threads each clone `waker_for(state)` `clones` times, wait until all have, then
/// wake every clone exactly once — by value, or by reference and then drop it, in a
/// pseudo-random mix — and the counts are read back from `state`.
pub fn stress<S: Send + Sync + 'static>(
    state: &Arc<S>,
    waker_for: impl Fn(Arc<S>) -> Waker,
    wakes: impl Fn(&S) -> usize,
    threads: usize,
    clones: usize,
) -> StressReport {
    let before = Arc::strong_count(state);
    let shared = waker_for(Arc::clone(state));
    let cloned = Arc::new(Barrier::new(threads + 1));
    let go = Arc::new(Barrier::new(threads + 1));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let shared = shared.clone();
            let (cloned, go) = (Arc::clone(&cloned), Arc::clone(&go));
            thread::spawn(move || {
                let copies: Vec<Waker> = (0..clones).map(|_| shared.clone()).collect();
                drop(shared);
                cloned.wait();
                go.wait();
                let mut rng = XorShift::new(t as u64 + 1);
                for copy in copies {
                    if rng.below(2) == 0 {
                        copy.wake();
                    } else {
                        copy.wake_by_ref();
                        drop(copy);
                    }
                }
            })
        })
        .collect();
    cloned.wait();
    let peak = Arc::strong_count(state);
    go.wait();
    for worker in workers {
        worker.join().expect("a stress thread panicked");
    }
    drop(shared);
    StressReport {
        before,
        peak,
        after: Arc::strong_count(state),
        wakes: wakes(state),
    }
}

/// What [`audit_book_vtable`] counted.
#[derive(Debug, Default)]
pub struct Audit {
    /// Boxes the book's `create_raw_waker` would allocate.
    pub allocations: AtomicUsize,
    /// Calls of `my_clone`.
    pub clones: AtomicUsize,
    /// Calls that would run `drop(Box::from_raw(..))` (`my_wake` and `my_drop`).
    pub frees: AtomicUsize,
}

/// The book's vtable with each `Box::from_raw` + drop replaced by a count. The data pointer is
/// a borrowed `&Audit`, which outlives every waker [`audit_book_vtable`] makes.
static BOOK_VTABLE: RawWakerVTable =
    RawWakerVTable::new(book_clone, book_wake, book_wake_by_ref, book_drop);

/// Reads the `Audit` a book-style waker points at.
///
/// # Safety
/// `data` must be the `&Audit` passed to `book_style_waker`, still alive.
unsafe fn audit<'a>(data: *const ()) -> &'a Audit {
    // SAFETY: the caller promises `data` is a live `&Audit` (see `audit_book_vtable`).
    unsafe { &*data.cast::<Audit>() }
}

unsafe fn book_clone(data: *const ()) -> RawWaker {
    // SAFETY: every waker of `BOOK_VTABLE` carries a live `&Audit` (see `audit_book_vtable`).
    let audit = unsafe { audit(data) };
    audit.clones.fetch_add(1, Ordering::SeqCst);
    RawWaker::new(data, &BOOK_VTABLE) // the same pointer, uncounted: the book's bug
}

unsafe fn book_wake(data: *const ()) {
    // SAFETY: as in `book_clone`.
    let audit = unsafe { audit(data) };
    audit.frees.fetch_add(1, Ordering::SeqCst); // the book: drop(Box::from_raw(..))
}

unsafe fn book_wake_by_ref(_data: *const ()) {}

unsafe fn book_drop(data: *const ()) {
    // SAFETY: as in `book_clone`.
    let audit = unsafe { audit(data) };
    audit.frees.fetch_add(1, Ordering::SeqCst); // the book: drop(Box::from_raw(..))
}

/// Replays what any executor does with a stored waker — create it, clone it (a timer or a
/// channel keeps the clone), then drop both — through the book's vtable, counting instead of
/// freeing. Returns the counts: 1 allocation, 1 clone, 2 frees.
pub fn audit_book_vtable() -> Audit {
    let audit = Audit::default();
    {
        audit.allocations.fetch_add(1, Ordering::SeqCst); // the book: Box::new(42u32)
        let raw = RawWaker::new((&raw const audit).cast::<()>(), &BOOK_VTABLE);
        // SAFETY: the data pointer is `&audit`, which lives until the end of this function,
        // and every waker made from it (the original and its clone) is dropped inside this
        // block; the vtable functions only read atomics through it, which is thread-safe.
        let waker = unsafe { Waker::from_raw(raw) };
        let stored = waker.clone();
        drop(stored);
        drop(waker);
    }
    audit
}

/// The same scenario with our counted vtable: the `WakeCounter` is freed exactly once, when
/// the last reference goes. Returns the strong count with both wakers alive and after.
pub fn replay_ours() -> (usize, usize) {
    let state = WakeCounter::for_current_thread();
    let waker = waker_from(Arc::clone(&state));
    let stored = waker.clone();
    let alive = Arc::strong_count(&state);
    drop(stored);
    drop(waker);
    (alive, Arc::strong_count(&state))
}

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let threads = args.value_in("threads", 8usize, 1..=64)?;
    let clones = args.value_in("clones", 10_000usize, 1..=1_000_000)?;
    args.finish()?;

    let state = WakeCounter::for_current_thread();
    let report = stress(
        &state,
        waker_from,
        |s| s.wakes.load(Ordering::SeqCst),
        threads,
        clones,
    );
    println!("{threads} threads x {clones} clones of one raw waker, each woken once:");
    println!(
        "  Arc::strong_count: before {}, at peak {}, after {}",
        report.before, report.peak, report.after
    );
    println!("  wakes counted: {}", report.wakes);

    let (alive, after) = replay_ours();
    println!(
        "our vtable: waker + stored clone -> count {alive}; both dropped -> {after} (freed once, by its owner)"
    );
    let audit = audit_book_vtable();
    let (allocations, clones, frees) = (
        audit.allocations.load(Ordering::SeqCst),
        audit.clones.load(Ordering::SeqCst),
        audit.frees.load(Ordering::SeqCst),
    );
    println!(
        "book's vtable: {allocations} allocation, {clones} clone, {frees} frees -> \
         {allocations} allocation freed {frees} times{}",
        if frees > allocations {
            " (double free)"
        } else {
            ""
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::thread;
    use std::time::Duration;

    use super::*;
    use crate::async_runtime::test_support::within;
    use crate::async_runtime::waker::block_on_raw;

    #[test]
    fn raw_waker_stress_counts_every_wake_and_leaks_nothing() {
        let report = within(Duration::from_secs(60), || {
            let state = WakeCounter::for_current_thread();
            stress(
                &state,
                waker_from,
                |s| s.wakes.load(Ordering::SeqCst),
                8,
                10_000,
            )
        });
        assert_eq!(
            report,
            StressReport {
                before: 1,
                peak: 1 + 1 + 80_000, // our Arc, the shared waker, every clone
                after: 1,
                wakes: 80_000,
            }
        );
    }

    #[test]
    fn raw_waker_clone_will_wake_the_original() {
        let state = WakeCounter::for_current_thread();
        let waker = waker_from(Arc::clone(&state));
        let clone = waker.clone();
        assert!(clone.will_wake(&waker));
        assert_eq!(Arc::strong_count(&state), 3);
        clone.wake();
        assert_eq!(Arc::strong_count(&state), 2);
        waker.wake_by_ref();
        assert_eq!(Arc::strong_count(&state), 2);
        drop(waker);
        assert_eq!(Arc::strong_count(&state), 1);
        assert_eq!(state.wakes.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn raw_waker_block_on_is_woken_from_another_thread() {
        let (value, stats) = within(Duration::from_secs(10), || {
            block_on_raw(crate::wake_trait::completed_by_thread(
                Duration::from_millis(20),
                7,
            ))
        });
        assert_eq!(value, 7);
        // One poll to start, one after the wake; how often the thread parked in between depends
        // on scheduling (usually once).
        assert_eq!(stats.polls, 2);
    }

    #[test]
    fn raw_waker_wakers_cross_threads() {
        let state = WakeCounter::for_current_thread();
        let waker = waker_from(Arc::clone(&state));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let w = waker.clone();
                thread::spawn(move || {
                    let inner = w.clone();
                    w.wake();
                    inner.wake_by_ref();
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        drop(waker);
        assert_eq!(state.wakes.load(Ordering::SeqCst), 8);
        assert_eq!(Arc::strong_count(&state), 1);
    }

    #[test]
    fn raw_waker_audit_finds_the_books_double_free() {
        let audit = audit_book_vtable();
        assert_eq!(audit.allocations.load(Ordering::SeqCst), 1);
        assert_eq!(audit.clones.load(Ordering::SeqCst), 1);
        assert_eq!(audit.frees.load(Ordering::SeqCst), 2);
        assert_eq!(replay_ours(), (3, 1));
    }
}
