//! Test helpers for the runtime's tests: a watchdog, and a future that stores its waker.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

/// Runs `f` on a thread and returns its result, or panics if it takes longer than `limit`
/// (a regression that would hang fails the test instead).
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => {
            let _ = worker.join();
            value
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => panic!("the watched closure returned nothing"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("did not finish within {limit:?}"),
    }
}

/// A future that is `Pending` until `finish` polls have happened, storing (never calling) its
/// waker each time; counts its polls. Tests wake it from outside through `waker`.
#[derive(Clone, Default)]
pub struct Parked {
    pub polls: Arc<AtomicUsize>,
    pub waker: Arc<Mutex<Option<Waker>>>,
}

impl Parked {
    /// A future that completes on its `finish`-th poll.
    pub fn future(&self, finish: usize) -> impl Future<Output = usize> + Send + 'static {
        let me = self.clone();
        std::future::poll_fn(move |cx: &mut Context<'_>| {
            let n = me.polls.fetch_add(1, Ordering::SeqCst) + 1;
            if n >= finish {
                return Poll::Ready(n);
            }
            *me.waker.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        })
    }

    pub fn polls(&self) -> usize {
        self.polls.load(Ordering::SeqCst)
    }

    /// Wakes the stored waker by reference; `false` if none was stored yet.
    pub fn wake(&self) -> bool {
        let waker = self.waker.lock().unwrap().clone();
        waker.map(|w| w.wake()).is_some()
    }
}

/// A future that counts its drops (to check that an executor drops unfinished tasks).
pub struct DropCounter(pub Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Future for DropCounter {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}
