//! `task-executor` ("Building Our Executor"): a ready queue fed by wakers.
//!
//! The code is in [`crate::async_runtime::executor`] (the book's `async_runtime/src/executor.rs`):
//! `Task` is a type-erased future plus its waker, `Executor::spawn` stores it and queues it for a
//! first poll, and `Executor::poll` polls one task *from the ready queue*. A task lands in that
//! queue again only when its waker fires; when the queue is empty the thread parks.
//!
//! The demo spawns three tasks — a counter that wakes itself and finishes on its 4th poll, a
//! task awaiting a 50 ms [`Sleep`], and a task that returns a `String` at once — and drives the
//! executor with an explicit loop (`run_until_stalled`, then `park`) so every poll and every park
//! is printed. Run it with `cargo run -p ch10 -- task-executor [--sleep-ms MS]`.

pub use crate::async_runtime::executor::{Executor, ExecutorStats, Task};

use std::future::{Future, poll_fn};
use std::task::Poll;
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};
use common::timeline::{CountPolls, format_duration};

use crate::async_runtime::Sleep;

/// A counter that wakes itself on every poll and is done on poll `done_at` (printing each).
pub fn self_waking_counter(done_at: u32) -> impl Future<Output = u32> + Send {
    let mut count = 0;
    poll_fn(move |cx| {
        count += 1;
        if count == done_at {
            println!("  counter: poll {count} -> Ready({count})");
            return Poll::Ready(count);
        }
        println!("  counter: poll {count} -> Pending (woke itself)");
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let sleep_ms = args.value_in("sleep-ms", 50u64, 1..=5_000)?;
    args.finish()?;
    let started = Instant::now();
    let mut executor = Executor::new();

    let counter = CountPolls::new(self_waking_counter(4));
    let counter_polls = counter.counter();
    let counter = executor.spawn(counter);

    let sleeper = CountPolls::new(async move {
        println!("  sleeper: first poll, sleeping {sleep_ms} ms");
        Sleep::new(Duration::from_millis(sleep_ms)).await;
        println!("  sleeper: woken by the timer, done");
        "slept"
    });
    let sleeper_polls = sleeper.counter();
    let sleeper = executor.spawn(sleeper);

    let text = CountPolls::new(async {
        println!("  text: ready at once");
        String::from("a String result")
    });
    let text_polls = text.counter();
    let text = executor.spawn(text);

    println!("3 tasks spawned; the executor polls only tasks in its ready queue:");
    // What `Executor::run` does, spelled out so each park shows.
    loop {
        executor.run_until_stalled();
        if executor.is_empty() {
            break;
        }
        println!(
            "  parked: no ready task ({} waiting for a wake)",
            executor.len()
        );
        executor.park();
    }
    let elapsed = started.elapsed();
    println!(
        "results: {}, {:?}, {:?}",
        counter.join()?,
        sleeper.join()?,
        text.join()?
    );
    let stats = executor.stats();
    println!(
        "polls {} + {} + {}, parks {}, elapsed {}",
        counter_polls.get(),
        sleeper_polls.get(),
        text_polls.get(),
        stats.parks,
        format_duration(elapsed)
    );
    println!(
        "(the book's executor re-polls every pending task in a loop: the sleeper alone would be \
         polled for the whole {sleep_ms} ms at 100 % CPU)"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::thread;
    use std::time::{Duration, Instant};

    use common::timeline::CountPolls;

    use super::*;
    use crate::async_runtime::JoinError;
    use crate::async_runtime::test_support::{DropCounter, Parked, within};

    #[test]
    fn thousand_wakes_between_runs_cost_one_poll() {
        let parked = Parked::default();
        let mut executor = Executor::new();
        let handle = executor.spawn(parked.future(2));
        assert_eq!(executor.run_until_stalled(), 1);
        assert_eq!(parked.polls(), 1);
        // A task's waker exists only after its first poll: the wakes go between two runs.
        let waker = parked.waker.lock().unwrap().clone().unwrap();
        thread::spawn(move || {
            for _ in 0..1_000 {
                waker.wake_by_ref();
            }
        })
        .join()
        .unwrap();
        assert_eq!(executor.run_until_stalled(), 1, "queued once, polled once");
        assert_eq!(parked.polls(), 2);
        assert_eq!(handle.join(), Ok(2));
    }

    #[test]
    fn pending_without_wake_is_polled_once_and_the_run_returns() {
        let parked = Parked::default();
        let mut executor = Executor::new();
        let _handle = executor.spawn(parked.future(usize::MAX));
        let polls = within(Duration::from_secs(5), move || {
            let first = executor.run_until_stalled();
            let second = executor.run_until_stalled();
            (first, second, executor.len())
        });
        assert_eq!(polls, (1, 0, 1));
        assert_eq!(parked.polls(), 1);
    }

    #[test]
    fn run_polls_a_sleeper_twice_and_parks() {
        let (polls, stats, elapsed) = within(Duration::from_secs(5), || {
            let mut executor = Executor::new();
            let sleeper = CountPolls::new(Sleep::new(Duration::from_millis(50)));
            let polls = sleeper.counter();
            let started = Instant::now();
            let handle = executor.spawn(sleeper);
            executor.run();
            handle.join().unwrap();
            (polls.get(), executor.stats(), started.elapsed())
        });
        assert_eq!(polls, 2);
        assert_eq!(stats.polls, 2);
        assert!(stats.parks >= 1, "{stats:?}");
        assert!(elapsed >= Duration::from_millis(50), "{elapsed:?}");
    }

    #[test]
    fn a_wake_after_completion_does_nothing() {
        let parked = Parked::default();
        let mut executor = Executor::new();
        let handle = executor.spawn(parked.future(2));
        executor.run_until_stalled();
        assert!(parked.wake());
        executor.run_until_stalled();
        assert_eq!(handle.join(), Ok(2));
        assert!(parked.wake(), "the stored waker outlives its task");
        assert_eq!(executor.run_until_stalled(), 0);
        assert_eq!(parked.polls(), 2);
        assert_eq!(executor.stats().polls, 2);
    }

    #[test]
    fn dropping_the_executor_drops_unfinished_tasks() {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut executor = Executor::new();
        let polled = executor.spawn(DropCounter(Arc::clone(&drops)));
        let never_polled = executor.spawn(DropCounter(Arc::clone(&drops)));
        assert!(executor.poll());
        drop(executor);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        let results = within(Duration::from_secs(5), move || {
            (polled.join(), never_polled.join())
        });
        assert_eq!(
            results,
            (Err(JoinError::Cancelled), Err(JoinError::Cancelled))
        );
    }

    #[test]
    fn ready_tasks_run_in_fifo_order() {
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut executor = Executor::new();
        for i in 0..10 {
            let order = Arc::clone(&order);
            executor.spawn(async move { order.lock().unwrap().push(i) });
        }
        assert_eq!(executor.run_until_stalled(), 10);
        assert_eq!(*order.lock().unwrap(), (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn the_demo_counter_finishes_on_its_fourth_poll() {
        let mut executor = Executor::new();
        let counter = CountPolls::new(self_waking_counter(4));
        let polls = counter.counter();
        let handle = executor.spawn(counter);
        within(Duration::from_secs(5), move || executor.run());
        assert_eq!((handle.join(), polls.get()), (Ok(4), 4));
    }

    #[test]
    fn block_on_drives_spawned_tasks_too() {
        let value = within(Duration::from_secs(5), || {
            let mut executor = Executor::new();
            let a = executor.spawn(async {
                Sleep::new(Duration::from_millis(10)).await;
                20
            });
            let b = executor.spawn(async { 22 });
            executor.block_on(async move { a.await.unwrap() + b.await.unwrap() })
        });
        assert_eq!(value, 42);
    }

    #[test]
    fn a_spawner_feeds_the_executor_from_another_thread() {
        let mut executor = Executor::new();
        let spawner = executor.spawner();
        let runner = thread::spawn(move || {
            executor.run(); // returns once the spawner is gone and its tasks are done
            executor.stats()
        });
        let handles: Vec<_> = (0..5u32)
            .map(|i| spawner.spawn(async move { i * i }))
            .collect();
        drop(spawner);
        let values: Vec<u32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(values, vec![0, 1, 4, 9, 16]);
        let stats = within(Duration::from_secs(5), move || runner.join().unwrap());
        assert_eq!(stats.completed, 5);
    }
}
