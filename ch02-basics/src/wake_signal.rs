//! `WakeSignal`: a waker that remembers being woken, counts how, and unparks a thread.
//!
//! Shared by the demos that look inside the waker protocol ("Context in Futures", "Waking Futures
//! Remotely", "How Are Futures Processed?"). It implements the safe [`std::task::Wake`] trait, so
//! turning an `Arc<WakeSignal>` into a [`Waker`] needs no `unsafe`; `raw-waker-vtable` builds the
//! same thing by hand to show what that trait writes for us. That hand-made waker also reports
//! its clones and drops here ([`WakeSignal::clones`], [`WakeSignal::drops`]); the safe waker
//! cannot, because `Wake` has no clone or drop hook (std clones and drops the `Arc` itself), so
//! with it those two counters stay at 0.
//!
//! ```
//! use ch02::wake_signal::WakeSignal;
//! let signal = WakeSignal::new();
//! let waker = signal.waker();
//! waker.wake_by_ref();
//! waker.clone().wake();
//! assert_eq!((signal.wake_by_refs(), signal.wakes_by_value(), signal.wakes()), (1, 1, 2));
//! assert_eq!(signal.take_woken().as_deref(), Some("main"));
//! assert_eq!(signal.take_woken(), None); // the flag was cleared
//! ```

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};
use std::thread::{self, Thread};

use common::timeline::current_thread_name;

/// The state behind a counting, unparking waker.
#[derive(Debug)]
pub struct WakeSignal {
    woken: AtomicBool,
    wakes_by_value: AtomicUsize,
    wake_by_refs: AtomicUsize,
    clones: AtomicUsize,
    drops: AtomicUsize,
    last_waker: Mutex<Option<String>>,
    thread: Thread,
}

impl WakeSignal {
    /// A signal that unparks the current thread when woken.
    pub fn new() -> Arc<Self> {
        WakeSignal::for_thread(thread::current())
    }

    /// A signal that unparks `thread` when woken.
    ///
    /// ```
    /// let signal = ch02::wake_signal::WakeSignal::for_thread(std::thread::current());
    /// assert_eq!(signal.wakes(), 0);
    /// ```
    pub fn for_thread(thread: Thread) -> Arc<Self> {
        Arc::new(WakeSignal {
            woken: AtomicBool::new(false),
            wakes_by_value: AtomicUsize::new(0),
            wake_by_refs: AtomicUsize::new(0),
            clones: AtomicUsize::new(0),
            drops: AtomicUsize::new(0),
            last_waker: Mutex::new(None),
            thread,
        })
    }

    /// A [`Waker`] for this signal (through the safe `Wake` trait).
    pub fn waker(self: &Arc<Self>) -> Waker {
        Waker::from(Arc::clone(self))
    }

    /// Records one wake: sets the flag, remembers who woke, unparks the thread. Both kinds of wake
    /// end here; `raw-waker-vtable`'s hand-made waker calls it too.
    ///
    /// The flag is set *before* the unpark, so a thread that checks the flag and then parks cannot
    /// miss a wake: either it sees the flag, or the unpark arrives after its check and `park`
    /// returns at once. A wake from the signal's own thread skips the unpark: that thread is
    /// running, not parked, and will see the flag before it next parks (an unpark would only leave
    /// a stale token that makes its next `park` return for nothing).
    pub fn signal(&self) {
        // Lock poisoning cannot happen here (nothing panics while holding it); recover anyway.
        *self.last_waker.lock().unwrap_or_else(|e| e.into_inner()) = Some(current_thread_name());
        self.woken.store(true, Ordering::Release);
        if thread::current().id() != self.thread.id() {
            self.thread.unpark();
        }
    }

    /// If the signal was woken since the last call, clears the flag and returns the name of the
    /// thread that woke it last.
    pub fn take_woken(&self) -> Option<String> {
        if self.woken.swap(false, Ordering::Acquire) {
            self.last_waker
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        } else {
            None
        }
    }

    /// Whether the flag is set, without clearing it.
    pub fn is_woken(&self) -> bool {
        self.woken.load(Ordering::Acquire)
    }

    /// Wakes of either kind so far.
    pub fn wakes(&self) -> usize {
        self.wakes_by_value() + self.wake_by_refs()
    }

    /// Calls of `wake` (which consumes a waker).
    pub fn wakes_by_value(&self) -> usize {
        self.wakes_by_value.load(Ordering::Relaxed)
    }

    /// Calls of `wake_by_ref`.
    pub fn wake_by_refs(&self) -> usize {
        self.wake_by_refs.load(Ordering::Relaxed)
    }

    /// Counts a wake by value and signals (for hand-made wakers).
    pub fn count_wake(&self) {
        self.wakes_by_value.fetch_add(1, Ordering::Relaxed);
        self.signal();
    }

    /// Counts a wake by reference and signals (for hand-made wakers).
    pub fn count_wake_by_ref(&self) {
        self.wake_by_refs.fetch_add(1, Ordering::Relaxed);
        self.signal();
    }

    /// Calls of a hand-made waker's `clone` (always 0 with the safe [`WakeSignal::waker`]).
    pub fn clones(&self) -> usize {
        self.clones.load(Ordering::Relaxed)
    }

    /// Calls of a hand-made waker's `drop` (always 0 with the safe [`WakeSignal::waker`]). A wake by
    /// value consumes its waker without a `drop` call, so it is not counted here.
    pub fn drops(&self) -> usize {
        self.drops.load(Ordering::Relaxed)
    }

    /// Counts a clone of a hand-made waker.
    pub fn count_clone(&self) {
        self.clones.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a drop of a hand-made waker.
    pub fn count_drop(&self) {
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

impl Wake for WakeSignal {
    fn wake(self: Arc<Self>) {
        self.count_wake();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.count_wake_by_ref();
    }
}
