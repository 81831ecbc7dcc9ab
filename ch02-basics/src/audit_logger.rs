//! `audit-logger` (book section "Putting It All Together"): a hand-written future behind a plain
//! function gives callers a fire-and-forget logging API, and concurrent writes land in no fixed order.
//!
//! The pieces are the chapter's own. [`AsyncWriteFuture`] is a future written by hand: each poll
//! tries the file's mutex with `try_lock`; if another task holds it, the future asks to be polled
//! again (`wake_by_ref`) and returns `Pending`, otherwise it appends its entry and returns
//! `Ready`. [`write_log`] spawns that future as a tokio task and hands back the `JoinHandle`, so a
//! caller writes one line of code and may await the outcome later, or never. [`log_names`] is the
//! book's `main`: six names, each written to `login.txt` and to `logout.txt` by its own task.
//!
//! Run it with `cargo run -p ch02 -- audit-logger [--dir DIR]`. The 12 tasks run on a runtime
//! with two workers, `worker-1` and `worker-2`. You will see a `written for:` line per write, now
//! and then an `error for …` line where a task found the file locked and retried, both files as
//! they ended up (the names in a different order from run to run), and a timeline with one row
//! per write and one mark per poll, drawn with the letter of the worker that ran it. The files go
//! to a fresh temporary directory, removed at the end, or to `DIR`, which must already exist
//! (lines are appended to whatever it holds).
//!
//! How we differ from the book:
//! - every entry ends with a newline (`writeln!`), so the file is the list of names the book
//!   shows, not one run-on line;
//! - a write error is the task's result, `io::Result<()>`, instead of a printed message followed
//!   by `Ok(true)`;
//! - [`open_log`] returns an error instead of panicking, and opens with `create` + `append` in one
//!   call (the book's `get_handle` tries to append, and on *any* failure truncates with `create`);
//! - the files go to a temporary directory, not the current one.
//!
//! Two things we keep because they are the lesson, but would not ship: `try_lock` plus an
//! immediate self-wake is a busy retry (the waiting task is polled again and again until the lock
//! is free, as in `shared-counter-futures`; `lock-retry-cost` measures it), and `write_all` is a
//! blocking system call made inside `poll`, on a worker thread. Real code would queue the lines
//! for one writer (`ordered-audit-log`) or use `tokio::fs`.
//!
//! [`write_log`] is *eager*: the book's prose says it behaves like an async function, but an
//! `async fn` does nothing until awaited, while a spawned task runs whether or not anybody awaits
//! its handle. The tests show both.

// Book: the dependency block asks for tokio `"1..39.0"`, which is not a valid version requirement;
// the workspace pins tokio 1.54 and futures-util 0.3.34 instead.
use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::{self, Write};
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, TryLockError};
use std::task::{Context, Poll};

use common::demo::{Args, DemoResult};
use common::timeline::{CountPolls, Timeline};
use futures_util::future::join_all;
use tokio::task::JoinHandle;

use crate::log_dir::{LogDir, dir_arg};

/// A log file shared by every task that writes to it; the mutex lets one task write at a time.
pub type AsyncFileHandle = Arc<Mutex<File>>;

/// What [`write_log`] hands back: the spawned write, which ends with its own result.
// Book: `JoinHandle<Result<bool, String>>`, whose `Ok(true)` came back even when the write had
// failed; ours carries the write's real `io::Result<()>`.
pub type FileJoinHandle = JoinHandle<io::Result<()>>;

/// Opens `path` for appending, creating it if it does not exist (the book's `get_handle`).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// assert!(ch02::audit_logger::open_log(dir.path().join("login.txt")).is_ok());
/// assert!(ch02::audit_logger::open_log(dir.path().join("no/such/dir/login.txt")).is_err());
/// ```
// Book: `get_handle(&dyn ToString)` tries `append(true).open`, falls back on any error to
// `File::create` (which truncates) and unwraps that, so a missing directory was a panic; ours
// asks for create + append in one call and returns the error.
pub fn open_log(path: impl AsRef<Path>) -> io::Result<AsyncFileHandle> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    Ok(Arc::new(Mutex::new(file)))
}

/// One log entry on its way into a file: a future that writes `entry` once it gets the lock.
pub struct AsyncWriteFuture {
    /// The file to append to.
    pub handle: AsyncFileHandle,
    /// The line to write (without its newline).
    pub entry: String,
}

impl Future for AsyncWriteFuture {
    // Book: `Result<bool, String>`; ours is the write's own result.
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut guard = match self.handle.try_lock() {
            Ok(guard) => guard,
            Err(error @ TryLockError::WouldBlock) => {
                println!("error for {} : {error}", self.entry);
                // Another task holds the file. Asking to be polled again at once is a busy retry:
                // fine for a lock held for one short write, wrong for a long wait.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            // Book: a poisoned lock was treated like a busy one, so the task would retry forever;
            // a panic in another writer leaves the `File` usable, so we take it and go on.
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        };
        // Kept from the book: the write is a blocking system call inside `poll`, short, but the
        // worker waits for it.
        // Book: `format!("{}", entry)` adds no newline, so all entries ran together on one line.
        let result = writeln!(guard, "{}", self.entry);
        // Book: the guard lived to the end of `poll`, so the lock was held while printing too.
        drop(guard);
        // Book: a failed write was printed and then reported as `Ok(true)`; ours returns the error.
        if result.is_ok() {
            println!("written for: {}", self.entry);
        }
        Poll::Ready(result)
    }
}

/// Appends `line` to the file behind `file_handle` in a new tokio task; the write starts at once.
///
/// Must be called inside a tokio runtime (it spawns). Await the handle to learn how the write
/// went, or drop it: the task still runs.
// Book: the prose says this "behaves like an async function"; it does not: spawning starts the
// write straight away, even if the handle is never awaited, while an `async fn` does nothing until
// awaited (the tests `dropped_write_log_handle_still_writes` and `unawaited_async_fn_writes_nothing`).
pub fn write_log(file_handle: AsyncFileHandle, line: String) -> FileJoinHandle {
    let future = AsyncWriteFuture {
        handle: file_handle,
        entry: line,
    };
    // Book: spawns `async move { future.await }`, a wrapper that adds nothing; the future itself
    // is spawned here.
    tokio::task::spawn(future)
}

/// The book's `main`: six names, each written to `login.txt` and `logout.txt` in `dir` by a task
/// of its own; returns each write's result, in the order the tasks were spawned (login one,
/// logout one, login two, …).
///
/// Every write is recorded in `timeline`, one span per poll, in a row named after its file and
/// name (`login one`), so the chart shows the retries and which worker ran each poll. Returns
/// `Err` only if a file cannot be opened.
// Book: the files are `login.txt` and `logout.txt` in the current directory; ours are in `dir`.
pub async fn log_names(dir: &Path, timeline: &Timeline) -> io::Result<Vec<io::Result<()>>> {
    let login_handle = open_log(dir.join("login.txt"))?;
    let logout_handle = open_log(dir.join("logout.txt"))?;

    let names = ["one", "two", "three", "four", "five", "six"];
    let mut handles = Vec::new();

    for name in names {
        let file_handle = login_handle.clone();
        let file_handle_two = logout_handle.clone();
        // Book: calls `write_log`; `write_log_traced` is the same spawn plus a span per poll, for
        // the chart.
        let handle = write_log_traced(file_handle, name, timeline, format!("login {name}"));
        let handle_two =
            write_log_traced(file_handle_two, name, timeline, format!("logout {name}"));
        handles.push(handle);
        handles.push(handle_two);
    }
    // Book: `let _ = join_all(handles).await;` throws every result away; ours returns them, and a
    // task that panicked becomes an error too.
    let results = join_all(handles).await;
    Ok(results
        .into_iter()
        .map(|joined| joined.unwrap_or_else(|e| Err(io::Error::other(e))))
        .collect())
}

/// Runs the demo: `audit-logger [--dir DIR]`.
pub fn run(mut args: Args) -> DemoResult {
    let dir = dir_arg(&mut args)?;
    args.finish()?;
    let dir = LogDir::new(dir)?;
    println!("{}", dir.describe());

    let runtime = crate::units::multi_thread(2)?;
    let timeline = Timeline::new();
    let results = runtime.block_on(log_names(dir.path(), &timeline))?;
    drop(runtime);

    let failed: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(|e| e.to_string())
        .collect();
    let polls = timeline.spans().len();
    println!(
        "\n{} writes finished with {polls} polls, so {} lock retries",
        results.len(),
        polls.saturating_sub(results.len())
    );
    for name in ["login.txt", "logout.txt"] {
        let contents = std::fs::read_to_string(dir.path().join(name))?;
        let lines: Vec<&str> = contents.lines().collect();
        println!("\n{name}: {}", lines.join(", "));
    }
    println!(
        "(each file holds the six names in the order the tasks got the lock, not the order they were spawned)"
    );
    println!(
        "\none row per write, one mark per poll:\n{}",
        timeline.render()
    );
    dir.close()?;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("{} writes failed: {}", failed.len(), failed.join("; ")).into())
    }
}

/// [`write_log`] with each poll of the write recorded in `timeline`, row `row` (for the chart).
pub fn write_log_traced(
    file_handle: AsyncFileHandle,
    line: &str,
    timeline: &Timeline,
    row: String,
) -> FileJoinHandle {
    let future = AsyncWriteFuture {
        handle: file_handle,
        entry: line.to_string(),
    };
    tokio::task::spawn(CountPolls::new(future).recording(timeline, row))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::fs;
    use std::time::Duration;

    use tokio::task::yield_now;
    use tokio::time::timeout;

    use super::*;
    use crate::wake_signal::WakeSignal;

    /// A watchdog for anything that could hang on a regression: generous, since CI runs these
    /// tests under valgrind, 20-50 times slower.
    const LIMIT: Duration = Duration::from_secs(60);

    const NAMES: [&str; 6] = ["one", "two", "three", "four", "five", "six"];

    fn read(path: &Path) -> String {
        fs::read_to_string(path).unwrap()
    }

    /// The same write as [`write_log`], as an `async fn`: lazy where `write_log` is eager.
    async fn write_log_async(file_handle: AsyncFileHandle, line: String) -> io::Result<()> {
        AsyncWriteFuture {
            handle: file_handle,
            entry: line,
        }
        .await
    }

    #[test]
    fn twelve_writes_on_two_workers_all_succeed_and_each_file_holds_the_six_names() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = crate::units::multi_thread(2).unwrap();
        let timeline = Timeline::new();
        let results = runtime
            .block_on(async { timeout(LIMIT, log_names(dir.path(), &timeline)).await })
            .expect("the writes did not finish in time")
            .unwrap();

        assert_eq!(results.len(), 12);
        for (i, result) in results.iter().enumerate() {
            assert!(result.is_ok(), "write {i}: {result:?}");
        }
        let expected: BTreeSet<&str> = NAMES.into_iter().collect();
        for file in ["login.txt", "logout.txt"] {
            let contents = read(&dir.path().join(file));
            assert!(contents.ends_with('\n'), "{file}: {contents:?}");
            let lines: Vec<&str> = contents.lines().collect();
            assert_eq!(lines.len(), 6, "{file}: {contents:?}");
            assert_eq!(lines.iter().copied().collect::<BTreeSet<_>>(), expected);
        }
        // Every write was polled at least once, every poll on one of the two named workers.
        let spans = timeline.spans();
        let rows: BTreeSet<&str> = spans.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(rows.len(), 12, "{rows:?}");
        assert!(
            spans
                .iter()
                .all(|s| s.thread == "worker-1" || s.thread == "worker-2"),
            "{spans:?}"
        );
    }

    #[test]
    fn a_poll_while_the_test_holds_the_lock_is_pending_and_wakes_once_then_the_next_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("login.txt");
        let handle = open_log(&path).unwrap();
        let mut future = AsyncWriteFuture {
            handle: handle.clone(),
            entry: "one".to_string(),
        };
        let signal = WakeSignal::new();
        let waker = signal.waker();
        let mut cx = Context::from_waker(&waker);

        let guard = handle.lock().unwrap();
        assert!(Pin::new(&mut future).poll(&mut cx).is_pending());
        assert_eq!(signal.wakes(), 1, "Pending must arrange its own wake-up");
        assert_eq!(read(&path), "", "nothing is written while the lock is held");
        drop(guard);

        let poll = Pin::new(&mut future).poll(&mut cx);
        assert!(matches!(poll, Poll::Ready(Ok(()))), "{poll:?}");
        assert_eq!(signal.wakes(), 1, "Ready needs no wake");
        assert_eq!(read(&path), "one\n");
    }

    #[test]
    fn open_log_in_a_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = open_log(dir.path().join("missing").join("login.txt")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn open_log_appends_to_an_existing_file_instead_of_truncating_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("login.txt");
        fs::write(&path, "zero\n").unwrap();
        let handle = open_log(&path).unwrap();
        let mut future = AsyncWriteFuture {
            handle,
            entry: "one".to_string(),
        };
        let poll = Pin::new(&mut future).poll(&mut Context::from_waker(std::task::Waker::noop()));
        assert!(matches!(poll, Poll::Ready(Ok(()))), "{poll:?}");
        assert_eq!(read(&path), "zero\none\n");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_write_to_a_file_opened_read_only_returns_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("read-only.txt");
        fs::write(&path, "").unwrap();
        // A read-only descriptor refuses writes even for root, unlike file permissions.
        let handle: AsyncFileHandle = Arc::new(Mutex::new(File::open(&path).unwrap()));

        let result = timeout(LIMIT, write_log(handle, "denied".to_string()))
            .await
            .expect("the write did not finish in time")
            .expect("the task did not panic");
        assert!(result.is_err(), "{result:?}");
        assert_eq!(read(&path), "");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn dropped_write_log_handle_still_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("login.txt");
        let handle = open_log(&path).unwrap();

        drop(write_log(handle, "eager".to_string()));
        // On this one-thread runtime the task runs when the test yields; a few yields are plenty.
        let mut yields = 0;
        while read(&path).is_empty() && yields < 100 {
            yield_now().await;
            yields += 1;
        }
        assert_eq!(read(&path), "eager\n", "after {yields} yields");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn unawaited_async_fn_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("login.txt");
        let handle = open_log(&path).unwrap();

        let lazy = write_log_async(handle, "lazy".to_string());
        for _ in 0..10 {
            yield_now().await;
        }
        assert_eq!(read(&path), "", "an async fn does nothing until awaited");

        timeout(LIMIT, lazy)
            .await
            .expect("the write did not finish in time")
            .unwrap();
        assert_eq!(read(&path), "lazy\n");
    }

    #[test]
    fn run_writes_into_a_given_directory_and_refuses_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let given = dir.path().to_str().unwrap();
        run(Args::from_iter(["--dir", given])).unwrap();
        assert_eq!(read(&dir.path().join("login.txt")).lines().count(), 6);
        assert_eq!(read(&dir.path().join("logout.txt")).lines().count(), 6);

        let missing = dir.path().join("missing");
        let err = run(Args::from_iter(["--dir", missing.to_str().unwrap()])).unwrap_err();
        assert!(err.is::<common::demo::UsageError>(), "{err}");
        assert!(err.to_string().contains("no such directory"), "{err}");
        assert!(!missing.exists());
    }
}
