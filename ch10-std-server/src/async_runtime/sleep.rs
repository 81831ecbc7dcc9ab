//! `Sleep` ("Building Our Sleep", the book's `async_runtime/src/sleep.rs`).
//!
//! A sleep that is not yet due hands its waker to the [timer thread](super::timer) and returns
//! `Pending`; the timer wakes the task at the deadline and the next poll returns `Ready`. A
//! poll with a different waker (the future moved to another task) updates the registration,
//! and every poll re-checks the clock, so an early or duplicate wake is harmless.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::timer::{self, TimerKey};

/// A future that completes at `when`.
#[derive(Debug)]
pub struct Sleep {
    when: Instant,
    registered: Option<TimerKey>,
}

impl Sleep {
    /// A sleep ending `duration` from now.
    pub fn new(duration: Duration) -> Self {
        Sleep::until(Instant::now() + duration)
    }

    /// A sleep ending at `when`.
    pub fn until(when: Instant) -> Self {
        Sleep {
            when,
            registered: None,
        }
    }

    /// The deadline.
    pub fn deadline(&self) -> Instant {
        self.when
    }

    /// True while a waker of this sleep is registered with the timer thread.
    pub fn is_registered(&self) -> bool {
        self.registered.is_some_and(timer::is_pending)
    }

    /// The timer entry of this sleep, once a poll registered one.
    pub fn timer_key(&self) -> Option<TimerKey> {
        self.registered
    }
}

/// `Sleep::new(duration)`, for `sleep(d).await`.
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::new(duration)
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.when {
            if let Some(key) = self.registered.take() {
                timer::cancel(key);
            }
            return Poll::Ready(());
        }
        // Book: the book's `Sleep` called `wake_by_ref` and returned `Pending`, so a sleeping
        // task was re-polled in a busy loop until its deadline (a core at 100 % per sleeper);
        // ours gives the waker to the timer thread and is polled again once, at the deadline.
        match self.registered {
            Some(key) if timer::update(key, cx.waker()) => {}
            _ => self.registered = Some(timer::register(self.when, cx.waker().clone())),
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(key) = self.registered.take() {
            timer::cancel(key);
        }
    }
}
