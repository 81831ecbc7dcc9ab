//! `poll-step-by-step`: polling futures by hand with tokio-test (book section "Fine-Grained Future
//! Testing").
//!
//! `tokio_test::task::spawn(future)` does not hand the future to a runtime: it wraps it in a mock
//! task, and nothing polls it until the test calls `.poll()`. The test therefore chooses *when*
//! each future runs and in *which order*, checks every result with `assert_pending!` /
//! `assert_ready!`, and can ask `is_woken()`: did something call this task's waker since its last
//! poll? That last question shows who is waiting on whom.
//!
//! Two futures run [`async_mutex_locker`] on one `tokio::sync::Mutex`: each takes the lock, adds
//! one, sleeps 1 ms *while still holding the guard*, and returns, which drops the guard. tokio's
//! mutex is fair: when the holder lets go, the lock goes straight to the first future in its
//! queue, which is woken. The tests run on tokio's paused clock, so the millisecond sleeps are
//! virtual and exact.
//!
//! How we differ from the book: its explanation of the step after `future1` returns `Ready` is
//! wrong. A finished `async fn` has already dropped its guard, so the lock was released then, and
//! handed to the queued `future2` (which `is_woken()` confirms). The following `future2.poll()` is
//! `Pending` because `future2` now holds the lock and is in its *own* 1 ms sleep, and the
//! `drop(future1)` that follows changes nothing. We print and test what really happens, and add
//! the case the book meant to show: dropping a future that is still pending releases its lock.
//!
//! Run it with `cargo run -p ch11 -- poll-step-by-step`; the tests are `cargo test -p ch11
//! poll_step_by_step`.

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

use common::demo::{Args, DemoResult};
use tokio::sync::Mutex;
use tokio::time::{Duration, Instant, sleep};
use tokio_test::task::{Spawn, spawn};

// Book: declared `-> ()`, which clippy flags as `unused_unit`; leaving it out means the same.
/// Takes the lock, adds one, and keeps the guard through a 1 ms sleep; returning drops it.
pub async fn async_mutex_locker(mutex: Arc<Mutex<i32>>) {
    let mut lock = mutex.lock().await;
    *lock += 1;
    sleep(Duration::from_millis(1)).await;
}

/// What the mutex looks like from outside, without waiting: its value if nobody holds it.
///
/// When a holder lets go while another future is queued, the lock belongs to that future at
/// once, so `try_lock` fails even before the new owner has been polled.
pub fn mutex_state(mutex: &Mutex<i32>) -> String {
    match mutex.try_lock() {
        Ok(value) => format!("free, value {}", *value),
        Err(_) => "locked".to_string(),
    }
}

/// The poll log the demo prints: one line per poll, with the virtual time, whether the future had
/// been woken since its last poll, the result and the state of the mutex afterwards.
struct PollLog {
    start: Instant,
    mutex: Arc<Mutex<i32>>,
    step: usize,
}

impl PollLog {
    fn new(mutex: &Arc<Mutex<i32>>) -> Self {
        println!(
            "   {:>4}  {:>6}  {:<14}  {:<6}  {:<7}  {:<13}  what happened",
            "step", "time", "poll", "woken?", "result", "mutex after"
        );
        PollLog {
            start: Instant::now(),
            mutex: Arc::clone(mutex),
            step: 0,
        }
    }

    /// Polls `future` once and prints the line; an error if the result is not `expected`, since
    /// then the explanation printed beside it would be wrong.
    fn poll<F: Future<Output = ()>>(
        &mut self,
        name: &str,
        future: &mut Spawn<F>,
        expected: Poll<()>,
        note: &str,
    ) -> Result<(), String> {
        self.step += 1;
        let woken = if future.is_woken() { "yes" } else { "no" };
        let result = future.poll();
        let shown = if result.is_ready() {
            "Ready"
        } else {
            "Pending"
        };
        println!(
            "   {:>4}  {:>3} ms  {name}.poll()  {woken:<6}  {shown:<7}  {:<13}  {note}",
            self.step,
            self.start.elapsed().as_millis(),
            mutex_state(&self.mutex),
        );
        if result == expected {
            Ok(())
        } else {
            Err(format!(
                "step {}: expected {expected:?}, got {result:?}",
                self.step
            ))
        }
    }

    fn say(&self, text: &str) {
        println!(
            "         {:>3} ms  {text}",
            self.start.elapsed().as_millis()
        );
    }
}

/// The book's sequence, printed with what really happens at each step.
async fn book_order() -> Result<(), String> {
    let mutex = Arc::new(Mutex::new(0));
    let mut future1 = spawn(async_mutex_locker(Arc::clone(&mutex)));
    let mut future2 = spawn(async_mutex_locker(Arc::clone(&mutex)));
    let mut log = PollLog::new(&mutex);

    log.poll(
        "future1",
        &mut future1,
        Poll::Pending,
        "takes the lock, adds 1, starts its 1 ms sleep",
    )?;
    log.poll(
        "future2",
        &mut future2,
        Poll::Pending,
        "the lock is held: queued behind future1",
    )?;
    let mut woken = 0;
    for _ in 0..10 {
        woken += usize::from(future2.is_woken());
        if future2.poll().is_ready() {
            return Err("future2 finished while future1 held the lock".to_string());
        }
        sleep(Duration::from_millis(1)).await;
    }
    log.say(&format!(
        "future2 polled 10 more times, 1 ms apart: Pending each time, woken {woken} times"
    ));
    log.say("(future1's timer fired at 1 ms and woke future1, but nobody polled it)");
    log.poll(
        "future1",
        &mut future1,
        Poll::Ready(()),
        "returns: its guard is dropped, the lock goes to future2",
    )?;
    log.say(&format!(
        "future2 woken by that hand-over: {}",
        future2.is_woken()
    ));
    sleep(Duration::from_millis(3)).await;
    log.poll(
        "future2",
        &mut future2,
        Poll::Pending,
        "holds the lock now (2), in its own sleep",
    )?;
    log.say("Book: \"still pending because future1 holds the guard\": future1 had let go already");
    drop(future1);
    log.say("drop(future1): changes nothing, it had finished");
    sleep(Duration::from_millis(1)).await;
    log.poll(
        "future2",
        &mut future2,
        Poll::Ready(()),
        "its sleep is over: returns, unlocks",
    )?;
    println!("   final value: {}", *mutex.lock().await);
    Ok(())
}

/// The other order: whichever future is polled first gets the lock.
async fn swapped_order() -> Result<(), String> {
    let mutex = Arc::new(Mutex::new(0));
    let mut future1 = spawn(async_mutex_locker(Arc::clone(&mutex)));
    let mut future2 = spawn(async_mutex_locker(Arc::clone(&mutex)));
    let mut log = PollLog::new(&mutex);

    log.poll(
        "future2",
        &mut future2,
        Poll::Pending,
        "polled first, so it takes the lock",
    )?;
    log.poll(
        "future1",
        &mut future1,
        Poll::Pending,
        "queued behind future2",
    )?;
    sleep(Duration::from_millis(1)).await;
    log.poll(
        "future2",
        &mut future2,
        Poll::Ready(()),
        "returns, the lock goes to future1",
    )?;
    log.poll(
        "future1",
        &mut future1,
        Poll::Pending,
        "holds the lock (2), sleeps",
    )?;
    sleep(Duration::from_millis(1)).await;
    log.poll("future1", &mut future1, Poll::Ready(()), "returns")?;
    println!("   final value: {}", *mutex.lock().await);
    Ok(())
}

/// What the book meant to show: dropping a future that still holds the lock releases it.
async fn cancelled_holder() -> Result<(), String> {
    let mutex = Arc::new(Mutex::new(0));
    let mut future1 = spawn(async_mutex_locker(Arc::clone(&mutex)));
    let mut future2 = spawn(async_mutex_locker(Arc::clone(&mutex)));
    let mut log = PollLog::new(&mutex);

    log.poll(
        "future1",
        &mut future1,
        Poll::Pending,
        "takes the lock (1), sleeps",
    )?;
    log.poll("future2", &mut future2, Poll::Pending, "queued")?;
    drop(future1);
    log.say(&format!(
        "drop(future1) while Pending: its guard is dropped; future2 woken: {}",
        future2.is_woken()
    ));
    log.poll(
        "future2",
        &mut future2,
        Poll::Pending,
        "holds the lock (2), sleeps",
    )?;
    sleep(Duration::from_millis(1)).await;
    log.poll("future2", &mut future2, Poll::Ready(()), "returns")?;
    println!(
        "   final value: {} (future1 had already added its 1)",
        *mutex.lock().await
    );
    Ok(())
}

/// Runs the demo: `poll-step-by-step` (no arguments).
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()?;
    runtime.block_on(async {
        println!("1. the book's order: future1 first (times are virtual, on the paused clock)");
        book_order().await?;
        println!("\n2. swapped: future2 polled first");
        swapped_order().await?;
        println!("\n3. cancellation: future1 dropped while it holds the lock");
        cancelled_holder().await
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use tokio_test::{assert_pending, assert_ready};

    use super::*;

    fn two_lockers(
        mutex: &Arc<Mutex<i32>>,
    ) -> (
        Spawn<impl Future<Output = ()> + use<>>,
        Spawn<impl Future<Output = ()> + use<>>,
    ) {
        (
            spawn(async_mutex_locker(Arc::clone(mutex))),
            spawn(async_mutex_locker(Arc::clone(mutex))),
        )
    }

    // Book: named `test_monitor_file_metadata` (a leftover), with real millisecond sleeps.
    #[tokio::test(start_paused = true)]
    async fn the_books_sequence_with_what_really_happens() {
        let mutex = Arc::new(Mutex::new(0));
        let (mut future1, mut future2) = two_lockers(&mutex);

        // Book: calls `assert_pending` a trait; it is a macro of tokio-test, as are
        // `assert_ready!` and `assert_ready_eq!`.
        assert_pending!(future1.poll());
        assert_pending!(future2.poll());

        for _ in 0..10 {
            assert_pending!(future2.poll());
            assert!(
                !future2.is_woken(),
                "nothing wakes future2 while future1 holds the lock"
            );
            sleep(Duration::from_millis(1)).await;
        }
        assert!(future1.is_woken(), "future1's timer fired");

        assert_eq!(future1.poll(), Poll::Ready(()));
        assert!(
            future2.is_woken(),
            "the lock was handed to future2 when future1 returned"
        );
        assert!(
            mutex.try_lock().is_err(),
            "the lock already belongs to future2, though it has not run yet"
        );

        sleep(Duration::from_millis(3)).await;
        // Book: explains this `Pending` by future1 still holding the guard; future2 holds it, in
        // its own 1 ms sleep, which started at this very poll.
        assert_pending!(future2.poll());
        assert!(mutex.try_lock().is_err());

        drop(future1);
        assert!(
            !future2.is_woken(),
            "dropping a finished future releases nothing"
        );
        sleep(Duration::from_millis(1)).await;
        assert!(future2.is_woken(), "future2's own timer woke it");
        assert_ready!(future2.poll());

        let lock = mutex.lock().await;
        assert_eq!(*lock, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn polled_first_wins_the_lock() {
        let mutex = Arc::new(Mutex::new(0));
        let (mut future1, mut future2) = two_lockers(&mutex);

        assert_pending!(future2.poll());
        assert_pending!(future1.poll());
        sleep(Duration::from_millis(1)).await;
        assert!(
            future2.is_woken(),
            "future2 holds the lock and its sleep is over"
        );
        assert!(!future1.is_woken(), "future1 is still queued");
        assert_ready!(future2.poll());
        assert!(future1.is_woken(), "the lock was handed on to future1");
        assert_pending!(future1.poll()); // its own sleep
        sleep(Duration::from_millis(1)).await;
        assert_ready!(future1.poll());
        assert_eq!(*mutex.lock().await, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_a_pending_holder_releases_the_lock() {
        let mutex = Arc::new(Mutex::new(0));
        let (mut future1, mut future2) = two_lockers(&mutex);

        assert_pending!(future1.poll());
        assert_pending!(future2.poll());
        assert!(!future2.is_woken());
        drop(future1);
        assert!(future2.is_woken(), "the dropped guard handed the lock on");
        assert_pending!(future2.poll());
        sleep(Duration::from_millis(1)).await;
        assert_ready!(future2.poll());
        assert_eq!(
            *mutex.lock().await,
            2,
            "future1 had added its 1 before it was dropped"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn mutex_state_shows_held_and_free() {
        let mutex = Arc::new(Mutex::new(5));
        assert_eq!(mutex_state(&mutex), "free, value 5");
        let guard = mutex.lock().await;
        assert_eq!(mutex_state(&mutex), "locked");
        drop(guard);
        assert_eq!(mutex_state(&mutex), "free, value 5");
    }

    #[test]
    fn the_demo_runs() {
        run(Args::default()).unwrap();
    }
}
