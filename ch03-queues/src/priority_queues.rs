//! `priority-queues` (book section "Passing Tasks to Different Queues"): a high-priority queue with
//! two workers and a low-priority queue with one, chosen by a label on the future.
//!
//! Each queue is the `more-workers` pool again, with its own channel and its own number of workers
//! (`high-0`, `high-1`; `low-0`). The future says where it belongs through the book's trait
//! [`FutureOrderLabel`], and [`spawn_task`] picks the schedule closure to match, so every later
//! wake of the task goes back to the same queue.
//!
//! The catch, which the next step fixes: a worker only ever serves its own queue. With `low-0`
//! busy, low tasks wait even while both high workers sit idle (one third of the runtime working).
//! The label is also a nuisance: only a type that implements `FutureOrderLabel` can be spawned,
//! so an `async` block cannot:
//!
//! ```compile_fail
//! // `async {}` has no `FutureOrderLabel`, so this step's `spawn_task` rejects it.
//! let task = ch03::priority_queues::spawn_task(async {});
//! ```
//!
//! Run it with `cargo run -p ch03 -- priority-queues`: two high and two low counters (three polls
//! of 100 ms each). The high counters run side by side on `high-0` and `high-1`, the low ones take
//! turns on `low-0`, so the low pair needs twice as long. Each poll is listed with its worker, then
//! the timeline shows the same: one row per task, marked by worker.
//!
//! How we differ from the book: the book adds an `order` field to `CounterFuture` itself; ours
//! wraps it ([`OrderedCounter`]), so the one `CounterFuture` in `common` serves every chapter.
//! [`FutureType`] is defined once, in [`crate::runtime`], and re-exported here, so every step and
//! the final runtime share one type.

use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};

use async_task::{Runnable, Task};
use common::demo::{Args, DemoResult};
use common::timeline::CountPolls;
use common::{CounterFuture, Timeline};
use futures_lite::future;

/// The book's `enum FutureType { High, Low }`: defined in the final runtime, shared by every step.
pub use crate::runtime::FutureType;
use crate::support::{BOOK_UNIT, poll_report, run_runnable, spawn_worker};

/// The book's label: a future that knows which queue it belongs to.
pub trait FutureOrderLabel: Future {
    /// The queue this future should run on.
    fn get_order(&self) -> FutureType;
}

/// The book's `CounterFuture` with an `order` field, as a wrapper.
///
/// Book: the book adds `order: FutureType` to `CounterFuture`; we wrap the shared
/// `common::CounterFuture` instead and delegate `poll`, so no chapter needs its own counter.
/// The wrapped future is generic (default: `CounterFuture`) so that demos and tests can label a
/// counter wrapped in `CountPolls`, or a test gate, the same way.
#[derive(Debug, Clone)]
pub struct OrderedCounter<C = CounterFuture> {
    /// The future being labelled, normally a counter.
    pub counter: C,
    /// The queue it goes to.
    pub order: FutureType,
}

impl<C: Future + Unpin> Future for OrderedCounter<C> {
    type Output = C::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C::Output> {
        Pin::new(&mut self.counter).poll(cx)
    }
}

impl<C: Future + Unpin> FutureOrderLabel for OrderedCounter<C> {
    fn get_order(&self) -> FutureType {
        self.order
    }
}

/// Two workers, `high-0` and `high-1`, on the high-priority channel.
pub static HIGH_QUEUE: LazyLock<flume::Sender<Runnable>> = LazyLock::new(|| start_queue("high", 2));
/// One worker, `low-0`, on the low-priority channel.
pub static LOW_QUEUE: LazyLock<flume::Sender<Runnable>> = LazyLock::new(|| start_queue("low", 1));

/// A channel with `workers` consumer threads named `{name}-0`, `{name}-1`, …: the `more-workers`
/// pool, which the book writes out once per queue.
fn start_queue(name: &str, workers: usize) -> flume::Sender<Runnable> {
    let (tx, rx) = flume::unbounded::<Runnable>();
    for i in 0..workers {
        let receiver = rx.clone();
        spawn_worker(format!("{name}-{i}"), move || {
            while let Ok(runnable) = receiver.recv() {
                run_runnable(runnable);
            }
        });
    }
    tx
}

/// The book's `spawn_task`, now routing each future by its label.
pub fn spawn_task<F, T>(future: F) -> Task<T>
where
    F: Future<Output = T> + Send + 'static + FutureOrderLabel,
    T: Send + 'static,
{
    // Book: `.unwrap()` on each send; if a send fails (no worker left) we drop the runnable,
    // which cancels the task, rather than panic on the waking thread (as in `basic-queue`).
    // Two different closures that capture nothing both coerce to `fn(Runnable)`, so the `match`
    // can return either.
    let schedule_high = |runnable| {
        let _ = HIGH_QUEUE.send(runnable);
    };
    let schedule_low = |runnable| {
        let _ = LOW_QUEUE.send(runnable);
    };
    let schedule = match future.get_order() {
        FutureType::High => schedule_high,
        FutureType::Low => schedule_low,
    };
    let (runnable, task) = async_task::spawn(future, schedule);
    runnable.schedule();
    task
}

/// Runs the demo: two high and two low counters, then who ran which poll.
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    let timeline = Timeline::new();
    let counter = |label: &str, order| OrderedCounter {
        counter: CountPolls::new(CounterFuture::new(3).with_delay(BOOK_UNIT))
            .recording(&timeline, label),
        order,
    };
    let tasks = [
        spawn_task(counter("high 1", FutureType::High)),
        spawn_task(counter("high 2", FutureType::High)),
        spawn_task(counter("low 1", FutureType::Low)),
        spawn_task(counter("low 2", FutureType::Low)),
    ];
    let outputs: Vec<u32> = tasks.into_iter().map(future::block_on).collect();
    println!("\noutputs: {outputs:?}\npolls, in the order they started:");
    print!("{}", poll_report(&timeline));
    println!("\n{}", timeline.render());
    println!("the high pair shares two workers; the low pair takes turns on one.");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::thread;
    use std::time::Duration;

    use common::timeline::current_thread_name;

    use super::*;
    use crate::support::{Gates, serial, wait_for};

    static SERIAL: Mutex<()> = Mutex::new(());

    /// A labelled task that returns the name of the worker that ran it (a boxed `async` block is
    /// `Unpin`, which `OrderedCounter` asks for).
    fn whoami(order: FutureType) -> Task<String> {
        spawn_task(OrderedCounter {
            counter: Box::pin(async { current_thread_name() }),
            order,
        })
    }

    #[test]
    fn each_label_picks_its_queue() {
        let _serial = serial(&SERIAL);
        for _ in 0..5 {
            let high = wait_for(whoami(FutureType::High));
            assert!(["high-0", "high-1"].contains(&high.as_str()), "{high}");
            assert_eq!(wait_for(whoami(FutureType::Low)), "low-0");
        }
    }

    #[test]
    fn a_low_task_waits_for_low_0_while_the_high_workers_idle() {
        let _serial = serial(&SERIAL);
        // Start both high workers (they stay idle), then hold `low-0`.
        wait_for(whoami(FutureType::High));
        let (mut gates, [gate]) = Gates::new();
        spawn_task(OrderedCounter {
            counter: gate,
            order: FutureType::Low,
        })
        .detach();
        assert_eq!(gates.wait_entered(), ["low-0"]);

        let counted = CountPolls::new(CounterFuture::new(1));
        let polls = counted.counter();
        let task = spawn_task(OrderedCounter {
            counter: counted,
            order: FutureType::Low,
        });
        // No stealing yet: two idle high workers, and still nobody polls it.
        thread::sleep(Duration::from_millis(100));
        assert_eq!(polls.get(), 0);

        gates.open("low-0");
        assert_eq!(wait_for(task), 1);
        assert_eq!(polls.get(), 1);
    }
}
