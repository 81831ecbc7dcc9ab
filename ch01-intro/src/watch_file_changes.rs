//! `watch-file-changes`: a polling task and a `watch` channel wake a reader when a file changes
//! (book section "Using Async for File I/O").
//!
//! Two pieces cooperate without spinning. A background tokio *task* (not a thread) checks the
//! file's modification time every few milliseconds, sleeping with tokio's `sleep` in between so the
//! worker thread is free meanwhile; when the time differs from the last one it saw, it bumps a
//! counter in a `tokio::sync::watch` channel. The main loop sleeps on `changed()` and reads the
//! file only when told. A watch channel keeps just the latest value, which is all "something
//! changed" needs.
//!
//! Run it with `cargo run -p ch01 -- watch-file-changes [--interval-ms I]` (default 50). Instead of
//! asking you to edit a file by hand, the demo creates `data.txt` containing `first` in a temporary
//! directory, and a scripted writer task saves `second`, then `third`, 200 ms apart (each after the
//! reader has printed the previous one). You will see the three contents, each with the time it
//! arrived, then the writer tells the watcher to stop, the watcher's sender drops, `changed()`
//! returns `Err` and the loop ends: about half a second in all.
//!
//! How we differ from the book:
//! - the book's watcher sends `()` into a `watch::Sender<bool>`, which does not compile; ours sends
//!   a change counter (`watch::Sender<u64>`);
//! - `modified().unwrap()` would panic where the platform has no modification times; ours says so
//!   and stops watching; a missing file is simply not an event;
//! - the book ignores the result of `changed()`, so once the watcher stops the loop spins, re-reading
//!   the file as fast as it can; ours ends the loop on `Err`;
//! - the file lives in a temporary directory, passed as an argument, not `data.txt` in the working
//!   directory, and the watcher can be told to stop.
//!
//! Polling has a blind spot worth knowing: two saves within one tick of the file system's timestamp
//! look like one (the last test below shows it). Our writer sets distinct modification times with
//! `File::set_modified` so the demo never depends on that granularity. Real programs that need
//! every change use the operating system's notifications (the `notify` crate wraps them).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::demo::{Args, DemoResult};
use common::timeline::format_duration;
use tokio::fs::File as AsyncFile;
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, sleep};

/// The default polling interval, in milliseconds (the book polls every 100 ms).
pub const DEFAULT_INTERVAL_MS: u64 = 50;

/// How long the scripted writer waits, after the reader has printed, before its next save.
pub const WRITER_GAP: Duration = Duration::from_millis(200);

/// What `data.txt` contains, one save after another.
pub const CONTENTS: [&str; 3] = ["first", "second", "third"];

/// Where the demo's lines go: `println!` in the demo, a `Vec` in the tests.
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// Reads the whole file as text, through tokio's file API (the book's `read_file`).
///
/// Note that tokio's file operations run the blocking system calls on a helper thread: the caller
/// does not block, but the read is no faster than a plain `std::fs::read_to_string`.
pub async fn read_file(filename: &Path) -> io::Result<String> {
    // Book: takes `&str` and is always called with "data.txt" in the working directory.
    let mut file = AsyncFile::open(filename).await?;
    let mut contents = String::new();
    file.read_to_string(&mut contents).await?;
    Ok(contents)
}

/// Polls `path`'s modification time every `interval` and sends the number of changes seen so far
/// into `tx` whenever it differs from the last one (the first successful look counts as a change).
///
/// Returns, with that number, when `shutdown` fires (or its sender is dropped), when every receiver
/// is gone, or when the platform has no modification times. Returning drops `tx`, which is how the
/// reader learns that no more changes will come. A missing or unreadable file is skipped: no
/// event, no panic; it counts once it appears.
pub async fn watch_file_changes(
    path: PathBuf,
    interval: Duration,
    tx: watch::Sender<u64>,
    mut shutdown: oneshot::Receiver<()>,
) -> u64 {
    let mut last_modified = None;
    let mut changes = 0;
    loop {
        // Book: an endless loop. Checking once per tick is enough: stopping waits at most `interval`.
        if !matches!(
            shutdown.try_recv(),
            Err(oneshot::error::TryRecvError::Empty)
        ) {
            return changes;
        }
        // Book: the synchronous `path.metadata()`; tokio's version keeps even that stat call off
        // the worker thread.
        if let Ok(metadata) = tokio::fs::metadata(&path).await {
            // Book: `.modified().unwrap()`, a panic where modification times are not supported.
            let modified = match metadata.modified() {
                Ok(modified) => modified,
                Err(e) => {
                    eprintln!("cannot watch {}: {e}", path.display());
                    return changes;
                }
            };
            if last_modified != Some(modified) {
                last_modified = Some(modified);
                changes += 1;
                // Book: `tx.send(())` into a `Sender<bool>`, a type error. An error here means no
                // receiver is left, so there is nobody to watch for.
                if tx.send(changes).is_err() {
                    return changes;
                }
            }
        }
        // tokio's sleep parks this task and frees the thread; `std::thread::sleep` would block the
        // whole worker thread, and every other task on it, for the interval.
        sleep(interval).await;
    }
}

/// The main loop: waits for each change, reads the file and hands its contents to `on_content`
/// with the change number. Ends when the watcher has gone (`changed()` returns `Err`); returns how
/// many times the file was read.
pub async fn print_changes(
    mut rx: watch::Receiver<u64>,
    path: &Path,
    mut on_content: impl FnMut(u64, &str),
) -> usize {
    let mut reads = 0;
    // Book: `let _ = rx.changed().await;` which, once the sender is gone, returns `Err` at once,
    // every time: the loop would then re-read the file as fast as the CPU allows.
    while rx.changed().await.is_ok() {
        let change = *rx.borrow_and_update();
        match read_file(path).await {
            Ok(contents) => {
                reads += 1;
                on_content(change, &contents);
            }
            Err(e) => eprintln!("could not read {}: {e}", path.display()),
        }
    }
    reads
}

/// Saves `contents` to `path` with modification time `mtime`, in one step as far as a watcher can
/// tell: write a sibling temporary file, set its time, rename it over `path`.
///
/// Writing `path` in place would change its time twice (once by the write, once by
/// `set_modified`), and a watcher polling in between would report one save as two changes.
/// The rename is atomic, which is also how careful editors save files.
pub fn write_with_mtime(path: &Path, contents: &str, mtime: SystemTime) -> io::Result<()> {
    let temporary = path.with_extension("saving");
    let mut file = fs::File::create(&temporary)?;
    file.write_all(contents.as_bytes())?;
    file.set_modified(mtime)?;
    drop(file);
    fs::rename(&temporary, path)
}

/// The modification time of save number `k`: whole seconds apart, far coarser than any common file
/// system's timestamp granularity, so that every save is a visible change.
fn save_time(base: SystemTime, k: usize) -> SystemTime {
    base + Duration::from_secs(k as u64)
}

/// The stand-in for a person editing the file: where to save, what, and how fast.
struct Script {
    path: PathBuf,
    /// The saves still to make (the first content is written before watching starts).
    contents: Vec<String>,
    /// The first save's modification time; save `k` gets `base + k` seconds.
    base: SystemTime,
    /// The pause after the reader has printed, before the next save.
    gap: Duration,
    log: Log,
    start: Instant,
}

/// For each save of the script: wait until the reader has printed the previous one (a message on
/// `printed`), pause, save. After the reader has printed the last one, tell the watcher to stop.
async fn scripted_writer(
    script: Script,
    mut printed: mpsc::UnboundedReceiver<String>,
    shutdown: oneshot::Sender<()>,
) -> io::Result<()> {
    let Script {
        path,
        contents,
        base,
        gap,
        log,
        start,
    } = script;
    for (k, text) in contents.iter().enumerate() {
        if printed.recv().await.is_none() {
            return Ok(()); // the reader is gone; nothing left to show
        }
        sleep(gap).await;
        // A small local write; doing it in place (not via spawn_blocking) keeps the script simple.
        write_with_mtime(&path, text, save_time(base, k + 1))?;
        log(&format!(
            "[{:>9}] writer saved {text:?}",
            format_duration(start.elapsed())
        ));
    }
    let _ = printed.recv().await;
    log(&format!(
        "[{:>9}] writer done: asking the watcher to stop",
        format_duration(start.elapsed())
    ));
    let _ = shutdown.send(()); // Err means the watcher already stopped: fine
    Ok(())
}

/// What one run of the demo produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The contents the main loop read, in order.
    pub printed: Vec<String>,
    /// The changes the watcher reported before it stopped.
    pub changes: u64,
}

/// The whole demo in `dir`: create `data.txt` with `contents[0]`, watch it every `interval`, let the
/// scripted writer save the other contents `gap` apart, and print each change through `log` until
/// the watcher stops.
pub async fn watch_demo(
    dir: &Path,
    contents: &[&str],
    interval: Duration,
    gap: Duration,
    log: Log,
) -> Result<Outcome, Box<dyn std::error::Error + Send + Sync>> {
    let path = dir.join("data.txt");
    let base = SystemTime::now();
    let (first, rest) = contents.split_first().ok_or("no contents to write")?;
    write_with_mtime(&path, first, save_time(base, 0))?;
    let start = Instant::now();

    // Book: `watch::channel(false)`; a counter says which change this is.
    let (tx, rx) = watch::channel(0u64);
    let (stop_tx, stop_rx) = oneshot::channel();
    let (printed_tx, printed_rx) = mpsc::unbounded_channel();

    let watcher = tokio::spawn(watch_file_changes(path.clone(), interval, tx, stop_rx));
    let script = Script {
        path: path.clone(),
        contents: rest.iter().map(|s| s.to_string()).collect(),
        base,
        gap,
        log: Arc::clone(&log),
        start,
    };
    let writer = tokio::spawn(scripted_writer(script, printed_rx, stop_tx));

    let mut printed = Vec::new();
    print_changes(rx, &path, |change, text| {
        log(&format!(
            "[{:>9}] change {change}: {text}",
            format_duration(start.elapsed())
        ));
        printed.push(text.to_string());
        let _ = printed_tx.send(text.to_string()); // the writer may be done already
    })
    .await;
    log(&format!(
        "[{:>9}] changed() returned Err: the watcher has stopped, so the loop ends",
        format_duration(start.elapsed())
    ));

    writer.await??;
    let changes = watcher.await?;
    Ok(Outcome { printed, changes })
}

/// Runs the demo: `[--interval-ms I]`.
pub fn run(mut args: Args) -> DemoResult {
    let interval = args.value_in("interval-ms", DEFAULT_INTERVAL_MS, 1..=1_000)?;
    args.finish()?;
    demo(Duration::from_millis(interval))
}

#[tokio::main(flavor = "current_thread")]
async fn demo(interval: Duration) -> DemoResult {
    let dir = tempfile::tempdir()?;
    println!(
        "watching {} (a tokio task checks its modification time every {})",
        dir.path().join("data.txt").display(),
        format_duration(interval)
    );
    let log: Log = Arc::new(|line: &str| println!("{line}"));
    let outcome = watch_demo(dir.path(), &CONTENTS, interval, WRITER_GAP, log).await?;
    println!(
        "the watcher saw {} changes; the main loop printed {:?}",
        outcome.changes, outcome.printed
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tokio::time::timeout;

    const STEP: Duration = Duration::from_secs(2);
    const TICK: Duration = Duration::from_millis(10);

    fn start_watcher(
        path: &Path,
    ) -> (
        watch::Receiver<u64>,
        oneshot::Sender<()>,
        tokio::task::JoinHandle<u64>,
    ) {
        let (tx, rx) = watch::channel(0);
        let (stop_tx, stop_rx) = oneshot::channel();
        let watcher = tokio::spawn(watch_file_changes(path.to_path_buf(), TICK, tx, stop_rx));
        (rx, stop_tx, watcher)
    }

    /// Waits (up to 2 s) for the next change and returns the change number and the file's text.
    async fn next_change(rx: &mut watch::Receiver<u64>, path: &Path) -> (u64, String) {
        timeout(STEP, rx.changed())
            .await
            .expect("no change within 2 s")
            .expect("the watcher stopped early");
        let change = *rx.borrow_and_update();
        (change, read_file(path).await.unwrap())
    }

    #[tokio::test(start_paused = true)]
    async fn each_save_wakes_the_reader_once_and_the_loop_ends_when_the_watcher_stops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.txt");
        let base = SystemTime::now();
        write_with_mtime(&path, "first", save_time(base, 0)).unwrap();
        let (mut rx, stop, watcher) = start_watcher(&path);

        let mut seen = vec![next_change(&mut rx, &path).await];
        for (k, text) in ["second", "third"].into_iter().enumerate() {
            write_with_mtime(&path, text, save_time(base, k + 1)).unwrap();
            seen.push(next_change(&mut rx, &path).await);
        }
        assert_eq!(
            seen,
            [
                (1, "first".into()),
                (2, "second".into()),
                (3, "third".into())
            ]
        );

        stop.send(()).unwrap();
        let closed = timeout(STEP, rx.changed()).await.expect("changed() hung");
        assert!(
            closed.is_err(),
            "changed() must fail once the watcher is gone"
        );
        assert_eq!(watcher.await.unwrap(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn the_demo_prints_first_second_third_then_ends() {
        let dir = tempfile::tempdir().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let log: Log = Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_string()));
        let start = Instant::now();
        let outcome = timeout(
            Duration::from_secs(10),
            watch_demo(dir.path(), &CONTENTS, TICK, WRITER_GAP, log),
        )
        .await
        .expect("the demo hung")
        .unwrap();
        assert_eq!(outcome.printed, CONTENTS);
        assert_eq!(outcome.changes, 3);
        // Two writer pauses happened on the (virtual) clock.
        assert!(start.elapsed() >= 2 * WRITER_GAP);

        let lines = lines.lock().unwrap();
        let kinds: Vec<&str> = lines
            .iter()
            .map(|l| l.split_once("] ").map_or(l.as_str(), |(_, rest)| rest))
            .collect();
        assert_eq!(
            kinds,
            [
                "change 1: first",
                "writer saved \"second\"",
                "change 2: second",
                "writer saved \"third\"",
                "change 3: third",
                "writer done: asking the watcher to stop",
                "changed() returned Err: the watcher has stopped, so the loop ends",
            ]
        );
        // Nothing but data.txt is left behind (the `.saving` file was renamed over it).
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["data.txt"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_file_is_no_event_until_it_appears() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not-yet.txt");
        let (mut rx, stop, watcher) = start_watcher(&path);

        // A whole second of polls (100 of them) on a missing file: no event, no panic.
        assert!(timeout(Duration::from_secs(1), rx.changed()).await.is_err());
        assert!(!watcher.is_finished());

        write_with_mtime(&path, "here now", SystemTime::now()).unwrap();
        assert_eq!(next_change(&mut rx, &path).await, (1, "here now".into()));

        stop.send(()).unwrap();
        assert_eq!(watcher.await.unwrap(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_reader_loop_returns_when_the_sender_drops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.txt");
        fs::write(&path, "only").unwrap();
        let (tx, rx) = watch::channel(0);
        tx.send(1).unwrap();
        drop(tx);
        let mut texts = Vec::new();
        let reads = timeout(
            STEP,
            print_changes(rx, &path, |_, t| texts.push(t.to_string())),
        )
        .await
        .expect("the loop must end, not spin");
        assert_eq!(reads, 1);
        assert_eq!(texts, ["only"]);
    }

    // The blind spot of polling: a save that leaves the modification time unchanged (two saves
    // within one timestamp tick) is invisible.
    #[tokio::test(start_paused = true)]
    async fn a_save_with_the_same_modification_time_goes_unnoticed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.txt");
        let when = SystemTime::now();
        write_with_mtime(&path, "before", when).unwrap();
        let (mut rx, stop, watcher) = start_watcher(&path);
        assert_eq!(next_change(&mut rx, &path).await, (1, "before".into()));

        write_with_mtime(&path, "after", when).unwrap();
        assert!(timeout(Duration::from_secs(1), rx.changed()).await.is_err());
        assert_eq!(read_file(&path).await.unwrap(), "after"); // changed, yet no event

        stop.send(()).unwrap();
        assert_eq!(watcher.await.unwrap(), 1);
    }

    #[test]
    fn bad_interval_is_a_usage_error() {
        for bad in ["0", "abc", "5000"] {
            let err = run(Args::from_iter(["--interval-ms", bad])).unwrap_err();
            assert!(err.is::<common::demo::UsageError>(), "{bad}: {err}");
        }
    }
}
