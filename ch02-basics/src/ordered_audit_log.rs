//! `ordered-audit-log` (book section "Putting It All Together › Ensuring Order in Asynchronous
//! Operations"): one writer task per file, fed through a queue, so lines land in the order they
//! were logged.
//!
//! `audit-logger` spawns a task per line, and the tasks race for the file's lock: the file ends up
//! in whatever order they won. The book's answer, given in prose only, is one queue with a single
//! consumer. Here the queue is a bounded `tokio::sync::mpsc` channel. [`AuditLog::open`] opens the
//! file and spawns the consumer, a task that owns a `tokio::io::BufWriter` over the file and writes
//! the lines in the order the channel delivers them. It returns two values: an [`AuditLog`], a
//! cheap, cloneable handle whose [`AuditLog::log`] queues a line, and an [`AuditWriter`], whose
//! [`AuditWriter::finish`] closes the queue, lets the task write what is still queued, flush, and
//! report how many lines it wrote, or the first error.
//!
//! A channel keeps the order of the messages each sender sends, so every producer's lines stay in
//! the order *it* logged them; lines from two producers interleave in the order they reached the
//! queue, which is the order of the calls as far as anybody can tell. While the queue is empty the
//! writer is not polled at all: the receiver has handed its waker to the channel, and the next
//! `send` wakes it. When the queue is full, `log` waits, so a fast producer cannot outrun the disk
//! by more than [`QUEUE_CAPACITY`] lines.
//!
//! Run it with `cargo run -p ch02 -- ordered-audit-log [--dir DIR]` (`--dir` as in `audit-logger`:
//! an existing directory, appended to). The six names of `audit-logger` go to `login.txt` and
//! `logout.txt`, this time in exactly the order they were logged; then two producer tasks, `alice`
//! and `bob`, log four lines each into `events.txt` at different paces. You will see the files, a
//! check of each producer's order, and a timeline with a row per producer (one mark per `log`) and
//! a `writer` row (one mark per line written) whose gaps are the writer asleep.
//!
//! How we differ from the book: the sidebar puts a queue behind a `Mutex` and has one future check
//! it "on every poll"; a future that must be polled to notice new work has to keep waking itself,
//! which is a busy-poll. A channel does the checking with a waker instead (see the `// Book:` note
//! in `write_lines`).

use std::io;
use std::path::Path;
use std::time::Duration;

use common::demo::{Args, DemoResult};
use common::timeline::Timeline;
use tokio::fs::File;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::log_dir::{LogDir, dir_arg};

/// How many lines may wait in the queue before [`AuditLog::log`] waits for the writer.
pub const QUEUE_CAPACITY: usize = 32;

/// A handle for logging lines into one file, in order. Clone it to log from several tasks.
#[derive(Debug, Clone)]
pub struct AuditLog {
    sender: mpsc::Sender<String>,
}

/// The task that writes an [`AuditLog`]'s file; [`AuditWriter::finish`] ends it and reports.
///
/// Dropping it without calling `finish` closes the queue too: lines already queued are still
/// written and flushed, but nobody learns whether that worked.
#[derive(Debug)]
pub struct AuditWriter {
    close: oneshot::Sender<()>,
    task: JoinHandle<io::Result<usize>>,
}

impl AuditLog {
    /// Opens `path` for appending (creating it if needed) and spawns its writer task.
    ///
    /// Call it inside a tokio runtime: outside one there is nowhere to spawn the writer, and that
    /// is an error. The file is opened right here, with one short blocking call, so a path that
    /// cannot be opened (a missing directory, say) is reported before any line is logged.
    pub fn open(path: impl AsRef<Path>) -> io::Result<(AuditLog, AuditWriter)> {
        AuditLog::open_with(path.as_ref(), None)
    }

    /// Queues `line` (a newline is added when it is written). Waits only while the queue is full.
    ///
    /// An error means the writer has stopped (a write failed, or [`AuditWriter::finish`] was
    /// called) and the line was not queued; `finish` returns the write error, if there was one.
    pub async fn log(&self, line: impl Into<String>) -> io::Result<()> {
        self.sender.send(line.into()).await.map_err(|_| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the audit writer has stopped; its `finish` says why",
            )
        })
    }
}

impl AuditWriter {
    /// Closes the queue (later [`AuditLog::log`] calls fail), waits for the writer to write the
    /// lines still queued and flush the file, and returns how many lines it wrote, or the first
    /// write error.
    pub async fn finish(self) -> io::Result<usize> {
        // An error here means the writer has already stopped, which the task's result explains.
        let _ = self.close.send(());
        match self.task.await {
            Ok(result) => result,
            Err(join_error) => Err(io::Error::other(join_error)),
        }
    }
}

/// The writer task: takes lines from the queue in order and appends them to `file`.
///
/// Returns when the queue is closed and empty (every [`AuditLog`] dropped, or `close` fired and
/// the lines already queued are written), or at the first write error. Lines are buffered, and
/// the buffer is flushed (handed to the operating system, not synced to disk) whenever the queue
/// runs dry, so the file of an idle log is up to date, and once more at the end. With `trace`, each line written is a span in that timeline row.
async fn write_lines(
    mut lines: mpsc::Receiver<String>,
    mut close: oneshot::Receiver<()>,
    file: File,
    trace: Option<(Timeline, String)>,
) -> io::Result<usize> {
    let mut out = BufWriter::new(file);
    let mut written = 0;
    let mut closing = false;
    loop {
        // Book: the sidebar's future checks a mutex-guarded queue "on every poll", which only
        // works if it keeps waking itself, a busy-poll; `recv` hands its waker to the channel and
        // this task sleeps until a line arrives (or the queue closes).
        let line = tokio::select! {
            line = lines.recv() => line,
            // `finish` was called (or the `AuditWriter` dropped): refuse new lines, keep draining.
            _ = &mut close, if !closing => {
                closing = true;
                lines.close();
                continue;
            }
        };
        let Some(line) = line else { break };
        let _span = trace.as_ref().map(|(timeline, row)| timeline.span(row));
        out.write_all(line.as_bytes()).await?;
        out.write_all(b"\n").await?;
        written += 1;
        if lines.is_empty() {
            out.flush().await?;
        }
    }
    out.flush().await?;
    Ok(written)
}

/// Runs the demo: `ordered-audit-log [--dir DIR]`.
pub fn run(mut args: Args) -> DemoResult {
    let dir = dir_arg(&mut args)?;
    args.finish()?;
    let dir = LogDir::new(dir)?;
    println!("{}", dir.describe());

    let runtime = crate::units::multi_thread(2)?;
    let timeline = Timeline::new();
    runtime.block_on(demo(dir.path(), &timeline))?;
    drop(runtime);

    println!(
        "\none row per producer (a mark per `log`), one for the writer (a mark per line):\n{}",
        timeline.render()
    );
    dir.close()?;
    Ok(())
}

/// The producers of `events.txt`: name, pause before each line, and how many lines.
const PRODUCERS: [(&str, Duration, usize); 2] = [
    ("alice", Duration::from_millis(2), 4),
    ("bob", Duration::from_millis(3), 4),
];

async fn demo(dir: &Path, timeline: &Timeline) -> io::Result<()> {
    // The six names of `audit-logger`, through one queue per file.
    let (login, login_writer) = AuditLog::open(dir.join("login.txt"))?;
    let (logout, logout_writer) = AuditLog::open(dir.join("logout.txt"))?;
    let names = ["one", "two", "three", "four", "five", "six"];
    for name in names {
        // Each `log` is awaited before the next: one producer per queue, so the order holds.
        // (A task per line, as `write_log` spawned, would race for the queue instead of the lock.)
        login.log(name).await?;
        logout.log(name).await?;
    }
    drop((login, logout));
    let login_lines = login_writer.finish().await?;
    let logout_lines = logout_writer.finish().await?;
    println!("\nlogin.txt: {login_lines} lines written, logout.txt: {logout_lines}");
    for file in ["login.txt", "logout.txt"] {
        let contents = tokio::fs::read_to_string(dir.join(file)).await?;
        let lines: Vec<&str> = contents.lines().collect();
        let in_order = lines.ends_with(&names);
        println!(
            "{file}: {} ({})",
            lines.join(", "),
            if in_order {
                "the order they were logged"
            } else {
                "NOT the order they were logged"
            }
        );
    }

    // Two producers sharing one queue, at different paces.
    let (events, events_writer) =
        AuditLog::open_with(&dir.join("events.txt"), Some((timeline, "writer")))?;
    let mut producers = Vec::new();
    for (who, pause, count) in PRODUCERS {
        let events = events.clone();
        let timeline = timeline.clone();
        producers.push(tokio::spawn(async move {
            for i in 1..=count {
                tokio::time::sleep(pause).await;
                timeline
                    .time_async(who, events.log(format!("{who} {i}")))
                    .await?;
            }
            io::Result::Ok(())
        }));
    }
    drop(events);
    for producer in producers {
        producer.await.map_err(io::Error::other)??;
    }
    let event_lines = events_writer.finish().await?;
    let contents = tokio::fs::read_to_string(dir.join("events.txt")).await?;
    println!("\nevents.txt ({event_lines} lines written):");
    for line in contents.lines() {
        println!("  {line}");
    }
    for (who, _, count) in PRODUCERS {
        let mine: Vec<&str> = contents.lines().filter(|l| l.starts_with(who)).collect();
        let expected: Vec<String> = (1..=count).map(|i| format!("{who} {i}")).collect();
        let verdict = if mine.ends_with(&expected.iter().map(String::as_str).collect::<Vec<_>>()) {
            "in the order logged"
        } else {
            "OUT OF ORDER"
        };
        println!("{who}'s lines: {verdict}");
    }
    Ok(())
}

impl AuditLog {
    /// [`AuditLog::open`], optionally recording each line the writer writes in a timeline row.
    fn open_with(
        path: &Path,
        trace: Option<(&Timeline, &str)>,
    ) -> io::Result<(AuditLog, AuditWriter)> {
        let runtime = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let (close, close_signal) = oneshot::channel();
        let trace = trace.map(|(timeline, row)| (timeline.clone(), row.to_string()));
        let task = runtime.spawn(write_lines(
            receiver,
            close_signal,
            File::from_std(file),
            trace,
        ));
        Ok((AuditLog { sender }, AuditWriter { close, task }))
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use tokio::time::timeout;

    use super::*;

    /// A watchdog for anything that could hang on a regression: generous, since CI runs these
    /// tests under valgrind, 20-50 times slower.
    const LIMIT: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn one_producers_hundred_lines_land_in_order_and_finish_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.txt");
        let (log, writer) = AuditLog::open(&path).unwrap();
        let written = timeout(LIMIT, async move {
            // 100 lines through a 32-line queue: `log` has to wait for the writer now and then.
            for i in 0..100 {
                log.log(format!("line {i}")).await.unwrap();
            }
            drop(log);
            writer.finish().await
        })
        .await
        .expect("the log did not finish in time")
        .unwrap();

        assert_eq!(written, 100);
        let expected: Vec<String> = (0..100).map(|i| format!("line {i}")).collect();
        let contents = fs::read_to_string(&path).unwrap();
        assert!(contents.ends_with('\n'));
        assert_eq!(contents.lines().collect::<Vec<_>>(), expected);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_producers_lines_each_keep_their_own_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.txt");
        let (log, writer) = AuditLog::open(&path).unwrap();
        let written = timeout(LIMIT, async move {
            let producers: Vec<_> = ["a", "b"]
                .into_iter()
                .map(|who| {
                    let log = log.clone();
                    tokio::spawn(async move {
                        for i in 0..50 {
                            log.log(format!("{who} {i}")).await.unwrap();
                        }
                    })
                })
                .collect();
            drop(log);
            for producer in producers {
                producer.await.unwrap();
            }
            writer.finish().await
        })
        .await
        .expect("the log did not finish in time")
        .unwrap();

        assert_eq!(written, 100);
        let contents = fs::read_to_string(&path).unwrap();
        assert_eq!(contents.lines().count(), 100);
        for who in ["a", "b"] {
            let mine: Vec<&str> = contents
                .lines()
                .filter(|l| l.starts_with(&format!("{who} ")))
                .collect();
            let expected: Vec<String> = (0..50).map(|i| format!("{who} {i}")).collect();
            assert_eq!(mine, expected, "producer {who}");
        }
    }

    #[tokio::test]
    async fn a_target_that_cannot_be_opened_is_an_error_from_open() {
        let dir = tempfile::tempdir().unwrap();
        let missing = AuditLog::open(dir.path().join("missing").join("audit.txt")).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        // A directory cannot be opened for writing.
        assert!(AuditLog::open(dir.path()).is_err());
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_target_that_refuses_writes_is_an_error_from_finish() {
        // `/dev/full` opens fine and fails every write with "no space left on device".
        let (log, writer) = AuditLog::open("/dev/full").unwrap();
        let result = timeout(LIMIT, async move {
            log.log("lost").await.unwrap(); // queued: the writer has not failed yet
            drop(log);
            writer.finish().await
        })
        .await
        .expect("the log did not finish in time");
        let err = result.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull, "{err}");
    }

    #[test]
    fn open_outside_a_runtime_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        assert!(AuditLog::open(dir.path().join("audit.txt")).is_err());
    }

    #[tokio::test]
    async fn finish_does_not_wait_for_forgotten_clones_and_later_lines_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.txt");
        let (log, writer) = AuditLog::open(&path).unwrap();
        let kept = log.clone();
        let written = timeout(LIMIT, async move {
            log.log("before").await.unwrap();
            writer.finish().await // `log` and `kept` are both still alive
        })
        .await
        .expect("finish waited for the handles to drop")
        .unwrap();

        assert_eq!(written, 1);
        let err = kept.log("after").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(fs::read_to_string(&path).unwrap(), "before\n");
    }

    #[tokio::test]
    async fn an_idle_writer_has_flushed_what_it_was_given() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.txt");
        let (log, writer) = AuditLog::open(&path).unwrap();
        for line in ["one", "two", "three"] {
            log.log(line).await.unwrap();
        }
        // No `finish` yet: the lines reach the file once the writer has emptied the queue.
        timeout(LIMIT, async {
            while fs::read_to_string(&path).unwrap() != "one\ntwo\nthree\n" {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
        .expect("the lines never reached the file before finish");
        drop(log);
        assert_eq!(writer.finish().await.unwrap(), 3);
    }

    #[test]
    fn run_writes_the_files_in_order_into_a_given_directory() {
        let dir = tempfile::tempdir().unwrap();
        run(Args::from_iter(["--dir", dir.path().to_str().unwrap()])).unwrap();
        let read = |file: &str| fs::read_to_string(dir.path().join(file)).unwrap();
        assert_eq!(read("login.txt"), "one\ntwo\nthree\nfour\nfive\nsix\n");
        assert_eq!(read("logout.txt"), "one\ntwo\nthree\nfour\nfive\nsix\n");
        assert_eq!(read("events.txt").lines().count(), 8);
    }
}
