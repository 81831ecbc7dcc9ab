//! `fib-thread-timing`: one CPU-bound call versus four on four threads (book section "What Are
//! Threads?").
//!
//! Threads run CPU-bound work in parallel, one per core. The demo times one
//! [`fibonacci`](crate::fibonacci::fibonacci)`(n)` on the main thread, then four of them on four
//! threads. With at least four cores the four take about as long as one; with fewer cores they
//! take about `ceil(4 / cores)` times as long, because the cores are shared out.
//!
//! The second lesson is what `JoinHandle::join` gives back: `Ok(value)` with whatever the thread's
//! closure returned, or `Err(payload)` if the thread panicked, where the payload is the boxed value
//! the panic carried (`Box<dyn Any + Send>`), which can be downcast to the message.
//!
//! Run it with `cargo run -p ch01 -- fib-thread-timing [--n N]` (default n = 35: a fraction of a
//! second per call in a debug build). You will see both durations, the core count and the ratio you
//! should expect, a timeline (`alone` on `main`, then four bars on `fib-0` … `fib-3`), and finally
//! the `Err` that `join` returns for a thread that panics on purpose, with its message.
//!
//! How we differ from the book: `n = 50` takes minutes in a debug build, so we default to 35; the
//! threads are named and started with `thread::Builder` (a failed spawn is an error, not a panic);
//! we keep the values `join` returns instead of discarding them, and we add the panicking thread to
//! show the `Err` side of `join`.

use std::io;
use std::panic::{self, PanicHookInfo};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};
use common::timeline::{Timeline, format_duration};

use crate::fibonacci::{self, fibonacci};

/// The default `n`.
// Book: `fibonacci(50)` (40 s on the authors' laptop in release mode, minutes in debug); 35 gives
// the same picture in a fraction of a second.
pub const DEFAULT_N: u64 = 35;

/// How many threads share the work, as in the book.
pub const THREADS: usize = 4;

/// The name of the thread that panics on purpose.
pub const PANIC_THREAD: &str = "fib-panic";

/// What that thread panics with.
pub const PANIC_MESSAGE: &str = "fib-panic gave up before computing anything (on purpose)";

/// Times one `fibonacci(n)` on the current thread, recorded as the span `alone`.
pub fn time_alone(n: u64, timeline: &Timeline) -> (u64, Duration) {
    let start = Instant::now();
    let value = timeline.time("alone", || fibonacci(n));
    (value, start.elapsed())
}

/// Times `threads` calls of `fibonacci(n)`, one per thread (`fib-0`, `fib-1`, …), each recorded as
/// the span `thread i`.
///
/// Returns what each `join` gave back, in thread order, and the wall time from the first spawn to
/// the last join. A thread that could not be started is an `Err` (after joining the others).
pub fn time_threads(
    n: u64,
    threads: usize,
    timeline: &Timeline,
) -> io::Result<(Vec<thread::Result<u64>>, Duration)> {
    let start = Instant::now();
    let mut handles = Vec::with_capacity(threads);
    for index in 0..threads {
        let timeline = timeline.clone();
        // Book: `thread::spawn(|| fibonacci(50))`, which panics if the OS refuses a thread.
        let spawned = thread::Builder::new()
            .name(format!("fib-{index}"))
            .spawn(move || timeline.time(format!("thread {index}"), || fibonacci(n)));
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(e) => {
                for handle in handles {
                    let _ = handle.join();
                }
                return Err(e);
            }
        }
    }
    // `join(self)` consumes the handle, so each thread can be joined exactly once; that, not data
    // races, is why a `JoinHandle` is not `Clone`. What comes back is `thread::Result<u64>`, i.e.
    // `Result<u64, Box<dyn Any + Send>>`.
    let results = handles.into_iter().map(|h| h.join()).collect();
    Ok((results, start.elapsed()))
}

/// Starts a thread named [`PANIC_THREAD`] that panics with [`PANIC_MESSAGE`] instead of returning
/// a `u64`, and returns what joining it gives: always `Err(payload)`.
pub fn join_a_panicking_thread() -> io::Result<thread::Result<u64>> {
    let handle = thread::Builder::new()
        .name(PANIC_THREAD.to_string())
        .spawn(|| -> u64 {
            // `panic_any` makes the payload exactly this `&'static str`. (`panic!("literal")` also
            // carries a `&'static str`; `panic!("{x}")` carries a `String`; see `panic_message`.)
            panic::panic_any(PANIC_MESSAGE)
        })?;
    Ok(handle.join())
}

/// The message inside a panic payload (`common::panic::text`): panics carry a `&'static str` or a
/// `String` unless someone used `panic_any` with another type.
pub use common::panic::text as panic_message;

/// Runs `work` with panics on the thread named `quiet_thread` kept off stderr.
///
/// The panic hook is global to the process, so this is only for the demo's own path: `run` is
/// called once, from the binary, and the hook we install passes every other thread's panic on to
/// the previous hook unchanged, then the previous hook is put back. Tests do not come here: they
/// run in parallel threads of one process, where swapping the hook would race with other tests.
fn with_quiet_panics_on<T>(quiet_thread: &'static str, work: impl FnOnce() -> T) -> T {
    let previous = Arc::new(panic::take_hook());
    let fallback = Arc::clone(&previous);
    panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
        if thread::current().name() != Some(quiet_thread) {
            fallback(info);
        }
    }));
    let result = work();
    drop(panic::take_hook()); // our hook, and with it `fallback`
    if let Ok(previous) = Arc::try_unwrap(previous) {
        panic::set_hook(previous);
    }
    result
}

/// Runs the demo: `[--n N]`.
pub fn run(mut args: Args) -> DemoResult {
    let n = args.value_in("n", DEFAULT_N, 0..=fibonacci::MAX_N)?;
    args.finish()?;
    fibonacci::warn_if_slow(n);

    let timeline = Timeline::new();
    let (value, alone) = time_alone(n, &timeline);
    println!(
        "fibonacci({n}) = {value} alone on main: {}",
        format_duration(alone)
    );

    let (results, together) = time_threads(n, THREADS, &timeline)?;
    println!(
        "{THREADS} threads fibonacci({n}) took {}",
        format_duration(together)
    );
    for (index, result) in results.iter().enumerate() {
        match result {
            Ok(value) => println!("  fib-{index} joined: Ok({value})"),
            Err(payload) => println!(
                "  fib-{index} joined: Err({})",
                panic_message(payload.as_ref()).unwrap_or("a non-text panic payload")
            ),
        }
    }
    let ratio = together.as_secs_f64() / alone.as_secs_f64().max(f64::MIN_POSITIVE);
    match thread::available_parallelism() {
        Ok(cores) => println!(
            "{THREADS} calls took {ratio:.2}× one call; with {cores} core(s) expect about \
             ceil({THREADS} / {cores}) = {}×",
            THREADS.div_ceil(cores.get())
        ),
        Err(_) => println!("{THREADS} calls took {ratio:.2}× one call (core count unknown)"),
    }
    println!();
    print!("{}", timeline.render());

    println!();
    println!("Now a thread that panics instead of returning its u64:");
    // Without the quiet hook, the default hook would print "thread 'fib-panic' panicked at …" and
    // a backtrace hint on stderr the moment the thread panics, which reads like the demo failed.
    // Nothing is lost by silencing it: the message travels to the joining thread in the payload.
    let joined = with_quiet_panics_on(PANIC_THREAD, join_a_panicking_thread)?;
    match joined {
        Ok(value) => println!("  {PANIC_THREAD} joined: Ok({value}) (unexpected!)"),
        Err(payload) => println!(
            "  {PANIC_THREAD} joined: Err(payload); the payload downcasts to &str: {:?}",
            panic_message(payload.as_ref()).unwrap_or("(not text)")
        ),
    }
    println!("  (the panic ended that thread only; main carried on)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_threads_each_return_fibonacci_n_through_join() {
        let timeline = Timeline::new();
        let (results, elapsed) = time_threads(20, THREADS, &timeline).unwrap();
        let values: Vec<u64> = results.into_iter().map(Result::unwrap).collect();
        assert_eq!(values, [6765; THREADS]);
        assert!(elapsed > Duration::ZERO);

        let mut threads: Vec<String> = timeline.spans().into_iter().map(|s| s.thread).collect();
        threads.sort();
        assert_eq!(threads, ["fib-0", "fib-1", "fib-2", "fib-3"]);
    }

    #[test]
    fn alone_runs_on_the_calling_thread() {
        let timeline = Timeline::new();
        let (value, _) = time_alone(20, &timeline);
        assert_eq!(value, 6765);
        let spans = timeline.spans();
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].label, "alone");
        assert_eq!(spans[0].thread, common::timeline::current_thread_name());
    }

    // The default panic hook prints this thread's panic into the captured test output; we do not
    // swap the hook here (see `with_quiet_panics_on`).
    #[test]
    fn join_of_a_panicking_thread_is_err_with_the_message_as_payload() {
        let payload = join_a_panicking_thread().unwrap().unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&PANIC_MESSAGE));
        assert_eq!(panic_message(payload.as_ref()), Some(PANIC_MESSAGE));
    }

    #[test]
    fn panic_message_reads_str_and_string_payloads_only() {
        let text: Box<dyn std::any::Any + Send> = Box::new("static");
        let owned: Box<dyn std::any::Any + Send> = Box::new(String::from("owned"));
        let number: Box<dyn std::any::Any + Send> = Box::new(42_u32);
        assert_eq!(panic_message(text.as_ref()), Some("static"));
        assert_eq!(panic_message(owned.as_ref()), Some("owned"));
        assert_eq!(panic_message(number.as_ref()), None);
    }

    #[test]
    fn bad_n_is_a_usage_error() {
        for bad in ["94", "abc", "-1"] {
            let err = run(Args::from_iter(["--n", bad])).unwrap_err();
            assert!(err.is::<common::demo::UsageError>(), "--n {bad}: {err}");
        }
    }
}
