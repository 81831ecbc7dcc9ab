//! `cargo bench -p ch03`: our final runtime against the book's design, smol and tokio.
//!
//! Five runtimes, each with two worker threads where it has workers: ours (`Runtime::build`,
//! 1 high + 1 low), the book's last step (two flume channels, 1 high + 1 low worker, 100 ms
//! naps), smol's `Executor` on two threads, tokio's current-thread runtime and tokio's
//! multi-thread runtime with two workers. Three workloads:
//!
//! * `spawn-await`: spawn 100,000 trivial tasks from the main thread, then await them all;
//! * `yield`: 1,000 tasks that each yield 100 times (every yield is a wake and a re-queue);
//! * `first poll`: after the runtime sat idle for a second, how long until a new task is polled.
//!
//! Every runtime is built once; each of 5 rounds runs every workload on every runtime, in an
//! order that alternates between rounds, and the table shows the medians. The lines after the
//! table are the ratios the README quotes.

mod book_design;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ch03::runtime::{FutureType, Handle, Runtime};
use futures_lite::future;

const SPAWN_TASKS: usize = 100_000;
const YIELD_TASKS: usize = 1_000;
const YIELDS: usize = 100;
const ROUNDS: usize = 5;
const IDLE: Duration = Duration::from_secs(1);

/// What a runtime must do for the benchmark; each method returns the measured time.
trait Subject {
    fn name(&self) -> &'static str;
    fn spawn_await(&self) -> Duration;
    fn yields(&self) -> Duration;
    /// Called after the runtime sat idle: time from spawn to the task's first poll.
    fn first_poll(&self) -> Duration;
}

/// Spawns with `spawn`, then awaits every task from the calling thread; returns the elapsed time.
fn spawn_await_with<T: Future<Output = usize>>(spawn: impl Fn(usize) -> T) -> Duration {
    let start = Instant::now();
    let tasks: Vec<T> = (0..SPAWN_TASKS).map(spawn).collect();
    let sum = future::block_on(async {
        let mut sum = 0;
        for task in tasks {
            sum += task.await;
        }
        sum
    });
    let elapsed = start.elapsed();
    assert_eq!(sum, SPAWN_TASKS * (SPAWN_TASKS - 1) / 2);
    elapsed
}

fn yields_with<T: Future<Output = usize>>(spawn: impl Fn(usize) -> T) -> Duration {
    let start = Instant::now();
    let tasks: Vec<T> = (0..YIELD_TASKS).map(spawn).collect();
    let total = future::block_on(async {
        let mut total = 0;
        for task in tasks {
            total += task.await;
        }
        total
    });
    let elapsed = start.elapsed();
    assert_eq!(total, YIELD_TASKS * YIELDS);
    elapsed
}

async fn yield_many() -> usize {
    for _ in 0..YIELDS {
        future::yield_now().await;
    }
    YIELDS
}

fn first_poll_with<T: Future<Output = Duration>>(spawn: impl FnOnce(Instant) -> T) -> Duration {
    let start = Instant::now();
    future::block_on(spawn(start))
}

struct Ours(Handle);

impl Subject for Ours {
    fn name(&self) -> &'static str {
        "ours"
    }
    fn spawn_await(&self) -> Duration {
        spawn_await_with(|i| self.0.spawn(async move { i }, FutureType::Low))
    }
    fn yields(&self) -> Duration {
        yields_with(|_| self.0.spawn(yield_many(), FutureType::Low))
    }
    fn first_poll(&self) -> Duration {
        first_poll_with(|start| {
            self.0
                .spawn(async move { start.elapsed() }, FutureType::Low)
        })
    }
}

struct Book;

impl Subject for Book {
    fn name(&self) -> &'static str {
        "book"
    }
    fn spawn_await(&self) -> Duration {
        spawn_await_with(|i| {
            book_design::spawn_task(async move { i }, book_design::FutureType::Low)
        })
    }
    fn yields(&self) -> Duration {
        yields_with(|_| book_design::spawn_task(yield_many(), book_design::FutureType::Low))
    }
    fn first_poll(&self) -> Duration {
        first_poll_with(|start| {
            book_design::spawn_task(async move { start.elapsed() }, book_design::FutureType::Low)
        })
    }
}

struct Smol {
    executor: Arc<smol::Executor<'static>>,
    /// Keeps smol's executor threads running until the benchmark ends (dropped: they return).
    _stop: flume::Sender<()>,
}

impl Smol {
    fn new(threads: usize) -> Self {
        let executor = Arc::new(smol::Executor::new());
        let (stop, stopped) = flume::bounded::<()>(1);
        for n in 0..threads {
            let executor = Arc::clone(&executor);
            let stopped = stopped.clone();
            thread::Builder::new()
                .name(format!("smol-{n}"))
                .spawn(move || future::block_on(executor.run(stopped.recv_async())))
                .expect("smol thread");
        }
        Smol {
            executor,
            _stop: stop,
        }
    }
}

impl Subject for Smol {
    fn name(&self) -> &'static str {
        "smol"
    }
    fn spawn_await(&self) -> Duration {
        spawn_await_with(|i| self.executor.spawn(async move { i }))
    }
    fn yields(&self) -> Duration {
        yields_with(|_| self.executor.spawn(yield_many()))
    }
    fn first_poll(&self) -> Duration {
        first_poll_with(|start| self.executor.spawn(async move { start.elapsed() }))
    }
}

struct Tokio {
    name: &'static str,
    runtime: tokio::runtime::Runtime,
}

impl Subject for Tokio {
    fn name(&self) -> &'static str {
        self.name
    }
    fn spawn_await(&self) -> Duration {
        self.runtime.block_on(async {
            let start = Instant::now();
            let tasks: Vec<_> = (0..SPAWN_TASKS)
                .map(|i| tokio::spawn(async move { i }))
                .collect();
            let mut sum = 0;
            for task in tasks {
                sum += task.await.expect("trivial task");
            }
            let elapsed = start.elapsed();
            assert_eq!(sum, SPAWN_TASKS * (SPAWN_TASKS - 1) / 2);
            elapsed
        })
    }
    fn yields(&self) -> Duration {
        self.runtime.block_on(async {
            let start = Instant::now();
            let tasks: Vec<_> = (0..YIELD_TASKS)
                .map(|_| {
                    tokio::spawn(async {
                        for _ in 0..YIELDS {
                            tokio::task::yield_now().await;
                        }
                        YIELDS
                    })
                })
                .collect();
            let mut total = 0;
            for task in tasks {
                total += task.await.expect("yielding task");
            }
            let elapsed = start.elapsed();
            assert_eq!(total, YIELD_TASKS * YIELDS);
            elapsed
        })
    }
    fn first_poll(&self) -> Duration {
        let start = Instant::now();
        self.runtime
            .block_on(async move { tokio::spawn(async move { start.elapsed() }).await })
            .expect("first-poll task")
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this file too: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");

    book_design::run();
    let subjects: Vec<Box<dyn Subject>> = vec![
        Box::new(Ours(
            Runtime::new().with_high_num(1).with_low_num(1).build(),
        )),
        Box::new(Book),
        Box::new(Smol::new(2)),
        Box::new(Tokio {
            name: "tokio-ct",
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("tokio current-thread runtime"),
        }),
        Box::new(Tokio {
            name: "tokio-mt",
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .build()
                .expect("tokio multi-thread runtime"),
        }),
    ];
    if quick {
        for subject in &subjects {
            subject.spawn_await();
            subject.yields();
        }
        println!("benchmark compiled and ran once; `cargo bench -p ch03` measures");
        return;
    }

    // Warm-up round (allocator, thread wake-ups, lazy statics), not counted.
    for subject in &subjects {
        subject.spawn_await();
        subject.yields();
    }

    let n = subjects.len();
    let mut spawn = vec![Vec::new(); n];
    let mut yields = vec![Vec::new(); n];
    let mut first = vec![Vec::new(); n];
    for round in 0..ROUNDS {
        let order: Vec<usize> = if round % 2 == 0 {
            (0..n).collect()
        } else {
            (0..n).rev().collect()
        };
        for &i in &order {
            spawn[i].push(subjects[i].spawn_await());
            yields[i].push(subjects[i].yields());
        }
        // Every runtime now sits idle for a second; then each gets one new task.
        thread::sleep(IDLE);
        for &i in &order {
            first[i].push(subjects[i].first_poll());
        }
    }
    let spawn: Vec<Duration> = spawn.into_iter().map(median).collect();
    let yields: Vec<Duration> = yields.into_iter().map(median).collect();
    let first: Vec<Duration> = first.into_iter().map(median).collect();

    println!(
        "medians of {ROUNDS} rounds, {} cores",
        thread::available_parallelism().map_or(1, |c| c.get())
    );
    print!("{:<34}", "workload");
    for subject in &subjects {
        print!("{:>11}", subject.name());
    }
    println!();
    let rows = [
        (format!("spawn+await {SPAWN_TASKS} tasks (ms)"), &spawn),
        (
            format!("{YIELD_TASKS} tasks x {YIELDS} yields (ms)"),
            &yields,
        ),
        ("first poll after 1 s idle (ms)".to_string(), &first),
    ];
    for (label, times) in rows {
        print!("{label:<34}");
        for &t in times.iter() {
            print!("{:>11.3}", ms(t));
        }
        println!();
    }
    println!();

    let index = |name: &str| {
        subjects
            .iter()
            .position(|s| s.name() == name)
            .expect("subject")
    };
    let (ours, book, smol, ct) = (
        index("ours"),
        index("book"),
        index("smol"),
        index("tokio-ct"),
    );
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "spawn-await ours/smol {:.2}",
        ratio(spawn[ours], spawn[smol])
    );
    println!("yield ours/smol {:.2}", ratio(yields[ours], yields[smol]));
    println!(
        "spawn-await ours/tokio-ct {:.2}",
        ratio(spawn[ours], spawn[ct])
    );
    println!("yield ours/tokio-ct {:.2}", ratio(yields[ours], yields[ct]));
    println!(
        "spawn-await book/ours {:.2}",
        ratio(spawn[book], spawn[ours])
    );
    println!("yield book/ours {:.2}", ratio(yields[book], yields[ours]));
    println!("first poll after idle ms {:.3}", ms(first[ours]));
}
