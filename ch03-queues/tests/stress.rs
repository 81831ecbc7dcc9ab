//! Stress test of the final runtime (`ch03::runtime`): many tasks, both priorities, panics.
//!
//! 10,000 tasks on a 2 high + 2 low `Handle`, each with a seeded random priority, 0 to 10
//! yields and a 1 % chance to panic, are collected in spawn order the way `try_join!` does it
//! (each `block_on` inside `catch_unwind`). Every task must produce exactly its own output, every
//! panicking one an `Err` with its own message, the workers must have stolen across the queues,
//! polled exactly as often as the tasks asked to be polled, and gone quiet afterwards.

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ch03::runtime::{FutureType, Runtime};
use futures_lite::future;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const TASKS: usize = 10_000;

struct Plan {
    order: FutureType,
    yields: usize,
    panics: bool,
}

fn plan(seed: u64) -> Vec<Plan> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..TASKS)
        .map(|_| Plan {
            order: if rng.random_bool(0.5) {
                FutureType::High
            } else {
                FutureType::Low
            },
            yields: rng.random_range(0..=10),
            panics: rng.random_bool(0.01),
        })
        .collect()
}

#[test]
fn stress_ten_thousand_tasks_on_two_plus_two_workers() {
    // The expected panics would print 100 messages; keep every other panic's report.
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let boom = info
            .payload()
            .downcast_ref::<String>()
            .is_some_and(|m| m.starts_with("boom "));
        if !boom {
            default_hook(info);
        }
    }));

    // Run on another thread so a lost task fails the test instead of hanging it.
    let (done, finished) = mpsc::channel();
    thread::spawn(move || done.send(run_stress()));
    let result = finished
        .recv_timeout(Duration::from_secs(60))
        .expect("the stress run did not finish within 60 s");
    if let Err(message) = result {
        panic!("{message}");
    }
}

fn run_stress() -> Result<(), String> {
    let plans = plan(2024);
    let expected_panics = plans.iter().filter(|p| p.panics).count();
    assert!(expected_panics > 0 && expected_panics < TASKS / 20);
    let expected_polls: u64 = plans.iter().map(|p| p.yields as u64 + 1).sum();

    let handle = Runtime::new().with_high_num(2).with_low_num(2).build();
    let start = Instant::now();
    let tasks: Vec<_> = plans
        .iter()
        .enumerate()
        .map(|(i, plan)| {
            let (yields, panics) = (plan.yields, plan.panics);
            handle.spawn(
                async move {
                    for _ in 0..yields {
                        future::yield_now().await;
                    }
                    if panics {
                        panic!("boom {i}");
                    }
                    i
                },
                plan.order,
            )
        })
        .collect();
    // What `try_join!` does for each task, in spawn order.
    let results: Vec<_> = tasks
        .into_iter()
        .map(|task| panic::catch_unwind(AssertUnwindSafe(|| future::block_on(task))))
        .collect();
    let elapsed = start.elapsed();

    for (i, (result, plan)) in results.iter().zip(&plans).enumerate() {
        match (result, plan.panics) {
            (Ok(output), false) if *output == i => {}
            (Err(payload), true) => {
                let message = payload.downcast_ref::<String>();
                if message.map(String::as_str) != Some(&format!("boom {i}")) {
                    return Err(format!("task {i}: wrong panic payload {message:?}"));
                }
            }
            (Ok(output), _) => return Err(format!("task {i}: got Ok({output})")),
            (Err(_), false) => return Err(format!("task {i} panicked unexpectedly")),
        }
    }

    let stats = handle.stats();
    if stats.runs() != expected_polls {
        return Err(format!(
            "{} polls, expected {expected_polls} (one per yield plus one)",
            stats.runs()
        ));
    }
    if stats.steals() == 0 {
        return Err(format!("no worker stole a task: {stats:?}"));
    }
    if elapsed >= Duration::from_secs(2) {
        return Err(format!("took {elapsed:?}, expected under 2 s"));
    }

    // Once the work is done the workers park and stay parked.
    thread::sleep(Duration::from_millis(50));
    let before = handle.stats().idle_wakeups();
    thread::sleep(Duration::from_millis(200));
    let after = handle.stats().idle_wakeups();
    if after != before {
        return Err(format!("{} idle wake-ups with no work", after - before));
    }
    if !handle.shutdown(Duration::from_secs(10)) {
        return Err("workers did not exit after the handle was dropped".into());
    }
    Ok(())
}
