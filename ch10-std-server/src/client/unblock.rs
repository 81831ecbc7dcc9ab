//! `unblock`: run one blocking call on a helper thread and await its result.
//!
//! std has no non-blocking `connect` (the socket is created and connected in one call), so the
//! client's executor thread must not make that call itself: it would stall every other task on
//! the thread until the handshake finished (or, against an unreachable host, for the whole
//! connect timeout). [`unblock`] runs the call on a short-lived thread with a small stack and
//! wakes the awaiting task when the result is in.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread;

/// Stack size of a helper thread: enough for a `connect`, small enough for hundreds at once.
const HELPER_STACK: usize = 128 * 1024;

/// Starts `work` on a helper thread now; the returned future resolves to its result.
pub fn unblock<T, F>(work: F) -> Unblock<T>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    let slot = Arc::new(Slot {
        state: Mutex::new(SlotState {
            result: None,
            waker: None,
            filled: false,
        }),
    });
    let filler = Filler(Arc::clone(&slot));
    let spawned = thread::Builder::new()
        .name("ch10-unblock".into())
        .stack_size(HELPER_STACK)
        .spawn(move || {
            let result = work();
            filler.fill(result);
        });
    if let Err(e) = spawned {
        // The closure (and with it the filler) was dropped, which filled the slot with a
        // generic error; report the real reason instead.
        let mut state = slot.lock();
        state.result = Some(Err(e));
        state.filled = true;
    }
    Unblock { slot }
}

/// The future [`unblock`] returns.
#[derive(Debug)]
pub struct Unblock<T> {
    slot: Arc<Slot<T>>,
}

#[derive(Debug)]
struct Slot<T> {
    state: Mutex<SlotState<T>>,
}

#[derive(Debug)]
struct SlotState<T> {
    result: Option<io::Result<T>>,
    waker: Option<Waker>,
    /// A result was delivered (it may have been taken since).
    filled: bool,
}

impl<T> Slot<T> {
    fn lock(&self) -> MutexGuard<'_, SlotState<T>> {
        // Nothing panics while the lock is held.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The helper thread's end: fills the slot once, with an error if the work panicked.
struct Filler<T>(Arc<Slot<T>>);

impl<T> Filler<T> {
    fn fill(self, result: io::Result<T>) {
        self.put(result);
    }

    fn put(&self, result: io::Result<T>) {
        let waker = {
            let mut state = self.0.lock();
            if state.filled {
                return;
            }
            state.filled = true;
            state.result = Some(result);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Drop for Filler<T> {
    fn drop(&mut self) {
        // After `fill` this changes nothing; after a panic it reports one.
        self.put(Err(io::Error::other(
            "the helper thread stopped without a result",
        )));
    }
}

impl<T> Future for Unblock<T> {
    type Output = io::Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.slot.lock();
        match state.result.take() {
            Some(result) => Poll::Ready(result),
            None => {
                match &mut state.waker {
                    Some(stored) if stored.will_wake(cx.waker()) => {}
                    slot => *slot = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::async_runtime::Executor;
    use std::time::Duration;

    #[test]
    fn result_arrives_and_the_executor_parks_meanwhile() {
        let mut executor = Executor::new();
        let value = executor.block_on(unblock(|| {
            thread::sleep(Duration::from_millis(30));
            Ok(7)
        }));
        assert_eq!(value.unwrap(), 7);
        assert!(executor.stats().parks >= 1, "{:?}", executor.stats());
        assert!(executor.stats().polls <= 3, "{:?}", executor.stats());
    }

    #[test]
    fn a_panicking_helper_gives_an_error() {
        let mut executor = Executor::new();
        let result: io::Result<u8> = executor.block_on(unblock(|| panic!("helper fails")));
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::Other);
    }
}
