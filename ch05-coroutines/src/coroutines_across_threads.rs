//! `coroutines-across-threads`: a coroutine resumed on one thread, sent through a channel and
//! resumed on another (book section "Controlling Coroutines").
//!
//! A coroutine is an ordinary value: its paused state lives in the value, so it can be moved
//! anywhere a value can, another thread included, and carry on from where it stopped. The one
//! condition is the usual one for moving a value to another thread, `Send`: the compiler checks
//! that everything the coroutine holds may be sent (an `Rc` may not; see [`assert_send`]). `Sync`
//! is not involved, since only one thread holds the coroutine at a time.
//!
//! The demo resumes a seeded [`RandCoroutine`] twice on the main thread, sends it through an
//! `mpsc` channel together with two fresh ones, and a worker thread resumes each twice. The first
//! coroutine's values on the worker carry on its sequence: they equal those of an identically
//! seeded coroutine resumed four times on main. Main then drops the sender, which ends the worker's
//! loop, and joins it. A timeline shows every resume: the first row has bars on main, then on the
//! worker.
//!
//! Run it with `cargo run -p ch05 -- coroutines-across-threads [--seed S]` (default 7).
//!
//! How we differ from the book:
//!
//! - its channel carries `RandCoRoutine`, a misspelling that does not compile;
//! - it synchronises with two 1 s sleeps and never joins the worker, so what is printed depends on
//!   timing and `main` may return, ending the process, before the worker has printed anything.
//!   Ours drops the sender (the worker's `recv` then fails and its loop ends) and joins the worker,
//!   which returns what it saw. No sleeps;
//! - the prose calls coroutines thread-safe; they are `Send` exactly when what they hold is, and
//!   the compiler checks it at the channel.

use std::error::Error;
use std::pin::Pin;
use std::sync::mpsc;
use std::thread::{self, ThreadId};

use common::Timeline;
use common::demo::{Args, DemoResult};
use common::timeline::current_thread_name;

use crate::controlled_coroutines::RandCoroutine;
use crate::coroutine::{Coroutine, CoroutineState};

/// The book's listing, run to the end: a worker thread receives coroutines from a channel and
/// resumes each [`RESUMES`] times; main resumes coroutine 1 (seeded with `seed`) [`RESUMES`] times
/// first, then sends it and two fresh ones (seeds `seed + 1`, `seed + 2`), drops the sender and
/// joins the worker. Every resume is a span in row `coroutine N` of `timeline`.
pub fn send_across_threads(
    seed: u64,
    timeline: &Timeline,
) -> Result<Migration, Box<dyn Error + Send + Sync>> {
    // Book: the channel is typed `channel::<RandCoRoutine>()`, a misspelling of `RandCoroutine`
    // that does not compile.
    let (sender, receiver) = mpsc::channel::<RandCoroutine>();
    let worker_timeline = timeline.clone();
    let worker = thread::Builder::new().name("worker".into()).spawn(
        move || -> Result<Vec<Seen>, String> {
            let mut seen = Vec::new();
            // The book's `loop` + `match receiver.recv()`, breaking on `Err`: `recv` fails once
            // every sender has been dropped and the queue is empty.
            while let Ok(mut coroutine) = receiver.recv() {
                let label = format!("coroutine {}", seen.len() + 1);
                let values = resume_times(&mut coroutine, &label, &worker_timeline)?;
                seen.push(Seen {
                    values,
                    thread: current_thread_name(),
                    thread_id: thread::current().id(),
                });
            }
            Ok(seen)
        },
    )?;

    let mut first = RandCoroutine::new(seed);
    let on_main = resume_times(&mut first, "coroutine 1", timeline)?;

    // Book: two 1 s sleeps around the sends stand in for synchronisation; the channel needs
    // none, so ours has no sleeps.
    // A send fails only if the worker has already gone (it panicked); its join below says why.
    let sent = [
        first,
        RandCoroutine::new(seed.wrapping_add(1)),
        RandCoroutine::new(seed.wrapping_add(2)),
    ]
    .into_iter()
    .try_for_each(|coroutine| sender.send(coroutine));
    // Book: the sender lives to the end of `main` and the worker is never joined, so the process
    // may end before the worker has printed; ours drops the sender, which ends the worker's loop,
    // and joins the worker.
    drop(sender);
    let on_worker = worker.join().map_err(|_| "the worker thread panicked")??;
    sent.map_err(|_| "the worker stopped receiving")?;

    Ok(Migration {
        on_main,
        main_thread: current_thread_name(),
        main_thread_id: thread::current().id(),
        on_worker,
    })
}

/// How many times each coroutine is resumed on each side.
pub const RESUMES: usize = 2;

/// Resumes `coroutine` [`RESUMES`] times, each resume a span in row `label`; a `RandCoroutine`
/// never completes, so a `Complete` is an error.
fn resume_times(
    coroutine: &mut RandCoroutine,
    label: &str,
    timeline: &Timeline,
) -> Result<Vec<u8>, String> {
    let mut values = Vec::new();
    for _ in 0..RESUMES {
        let _span = timeline.span(label);
        match Pin::new(&mut *coroutine).resume(()) {
            CoroutineState::Yielded(result) => values.push(result),
            // Book: the worker panics with "Coroutine should not complete"; ours returns an error.
            CoroutineState::Complete(()) => return Err(format!("{label} completed")),
        }
    }
    Ok(values)
}

/// What the worker saw of one coroutine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Its yields on the worker.
    pub values: Vec<u8>,
    /// The worker's name.
    pub thread: String,
    /// The worker's id.
    pub thread_id: ThreadId,
}

/// What [`send_across_threads`] saw.
#[derive(Debug)]
pub struct Migration {
    /// Coroutine 1's yields on main, before it moved.
    pub on_main: Vec<u8>,
    /// The name of the thread that ran main's side.
    pub main_thread: String,
    /// Its id.
    pub main_thread_id: ThreadId,
    /// Each coroutine the worker received, in order.
    pub on_worker: Vec<Seen>,
}

/// The values a coroutine seeded with `seed` yields in `count` resumes on the current thread.
pub fn yields_here(seed: u64, count: usize) -> Vec<u8> {
    let mut coroutine = RandCoroutine::new(seed);
    (0..count)
        .map_while(|_| match Pin::new(&mut coroutine).resume(()) {
            CoroutineState::Yielded(value) => Some(value),
            CoroutineState::Complete(()) => None,
        })
        .collect()
}

/// Compiles only for a `T` that may be sent to another thread: the check that `mpsc::Sender::send`
/// and `thread::spawn` make on every coroutine moved across.
///
/// A coroutine holding an `Rc` (whose count is not thread-safe) cannot be sent:
///
/// ```compile_fail
/// use std::pin::Pin;
/// use std::rc::Rc;
/// use ch05::coroutine::{Coroutine, CoroutineState};
///
/// struct Shared(Rc<u8>);
/// impl Coroutine for Shared {
///     type Yield = u8;
///     type Return = ();
///     fn resume(self: Pin<&mut Self>, (): ()) -> CoroutineState<u8, ()> {
///         CoroutineState::Yielded(*self.0)
///     }
/// }
/// ch05::coroutines_across_threads::assert_send::<Shared>(); // E0277: `Rc<u8>` cannot be sent
/// ```
///
/// The same coroutine holding an `Arc` can:
///
/// ```
/// use std::pin::Pin;
/// use std::sync::Arc;
/// use ch05::coroutine::{Coroutine, CoroutineState};
///
/// struct Shared(Arc<u8>);
/// impl Coroutine for Shared {
///     type Yield = u8;
///     type Return = ();
///     fn resume(self: Pin<&mut Self>, (): ()) -> CoroutineState<u8, ()> {
///         CoroutineState::Yielded(*self.0)
///     }
/// }
/// ch05::coroutines_across_threads::assert_send::<Shared>();
/// ```
pub const fn assert_send<T: Send>() {}

// The demo's coroutine can cross threads: checked when the crate compiles.
const _: () = assert_send::<RandCoroutine>();

/// Runs the demo: `coroutines-across-threads [--seed S]`.
pub fn run(mut args: Args) -> DemoResult {
    let seed: u64 = args.value_or("seed", 7)?;
    args.finish()?;

    let timeline = Timeline::new();
    let migration = send_across_threads(seed, &timeline)?;
    let list = |values: &[u8]| {
        values
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "coroutine 1 resumed on {}: {}",
        migration.main_thread,
        list(&migration.on_main)
    );
    println!("sent coroutine 1 and two fresh ones through the channel");
    for (n, seen) in migration.on_worker.iter().enumerate() {
        println!(
            "coroutine {} resumed on {}: {}",
            n + 1,
            seen.thread,
            list(&seen.values)
        );
    }
    println!("sender dropped: the worker's loop ended and it was joined");

    let carried_on = migration
        .on_main
        .iter()
        .chain(migration.on_worker.first().map_or(&[][..], |s| &s.values))
        .copied()
        .collect::<Vec<u8>>();
    let here = yields_here(seed, carried_on.len());
    println!(
        "the same seed resumed {} times on one thread: {} ({})",
        here.len(),
        list(&here),
        if here == carried_on {
            "the same: the state travelled intact"
        } else {
            "DIFFERENT"
        }
    );
    if here != carried_on {
        return Err("the moved coroutine lost its state".into());
    }
    println!("\nevery resume (coroutine 1 starts on main and carries on on the worker):");
    print!("{}", timeline.render());

    #[cfg(feature = "nightly")]
    {
        let (moved, here) = crate::native::scheduling::counter_moved_to_worker(RESUMES)?;
        if moved != here {
            return Err("the moved native coroutine lost its state".into());
        }
        println!(
            "\nnightly: a native counter coroutine resumed on main and finished on a worker \
             yielded the same {} values as on one thread",
            moved.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_moved_coroutine_carries_on_its_sequence() {
        let timeline = Timeline::new();
        let migration = send_across_threads(11, &timeline).expect("the worker runs");
        assert_eq!(migration.on_worker.len(), 3, "the worker saw all three");
        let mut carried_on = migration.on_main.clone();
        carried_on.extend(&migration.on_worker[0].values);
        assert_eq!(carried_on, yields_here(11, 4));
        assert_eq!(migration.on_worker[1].values, yields_here(12, 2));
        assert_eq!(migration.on_worker[2].values, yields_here(13, 2));
    }

    #[test]
    fn the_worker_is_another_thread_and_ends_when_the_sender_drops() {
        let timeline = Timeline::new();
        // `send_across_threads` returns only after joining the worker, which ends only when its
        // `recv` fails: if dropping the sender did not end it, this test would hang here.
        let migration = send_across_threads(3, &timeline).expect("the worker runs");
        let worker = &migration.on_worker[0];
        assert_ne!(worker.thread_id, migration.main_thread_id);
        assert_eq!(worker.thread, "worker");
        assert_eq!(migration.main_thread_id, thread::current().id());
    }

    #[test]
    fn the_timeline_shows_coroutine_1_on_main_then_on_the_worker() {
        let timeline = Timeline::new();
        let migration = send_across_threads(5, &timeline).expect("the worker runs");
        let spans = timeline.spans();
        let first: Vec<&str> = spans
            .iter()
            .filter(|s| s.label == "coroutine 1")
            .map(|s| s.thread.as_str())
            .collect();
        let main = migration.main_thread.as_str();
        assert_eq!(first, [main, main, "worker", "worker"]);
        let threads: std::collections::BTreeSet<&str> =
            spans.iter().map(|s| s.thread.as_str()).collect();
        assert_eq!(threads.len(), 2);
        assert!(
            spans
                .iter()
                .filter(|s| s.label != "coroutine 1")
                .all(|s| s.thread == "worker")
        );
    }

    #[test]
    fn a_rand_coroutine_is_send() {
        assert_send::<RandCoroutine>();
        assert_send::<Migration>();
    }
}
