//! `JoinHandle<T>` ("Building Our Executor"): a one-shot slot shared by a task and its waiter.
//!
//! The task side writes `Ok(value)`, or `Err(JoinError::Panicked)` when the future panicked, or
//! `Err(JoinError::Cancelled)` when the future was dropped unfinished (its executor went away).
//! The waiting side reads it either by blocking a plain thread ([`JoinHandle::join`]) or by
//! `.await` inside another task (`JoinHandle` is a `Future`). Dropping the handle detaches the
//! task: it still runs, and its result is dropped.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

// Book: `pub fn await(self)` does not compile: `await` is a keyword since edition 2018 (the
// example below shows the error).
/// The handle [`Executor::spawn`](super::Executor::spawn) returns.
///
/// ```compile_fail
/// // `await` is a keyword since edition 2018:
/// struct JoinHandle;
/// impl JoinHandle {
///     pub fn await(self) {}
/// }
/// ```
// Book: the book's `JoinHandle { receiver: mpsc::Receiver<T> }` can only block; ours is also a
// `Future`, so a task can await another task without blocking its executor thread.
#[derive(Debug)]
pub struct JoinHandle<T> {
    state: Arc<JoinState<T>>,
}

/// Why a task produced no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinError {
    /// The future panicked; the payload's message, if it was a string.
    Panicked(String),
    /// The future was dropped before it finished (its executor was dropped or shut down).
    Cancelled,
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Panicked(msg) => write!(f, "task panicked: {msg}"),
            JoinError::Cancelled => write!(f, "task cancelled before it finished"),
        }
    }
}

impl std::error::Error for JoinError {}

/// The slot both sides share.
#[derive(Debug)]
pub(crate) struct JoinState<T> {
    inner: Mutex<Inner<T>>,
    done: Condvar,
}

#[derive(Debug)]
struct Inner<T> {
    result: Option<Result<T, JoinError>>,
    /// Set once a result was written (stays set after the waiter took it).
    finished: bool,
    /// The waker of a task awaiting the handle.
    waker: Option<Waker>,
    /// A thread is blocked in `join` (so completion must signal the condvar).
    blocked: bool,
}

impl<T> JoinState<T> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(JoinState {
            inner: Mutex::new(Inner {
                result: None,
                finished: false,
                waker: None,
                blocked: false,
            }),
            done: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        // A panic while holding this lock cannot leave the slot half-written, so poisoning
        // carries no information here.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes the result once (later calls are ignored) and wakes whoever waits.
    pub(crate) fn complete(&self, result: Result<T, JoinError>) {
        let mut inner = self.lock();
        if inner.finished {
            return;
        }
        inner.finished = true;
        inner.result = Some(result);
        let waker = inner.waker.take();
        let blocked = inner.blocked;
        drop(inner);
        if blocked {
            self.done.notify_all();
        }
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.lock().finished
    }
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(state: Arc<JoinState<T>>) -> Self {
        JoinHandle { state }
    }

    /// Blocks the calling thread until the task has finished, and returns its result.
    ///
    /// Book: the book names this method `await`, which is a keyword. Call `join` only from a
    /// thread that is not running the task's executor: blocking that thread would stop the very
    /// task it waits for (a deadlock). Inside a task, `.await` the handle instead.
    pub fn join(self) -> Result<T, JoinError> {
        let mut inner = self.state.lock();
        loop {
            if let Some(result) = inner.result.take() {
                return result;
            }
            inner.blocked = true;
            inner = self
                .state
                .done
                .wait(inner)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// True once the task has finished (its result may already have been taken).
    pub fn is_finished(&self) -> bool {
        self.state.is_finished()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut inner = self.state.lock();
        if let Some(result) = inner.result.take() {
            return Poll::Ready(result);
        }
        assert!(!inner.finished, "JoinHandle polled after it returned");
        match &inner.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => inner.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

/// Turns a panic payload into the message `JoinError::Panicked` carries.
pub(crate) use common::panic::message as panic_message;
