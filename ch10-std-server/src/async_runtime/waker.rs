//! The waker ("Building Our Waker", the book's `async_runtime/src/waker.rs`), written twice.
//!
//! A [`Waker`] is a data pointer plus a [`RawWakerVTable`] of four functions. The contract is a
//! reference count: `clone` adds a reference to the data, `drop` releases one, `wake` releases
//! the one it consumes, and `wake_by_ref` borrows. Any thread may call any of them at any time.
//!
//! First the hand-written vtable under the book's names (`VTABLE`, `my_clone`, `my_wake`,
//! `my_wake_by_ref`, `my_drop`, `create_raw_waker`), over an `Arc<WakeCounter>` so the count is
//! right; then [`ThreadWaker`], the same waker through [`std::task::Wake`] with no `unsafe` at
//! all, and [`block_on`], a tiny runtime that parks the thread until its waker fires.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Wake, Waker};
use std::thread::{self, Thread};

/// What our raw waker points at: a count of wakes and the thread to unpark.
///
/// Shared by every clone of the waker through one `Arc`, so it must be `Send + Sync`: a waker
/// may be woken from any thread (checked at compile time below).
#[derive(Debug)]
pub struct WakeCounter {
    /// How many times `wake` or `wake_by_ref` ran.
    pub wakes: AtomicUsize,
    /// The thread that waits for the wakes (unparked by each one).
    pub thread: Thread,
}

impl WakeCounter {
    /// A counter that unparks the calling thread.
    pub fn for_current_thread() -> Arc<Self> {
        Arc::new(WakeCounter {
            wakes: AtomicUsize::new(0),
            thread: thread::current(),
        })
    }

    fn record_wake(&self) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

// Book: the book's waker points at a `Box<u32>` that nobody reads; ours points at shared state
// that a wake really updates, and a waker may touch it from any thread, so it must be `Send + Sync`.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<WakeCounter>();
};

/// The four functions every waker built by [`create_raw_waker`] calls.
pub static VTABLE: RawWakerVTable = RawWakerVTable::new(my_clone, my_wake, my_wake_by_ref, my_drop);

/// `clone`: one more reference to the same `WakeCounter`.
///
/// # Safety
/// `raw_waker` must come from [`create_raw_waker`] (so from `Arc::into_raw`) and the waker it
/// belongs to must still be alive (it holds a reference, so the count is at least 1).
// Book: `my_clone` shared the pointer without counting, so the clone and the original each
// freed the same `Box` later (a double free); ours adds a reference that the clone owns.
pub unsafe fn my_clone(raw_waker: *const ()) -> RawWaker {
    // SAFETY: the pointer came from `Arc::into_raw` of an `Arc<WakeCounter>`, and the waker
    // being cloned owns a reference, so the allocation is alive while we add one more.
    unsafe { Arc::increment_strong_count(raw_waker.cast::<WakeCounter>()) };
    RawWaker::new(raw_waker, &VTABLE)
}

/// `wake`: consumes the waker, so it releases the waker's reference after waking.
///
/// # Safety
/// As for [`my_clone`]; the caller gives up the waker's reference.
// Book: `my_wake` freed the box without waking anything; ours counts the wake, unparks the
// waiting thread, then releases exactly the one reference this waker owned.
pub unsafe fn my_wake(raw_waker: *const ()) {
    // SAFETY: the pointer came from `Arc::into_raw`, and `wake` consumes the waker, so taking
    // its reference back into an `Arc` (dropped at the end of this fn) balances the books.
    let state = unsafe { Arc::from_raw(raw_waker.cast::<WakeCounter>()) };
    state.record_wake();
}

/// `wake_by_ref`: wakes without consuming, so the count must not change.
///
/// # Safety
/// As for [`my_clone`].
// Book: `my_wake_by_ref` did nothing, so no task could ever be woken by it.
pub unsafe fn my_wake_by_ref(raw_waker: *const ()) {
    // SAFETY: the pointer came from `Arc::into_raw` and the waker is alive; `ManuallyDrop`
    // borrows its reference without releasing it (the waker still owns it afterwards).
    let state = ManuallyDrop::new(unsafe { Arc::from_raw(raw_waker.cast::<WakeCounter>()) });
    state.record_wake();
}

/// `drop`: releases the waker's reference.
///
/// # Safety
/// As for [`my_clone`]; called once per waker, which then no longer exists.
pub unsafe fn my_drop(raw_waker: *const ()) {
    // SAFETY: the pointer came from `Arc::into_raw`, and a dropped waker gives up the one
    // reference it owned; the `WakeCounter` is freed only when the last reference goes.
    unsafe { Arc::decrement_strong_count(raw_waker.cast::<WakeCounter>()) };
}

/// Builds a `RawWaker` that owns one reference to `state`.
///
/// Book: `create_raw_waker()` boxed a dummy `42u32`; ours takes the state a wake must reach.
pub fn create_raw_waker(state: Arc<WakeCounter>) -> RawWaker {
    RawWaker::new(Arc::into_raw(state).cast::<()>(), &VTABLE)
}

/// The only caller of `Waker::from_raw`: a safe constructor for a waker over `state`.
pub fn waker_from(state: Arc<WakeCounter>) -> Waker {
    // SAFETY: `create_raw_waker` gives a pointer from `Arc::into_raw` that owns one reference,
    // and every function in `VTABLE` keeps the reference count exactly as `RawWaker`'s contract
    // asks (clone +1, wake -1, wake_by_ref 0, drop -1); `WakeCounter` is `Send + Sync`, so the
    // waker may be used from any thread.
    unsafe { Waker::from_raw(create_raw_waker(state)) }
}

/// The same waker without `unsafe`: `std::task::Wake` plus `Waker::from(Arc<ThreadWaker>)`
/// generate the reference-counted vtable written by hand above.
// Book: the book hand-writes a vtable; `std::task::Wake` provides a correct one for any
// `Arc<T: Wake>`, and this is the form the executor uses.
#[derive(Debug)]
pub struct ThreadWaker {
    /// The thread to unpark.
    pub thread: Thread,
    /// How many times the waker fired.
    pub wakes: AtomicUsize,
}

impl ThreadWaker {
    /// A waker state that unparks the calling thread.
    pub fn for_current_thread() -> Arc<Self> {
        Arc::new(ThreadWaker {
            thread: thread::current(),
            wakes: AtomicUsize::new(0),
        })
    }
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// What [`block_on_counted`] observed: polls of the future and parks of the thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockOnStats {
    /// Times the future was polled.
    pub polls: usize,
    /// Times the thread parked waiting for a wake.
    pub parks: usize,
}

/// Runs `fut` to completion on the calling thread, parking while it is pending.
///
/// The future is polled again only after its waker fired: a spurious unpark, or an unpark
/// token left on this thread by somebody else, just parks again.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    block_on_counted(fut).0
}

/// [`block_on`], also returning how many polls and parks it took.
pub fn block_on_counted<F: Future>(fut: F) -> (F::Output, BlockOnStats) {
    let state = ThreadWaker::for_current_thread();
    let waker = Waker::from(Arc::clone(&state));
    drive(fut, &waker, &state.wakes)
}

/// [`block_on_counted`] with the hand-written raw waker instead of `Wake`.
pub fn block_on_raw<F: Future>(fut: F) -> (F::Output, BlockOnStats) {
    let state = WakeCounter::for_current_thread();
    let waker = waker_from(Arc::clone(&state));
    drive(fut, &waker, &state.wakes)
}

/// The loop shared by both `block_on`s: poll; on `Pending`, park until `wakes` moves.
fn drive<F: Future>(fut: F, waker: &Waker, wakes: &AtomicUsize) -> (F::Output, BlockOnStats) {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(waker);
    let mut stats = BlockOnStats::default();
    let mut seen = wakes.load(Ordering::SeqCst);
    loop {
        stats.polls += 1;
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return (out, stats);
        }
        loop {
            let now = wakes.load(Ordering::SeqCst);
            if now != seen {
                seen = now;
                break;
            }
            stats.parks += 1;
            thread::park();
        }
    }
}
