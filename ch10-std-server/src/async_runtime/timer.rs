//! The timer thread behind [`Sleep`](super::Sleep): one thread for the whole process that
//! wakes each registered waker at its deadline.
//!
//! Deadlines live in a `BTreeMap` ordered by `(deadline, key)`, guarded by a `Mutex`; the
//! thread sleeps on a `Condvar` until the earliest deadline (or indefinitely when there is
//! none) and is notified only when a new deadline becomes the earliest. A cancelled sleep
//! removes its entry, so nothing stale piles up. The thread starts on first use and is named
//! `ch10-timer`; while it waits it uses no CPU.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard, Once, PoisonError};
use std::task::Waker;
use std::thread;
use std::time::Instant;

/// Identifies one registered deadline (for updating its waker or cancelling it).
pub type TimerKey = (Instant, u64);

struct Timer {
    state: Mutex<TimerState>,
    changed: Condvar,
}

struct TimerState {
    entries: BTreeMap<TimerKey, Waker>,
    next_key: u64,
    fired: u64,
}

impl Timer {
    fn lock(&self) -> MutexGuard<'_, TimerState> {
        // Wakers run outside this lock, so a poisoned lock still holds a consistent map.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

static TIMER: Timer = Timer {
    state: Mutex::new(TimerState {
        entries: BTreeMap::new(),
        next_key: 0,
        fired: 0,
    }),
    changed: Condvar::new(),
};

/// The timer, with its thread started on first use.
fn timer() -> &'static Timer {
    static START: Once = Once::new();
    START.call_once(|| {
        thread::Builder::new()
            .name("ch10-timer".into())
            .spawn(|| timer_loop(&TIMER))
            .expect("cannot start the timer thread");
    });
    &TIMER
}

fn timer_loop(timer: &'static Timer) {
    let mut state = timer.lock();
    loop {
        let now = Instant::now();
        let mut due = Vec::new();
        while let Some(entry) = state.entries.first_entry() {
            if entry.key().0 > now {
                break;
            }
            due.push(entry.remove());
        }
        if !due.is_empty() {
            state.fired += due.len() as u64;
            drop(state);
            // Woken outside the lock: a waker may register a new deadline right away.
            for waker in due {
                waker.wake();
            }
            state = timer.lock();
            continue;
        }
        state = match state.entries.first_key_value() {
            Some((&(when, _), _)) => {
                timer
                    .changed
                    .wait_timeout(state, when - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => timer
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner),
        };
    }
}

/// Registers `waker` to be woken at `when`.
pub fn register(when: Instant, waker: Waker) -> TimerKey {
    let timer = timer();
    let mut state = timer.lock();
    let key = (when, state.next_key);
    state.next_key += 1;
    let earliest = state
        .entries
        .first_key_value()
        .is_none_or(|(k, _)| key < *k);
    state.entries.insert(key, waker);
    drop(state);
    if earliest {
        timer.changed.notify_one();
    }
    key
}

/// Replaces the waker of a registered deadline. Returns `false` if it already fired (or was
/// cancelled), in which case nothing was stored.
pub fn update(key: TimerKey, waker: &Waker) -> bool {
    match timer().lock().entries.get_mut(&key) {
        Some(stored) => {
            if !stored.will_wake(waker) {
                stored.clone_from(waker);
            }
            true
        }
        None => false,
    }
}

/// Removes a deadline that has not fired yet (no-op otherwise).
pub fn cancel(key: TimerKey) {
    let removed = timer().lock().entries.remove(&key);
    drop(removed); // dropped outside the lock
}

/// True if `key` is registered and has neither fired nor been cancelled.
pub fn is_pending(key: TimerKey) -> bool {
    timer().lock().entries.contains_key(&key)
}

/// Deadlines registered and not yet fired or cancelled (for tests and demos).
pub fn pending() -> usize {
    timer().lock().entries.len()
}

/// Wakers the timer thread has fired since the process started.
pub fn fired() -> u64 {
    timer().lock().fired
}
