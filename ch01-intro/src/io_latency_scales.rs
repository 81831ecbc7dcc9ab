//! `io-latency-scales`: nanoseconds for memory, micro- to milliseconds for I/O (book section
//! "Where Can We Utilize Async?").
//!
//! The book states the orders of magnitude in prose: a RAM access takes around 100 ns, a disk or
//! network write takes milliseconds. The gap between the two is the time async lets a program spend
//! on other work instead of waiting. This demo measures the three costs on your machine:
//!
//! 1. **RAM**: one step of a *pointer chase* through a 32 MiB array of indices, shuffled into a
//!    single cycle. Each load needs the result of the previous one, and the next slot is anywhere in
//!    the array, so the CPU can neither overlap the loads nor prefetch them: each step costs about
//!    one cache miss (whatever part of the array the caches do not hold). The array holds one
//!    index per 64-byte cache line, so that every step lands on a new line and the shuffle has
//!    eight times less work to do than with one index per 8 bytes.
//! 2. **File**: writing 4 KiB to a file in a temporary directory and waiting for `File::sync_all`,
//!    which returns only once the operating system says the data is on the device.
//! 3. **Network**: one HTTP GET round trip to the `common` loopback server (or to `--url`), on a
//!    connection that is already open; this includes the HTTP client's and server's own work.
//!
//! Run it with `cargo run -p ch01 -- io-latency-scales [--url URL]` (about half a second). You will
//! see a table with the time per operation and its ratio to one RAM step: typically hundreds to
//! tens of thousands, depending on your disk and on whether the array fits in your CPU's caches
//! (a last-level cache of 32 MiB or more holds much of it; a larger array, which costs a longer
//! shuffle, shows the memory more purely). A debug build adds a few nanoseconds of loop overhead
//! per step and makes the HTTP client slower; the orders of magnitude are what matter.
//!
//! How we differ from the book: the book has no code here, only prose; where it says that most hard
//! drives still have moving parts (most machines now have SSDs, where a sync still costs
//! microseconds to milliseconds), we measure instead of asserting.

use std::error::Error;
use std::fs::File;
use std::io::{self, Seek, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};
use common::timeline::format_duration;

use common::xorshift::XorShift;

use crate::loopback;

/// Size of the pointer-chase array in the demo: 32 MiB (512 Ki cache lines of 64 bytes).
pub const ARRAY_BYTES: usize = 32 << 20;

/// How many dependent loads the demo times: once around the whole 32 MiB array.
pub const CHASE_STEPS: usize = ARRAY_BYTES / size_of::<Line>();

/// The size of each file write.
pub const BLOCK_BYTES: usize = 4096;

/// How the measurements are sized: the demo uses [`Config::DEMO`], tests something smaller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Bytes in the pointer-chase array (rounded down to whole 64-byte lines).
    pub array_bytes: usize,
    /// Dependent loads to time.
    pub chase_steps: usize,
    /// Write + sync rounds; the median is reported.
    pub file_rounds: usize,
    /// HTTP round trips after one warm-up request; the median is reported.
    pub http_rounds: usize,
}

impl Config {
    /// The demo's sizes: about half a second in a debug build.
    pub const DEMO: Config = Config {
        array_bytes: ARRAY_BYTES,
        chase_steps: CHASE_STEPS,
        file_rounds: 5,
        http_rounds: 5,
    };
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// What was measured.
    pub what: String,
    /// The cost of one operation.
    pub per_op: Duration,
}

/// A permutation of `0..len` that is one single cycle, built with Sattolo's shuffle: `next[i]` is
/// the slot visited after `i`, and following it from any slot visits all `len` slots before coming
/// back. (A plain Fisher-Yates shuffle would give several smaller cycles, and a chase could get
/// stuck in a short one that fits in cache.)
pub fn single_cycle(len: usize, seed: u64) -> Vec<usize> {
    let mut next: Vec<usize> = (0..len).collect();
    let mut rng = XorShift::new(seed);
    // Sattolo: like Fisher-Yates, but `j` is drawn from `0..i`, never `i` itself.
    for i in (1..len).rev() {
        let j = rng.below(i as u64) as usize;
        next.swap(i, j);
    }
    next
}

/// One cache line of the chase array: the index of the line to visit next, padded to 64 bytes
/// (the alignment also makes each `Line` exactly one cache line on common CPUs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(64))]
pub struct Line {
    /// The index of the next line in the cycle.
    pub next: usize,
}

/// An array of about `bytes` bytes (at least one line) whose lines form one shuffled cycle.
pub fn chase_array(bytes: usize, seed: u64) -> Vec<Line> {
    let count = (bytes / size_of::<Line>()).max(1);
    single_cycle(count, seed)
        .into_iter()
        .map(|next| Line { next })
        .collect()
}

/// Follows the cycle for `steps` steps from line `start` and returns the line it ends on.
pub fn chase(lines: &[Line], start: usize, steps: usize) -> usize {
    let mut at = start;
    for _ in 0..steps {
        at = lines[at].next; // each load depends on the one before: no overlap, no prefetch
    }
    at
}

/// The time of one dependent load in a shuffled array of `array_bytes` bytes (`steps` of them
/// timed, at least one).
pub fn ram_step(array_bytes: usize, steps: usize) -> Duration {
    let lines = chase_array(array_bytes, 0x5EED);
    let steps = steps.max(1);
    let start = Instant::now();
    // `black_box` keeps an optimised build from skipping a loop whose result nobody reads.
    std::hint::black_box(chase(&lines, 0, std::hint::black_box(steps)));
    Duration::from_secs_f64(start.elapsed().as_secs_f64() / steps as f64)
}

/// The median time to write [`BLOCK_BYTES`] and `sync_all` a file in `dir` (`rounds` of them, at
/// least one).
pub fn file_sync(dir: &Path, rounds: usize) -> io::Result<Duration> {
    let mut file = File::create(dir.join("latency-probe.bin"))?;
    let block = [0x5a_u8; BLOCK_BYTES];
    let mut samples = Vec::new();
    for _ in 0..rounds.max(1) {
        let start = Instant::now();
        file.rewind()?;
        file.write_all(&block)?;
        file.sync_all()?; // returns once the OS reports the data on the device
        samples.push(start.elapsed());
    }
    Ok(median(samples))
}

/// The median time of one HTTP GET of `url` and its body, over a connection opened beforehand by
/// one warm-up request (`rounds` timed, at least one).
pub async fn http_round_trip(
    client: &reqwest::Client,
    url: &str,
    rounds: usize,
) -> Result<Duration, reqwest::Error> {
    // The warm-up pays for the TCP connection; the timed requests reuse it.
    client.get(url).send().await?.bytes().await?;
    let mut samples = Vec::new();
    for _ in 0..rounds.max(1) {
        let start = Instant::now();
        client.get(url).send().await?.bytes().await?;
        samples.push(start.elapsed());
    }
    Ok(median(samples))
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// Takes the three measurements: RAM step, file write + sync in `dir`, HTTP round trip to `url`.
///
/// The first two block the thread (that is what they measure); call this where nothing else needs
/// the thread, as the demo does.
pub async fn measure(
    config: Config,
    dir: &Path,
    url: &str,
) -> Result<Vec<Row>, Box<dyn Error + Send + Sync>> {
    let mib = config.array_bytes as f64 / f64::from(1 << 20);
    let ram = ram_step(config.array_bytes, config.chase_steps);
    let file = file_sync(dir, config.file_rounds)?;
    let client = common::client::client_for(url)?;
    let http = http_round_trip(&client, url, config.http_rounds).await?;
    Ok(vec![
        Row {
            what: format!("RAM: one dependent load, {mib:.0} MiB shuffled array"),
            per_op: ram,
        },
        Row {
            what: format!(
                "file: write 4 KiB + sync_all (median of {})",
                config.file_rounds.max(1)
            ),
            per_op: file,
        },
        Row {
            what: format!(
                "network: HTTP GET round trip (median of {})",
                config.http_rounds.max(1)
            ),
            per_op: http,
        },
    ])
}

/// `1234567.8` → `1,234,568`; below 10, one decimal (`2.5`).
fn ratio_text(ratio: f64) -> String {
    if ratio < 10.0 {
        return format!("{ratio:.1}");
    }
    let digits = format!("{ratio:.0}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The table: each row's time per operation and its ratio to the first row.
pub fn table(rows: &[Row]) -> String {
    let Some(first) = rows.first() else {
        return String::new();
    };
    let base = first.per_op.as_secs_f64().max(1e-12);
    let what_width = rows
        .iter()
        .map(|r| r.what.chars().count())
        .max()
        .unwrap_or(0);
    let header = ("operation", "time per op", "× first row");
    let mut out = format!(
        "{:what_width$}  {:>12}  {:>12}\n",
        header.0, header.1, header.2
    );
    for row in rows {
        let ratio = row.per_op.as_secs_f64() / base;
        out += &format!(
            "{:what_width$}  {:>12}  {:>12}\n",
            row.what,
            format_duration(row.per_op),
            ratio_text(ratio)
        );
    }
    out
}

/// Runs the demo: `[--url URL]`.
pub fn run(mut args: Args) -> DemoResult {
    let url = args.url()?;
    args.finish()?;
    demo(url)
}

#[tokio::main(flavor = "current_thread")]
async fn demo(url: Option<String>) -> DemoResult {
    let dir = tempfile::tempdir()?;
    // No delay on the loopback route: we want the cost of the round trip itself.
    let target = loopback::Target::new(url, Duration::ZERO)?;
    match target.server {
        Some(_) => println!("network row: GET {} (our loopback server)", target.url),
        None => println!("network row: GET {} (your URL)", target.url),
    }
    println!("file row: {}", dir.path().display());
    println!();
    let rows = measure(Config::DEMO, dir.path(), &target.url).await?;
    print!("{}", table(&rows));
    if let [ram, file, http] = rows.as_slice() {
        let per = |row: &Row| row.per_op.as_secs_f64() / ram.per_op.as_secs_f64().max(1e-12);
        println!();
        println!(
            "While a thread waits for one file sync it could have made about {} memory loads;\n\
             while it waits for one round trip, about {}. Async puts that waiting time to use.",
            ratio_text(per(file)),
            ratio_text(per(http))
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_duration_picks_the_unit() {
        assert_eq!(format_duration(Duration::from_nanos(950)), "950 ns");
        assert_eq!(format_duration(Duration::from_nanos(12_500)), "12.50 µs");
        assert_eq!(format_duration(Duration::from_micros(1500)), "1.50 ms");
        assert_eq!(format_duration(Duration::from_secs(2)), "2.00 s");
    }

    #[test]
    fn the_shuffle_is_one_cycle_through_every_slot() {
        for (len, seed) in [(1, 1), (2, 7), (3, 0), (10, 42), (1000, 0x5EED), (4096, 99)] {
            let next = single_cycle(len, seed);
            let mut visited = vec![false; len];
            let mut at = 0;
            for step in 0..len {
                assert!(
                    !visited[at],
                    "len {len}: slot {at} visited twice (step {step})"
                );
                visited[at] = true;
                at = next[at];
            }
            assert_eq!(
                at, 0,
                "len {len}: back at the start after exactly {len} steps"
            );
            assert!(visited.iter().all(|&v| v));
        }
    }

    #[test]
    fn the_chase_visits_every_line_once_and_comes_back() {
        assert_eq!(size_of::<Line>(), 64);
        let lines = chase_array(64 * 1000, 3);
        assert_eq!(lines.len(), 1000);
        let mut visited = vec![false; lines.len()];
        let mut at = 0;
        for _ in 0..lines.len() {
            assert!(!visited[at], "line {at} visited twice");
            visited[at] = true;
            at = chase(&lines, at, 1);
        }
        assert!(visited.iter().all(|&v| v));
        assert_eq!(chase(&lines, 0, lines.len()), 0);
        assert_eq!(chase(&lines, 17, 2 * lines.len()), 17);
        assert_eq!(chase_array(10, 1), [Line { next: 0 }]); // smaller than a line: one line
    }

    #[test]
    fn the_shuffle_depends_on_the_seed_and_moves_every_slot() {
        let a = single_cycle(100, 1);
        assert_eq!(a, single_cycle(100, 1)); // deterministic
        assert_ne!(a, single_cycle(100, 2));
        assert!(a.iter().enumerate().all(|(i, &n)| i != n)); // no fixed points in a 100-cycle
    }

    #[test]
    fn ratios_are_readable() {
        assert_eq!(ratio_text(1.0), "1.0");
        assert_eq!(ratio_text(12.4), "12");
        assert_eq!(ratio_text(1234.0), "1,234");
        assert_eq!(ratio_text(1_234_567.8), "1,234,568");
    }

    #[test]
    fn table_shows_units_and_ratio_to_the_first_row() {
        let rows = [
            Row {
                what: "ram".into(),
                per_op: Duration::from_nanos(100),
            },
            Row {
                what: "file".into(),
                per_op: Duration::from_micros(1500),
            },
        ];
        let text = table(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("operation"), "{text}");
        assert!(
            lines[1].starts_with("ram ") && lines[1].contains("100 ns"),
            "{text}"
        );
        assert!(lines[1].trim_end().ends_with(" 1.0"), "{text}");
        assert!(lines[2].contains("1.50 ms"), "{text}");
        assert!(lines[2].trim_end().ends_with("15,000"), "{text}");
    }

    #[tokio::test]
    async fn every_measurement_is_positive_and_a_sync_costs_more_than_a_ram_step() {
        let server = loopback::post_server(Duration::ZERO).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            array_bytes: 1 << 20, // 1 MiB: cheap, still a real chase
            chase_steps: 1 << 16,
            file_rounds: 3,
            http_rounds: 3,
        };
        let rows = measure(config, dir.path(), &server.url(loopback::POST_PATH))
            .await
            .unwrap();
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|r| r.per_op > Duration::ZERO), "{rows:?}");
        assert!(rows[1].per_op > rows[0].per_op, "{rows:?}");
        assert!(rows[0].what.starts_with("RAM: one dependent load, 1 MiB"));
        // One warm-up plus three timed requests reached the server.
        assert_eq!(server.count(loopback::POST_PATH), 4);
        // Only our probe file, inside the temp dir.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["latency-probe.bin"]);
        assert_eq!(
            std::fs::metadata(dir.path().join("latency-probe.bin"))
                .unwrap()
                .len(),
            BLOCK_BYTES as u64
        );
    }

    #[test]
    fn bad_url_is_a_usage_error() {
        let err = run(Args::from_iter(["--url", "ftp://x"])).unwrap_err();
        assert!(err.is::<common::demo::UsageError>(), "{err}");
    }
}
