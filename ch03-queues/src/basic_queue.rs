//! `basic-queue` (book section "Building Our Own Async Queue"): the smallest runtime there is, one
//! queue and one thread.
//!
//! [`spawn_task`] is the whole runtime. `async_task::spawn` splits a future into two handles that
//! point at the same heap-allocated task: a `Runnable`, which polls the future once when `run` is
//! called and is then gone, and a `Task`, which the caller keeps to wait for the output. The
//! schedule closure we hand to `async_task::spawn` decides what "scheduling" means: here, push the
//! runnable onto a `flume` channel. One thread, started the first time anything is spawned (the
//! `LazyLock`), receives runnables from that channel and runs them. When a future wakes itself
//! before returning `Pending` (as `CounterFuture` does), async-task calls the schedule closure
//! again, so the task goes to the *back* of the queue: the tasks take turns.
//!
//! Run it with `cargo run -p ch03 -- basic-queue`. The book's `main` spawns two counters (three
//! polls each, blocking one book second per poll) and an `async` block that awaits `async_fn` four
//! times; we scale the book's second to 100 ms. You will see the book's printout: three queue
//! counts, the first poll of each counter, then four `async fn` lines in one go (`async_fn` never
//! really waits, so the whole block finishes in one poll), `before the block` between the second
//! and third of them, then the counters' remaining polls alternating. A timeline chart follows,
//! one row per task, every bar drawn with the mark of the one worker, `queue-0`, in the order
//! c1, c2, block, c1, c2, c1, c2. `future::block_on(task)` only *waits*: the work was already
//! being done on `queue-0` while `main` slept.

use std::future::Future;
use std::sync::LazyLock;
use std::thread;

use async_task::{Runnable, Task};
use common::CounterFuture;
use common::Timeline;
use common::demo::{Args, DemoResult};
use common::timeline::CountPolls;
use futures_lite::future;

use crate::support::{BOOK_UNIT, async_fn, poll_report, run_runnable, spawn_worker};

/// The book's `spawn_task`: turns `future` into a task, puts it on the queue, returns its handle.
pub fn spawn_task<F, T>(future: F) -> Task<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    // Created by the first call, then shared by every later one.
    static QUEUE: LazyLock<flume::Sender<Runnable>> = LazyLock::new(|| {
        let (tx, rx) = flume::unbounded::<Runnable>();
        // Book: `thread::spawn`; ours names the worker `queue-0` so timelines can show it.
        spawn_worker("queue-0", move || {
            // `recv` blocks while the queue is empty: an idle worker uses no CPU.
            while let Ok(runnable) = rx.recv() {
                println!("runnable accepted");
                run_runnable(runnable);
            }
        });
        tx
    });

    // Book: `QUEUE.send(runnable).unwrap()`. The schedule closure runs on whichever thread wakes the
    // task (later in the book, a reactor's), so it must not panic. Sending fails only if the worker
    // is gone; the runnable is then dropped, which cancels the task, and its waiter gets the panic.
    let schedule = |runnable| {
        let _ = QUEUE.send(runnable);
    };
    let (runnable, task) = async_task::spawn(future, schedule);
    runnable.schedule();
    // Racy on purpose, as in the book: the worker may already have taken the runnable.
    println!("Here is the queue count: {:?}", QUEUE.len());
    task
}

/// Runs the demo: the book's `main`, scaled to 100 ms per book second, then its timeline.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let timeline = Timeline::new();

    let one = CounterFuture::new(3).with_delay(BOOK_UNIT);
    let two = CounterFuture::new(3).with_delay(BOOK_UNIT);
    // Each future is wrapped in `CountPolls`, which records one timeline span per poll.
    let t_one = spawn_task(CountPolls::new(one).recording(&timeline, "c1"));
    let t_two = spawn_task(CountPolls::new(two).recording(&timeline, "c2"));
    let t_three = spawn_task(
        CountPolls::new(async {
            async_fn().await;
            async_fn().await;
            async_fn().await;
            async_fn().await;
        })
        .recording(&timeline, "block"),
    );
    // Book: sleeps 5 s, when the third `async fn` also finishes, so the two lines race; 4.5 book
    // seconds puts `before the block` between the second and the third, where the book shows it.
    thread::sleep(BOOK_UNIT * 9 / 2);
    println!("before the block");
    let outputs = (
        future::block_on(t_one),
        future::block_on(t_two),
        future::block_on(t_three),
    );

    println!("\noutputs: {outputs:?}\npolls, in the order the worker ran them:");
    print!("{}", poll_report(&timeline));
    println!("\n{}", timeline.render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::panic::catch_unwind;
    use std::sync::Mutex;
    use std::time::Duration;

    use common::timeline::current_thread_name;

    use super::*;
    use crate::support::{Gates, async_fn_with, panic_message, poll_order, serial, wait_for};

    /// The queue is a `static`: this module's tests take turns on it.
    static SERIAL: Mutex<()> = Mutex::new(());

    #[test]
    fn tasks_take_turns_on_the_one_worker_in_queue_order() {
        let _serial = serial(&SERIAL);
        let timeline = Timeline::new();
        // The gate holds the worker until all three tasks are queued, so the queue order is
        // exactly the spawn order, whatever the worker happened to be doing.
        let (mut gates, [gate]) = Gates::new();
        spawn_task(gate).detach();
        assert_eq!(gates.wait_entered(), ["queue-0"]);

        let t_one = spawn_task(CountPolls::new(CounterFuture::new(3)).recording(&timeline, "c1"));
        let t_two = spawn_task(CountPolls::new(CounterFuture::new(3)).recording(&timeline, "c2"));
        let t_three = spawn_task(
            CountPolls::new(async {
                for _ in 0..4 {
                    async_fn_with(Duration::ZERO).await;
                }
            })
            .recording(&timeline, "block"),
        );
        gates.open_all();

        assert_eq!(wait_for(t_one), 3);
        assert_eq!(wait_for(t_two), 3);
        wait_for(t_three);
        assert_eq!(
            poll_order(&timeline),
            ["c1:1", "c2:1", "block:1", "c1:2", "c2:2", "c1:3", "c2:3"]
        );
        let me = current_thread_name();
        for span in timeline.spans() {
            assert_eq!(span.thread, "queue-0", "{span:?}");
            assert_ne!(span.thread, me);
        }
    }

    #[test]
    fn a_runnable_dropped_without_schedule_cancels_its_task() {
        // What the book warns about: forget `runnable.schedule()` and the task never runs. The
        // dropped `Runnable` cancels it, and waiting for it panics instead of hanging.
        let (runnable, task) = async_task::spawn(async { 1 }, |_runnable| {});
        drop(runnable);
        let payload = catch_unwind(|| future::block_on(task)).unwrap_err();
        assert_eq!(panic_message(&*payload), "Task polled after completion");
    }
}
