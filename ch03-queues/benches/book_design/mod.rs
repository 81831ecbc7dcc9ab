//! The book's last runtime (task stealing + `Runtime`), as printed, for the benchmark only.
//!
//! Two lazily started flume channels; each worker tries its own channel, then the other one,
//! and finding both empty sleeps 100 ms. One high and one low worker, like the final runtime in
//! the benchmark. Only what the book's listings leave out or cannot compile is filled in: the
//! `Flume::Sender` typo, the stray brace, and the worker counts (fixed instead of `HIGH_NUM` /
//! `LOW_NUM` environment variables, whose `set_var` is `unsafe` in edition 2024).

use std::future::Future;
use std::panic::catch_unwind;
use std::sync::LazyLock;
use std::thread;
use std::time::Duration;

use async_task::{Runnable, Task};
use flume::{Receiver, Sender};

#[derive(Debug, Clone, Copy)]
pub enum FutureType {
    High,
    Low,
}

const HIGH_NUM: usize = 1;
const LOW_NUM: usize = 1;

static HIGH_CHANNEL: LazyLock<(Sender<Runnable>, Receiver<Runnable>)> =
    LazyLock::new(flume::unbounded::<Runnable>);
static LOW_CHANNEL: LazyLock<(Sender<Runnable>, Receiver<Runnable>)> =
    LazyLock::new(flume::unbounded::<Runnable>);

fn start_workers(count: usize, own: &Receiver<Runnable>, other: &Receiver<Runnable>) {
    for _ in 0..count {
        let own = own.clone();
        let other = other.clone();
        thread::spawn(move || {
            loop {
                match own.try_recv() {
                    Ok(runnable) => {
                        let _ = catch_unwind(|| runnable.run());
                    }
                    Err(_) => match other.try_recv() {
                        Ok(runnable) => {
                            let _ = catch_unwind(|| runnable.run());
                        }
                        Err(_) => thread::sleep(Duration::from_millis(100)),
                    },
                }
            }
        });
    }
}

static HIGH_QUEUE: LazyLock<Sender<Runnable>> = LazyLock::new(|| {
    start_workers(HIGH_NUM, &HIGH_CHANNEL.1, &LOW_CHANNEL.1);
    HIGH_CHANNEL.0.clone()
});

static LOW_QUEUE: LazyLock<Sender<Runnable>> = LazyLock::new(|| {
    start_workers(LOW_NUM, &LOW_CHANNEL.1, &HIGH_CHANNEL.1);
    LOW_CHANNEL.0.clone()
});

pub fn spawn_task<F, T>(future: F, order: FutureType) -> Task<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let schedule_high = |runnable| HIGH_QUEUE.send(runnable).unwrap();
    let schedule_low = |runnable| LOW_QUEUE.send(runnable).unwrap();
    let schedule = match order {
        FutureType::High => schedule_high,
        FutureType::Low => schedule_low,
    };
    let (runnable, task) = async_task::spawn(future, schedule);
    runnable.schedule();
    task
}

/// The book's `Runtime::run`: one empty task per queue, joined, so both queues have started.
pub fn run() {
    let high = spawn_task(async {}, FutureType::High);
    let low = spawn_task(async {}, FutureType::Low);
    futures_lite::future::block_on(high);
    futures_lite::future::block_on(low);
}
