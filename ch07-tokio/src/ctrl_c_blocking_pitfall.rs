//! `ctrl-c-blocking-pitfall` (Graceful Shutdowns): what happens to a SIGINT that nobody is awaiting.
//!
//! The book puts a blocking 5 s sleep before each `ctrl_c().await`, sees Ctrl-C end the program
//! during the sleep, and concludes that signals are handled only while directly awaited. That is
//! true of the first window only. The precise rule:
//!
//! - **before the first registration** the OS default action still applies: SIGINT ends the
//!   process (case a, which is what the book saw);
//! - **after it** tokio's handler stays installed for the life of the process, so the process
//!   survives every later SIGINT. Whether a listener *sees* it depends on timing: when the runtime
//!   processes the signal while no `Signal` stream exists, nobody gets it, and the next fresh
//!   `ctrl_c()` starts from scratch (case b, `lost`); a stream kept alive remembers it (case c,
//!   `received`).
//!
//! Rules: keep one stream alive, and never block the task (or the thread) that must react.
//!
//! The parent runs the child three times (`--wait --case a|b|c`), sends SIGINT when the child is
//! in the window of interest, and prints one verdict line per case. A reader can run a case by
//! hand: `cargo run -p ch07 -- ctrl-c-blocking-pitfall --wait --case a`, then Ctrl-C.

use std::io;
use std::time::Duration;

use common::demo::{Args, DemoResult, UsageError};
use nix::sys::signal::Signal;
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::timeout;

use crate::child::{self, LIMIT, SelfChild};

/// How long the first listen lasts in cases b and c (nothing arrives; it only registers).
const FIRST_LISTEN: Duration = Duration::from_millis(50);
/// How long the second listen waits before saying `lost`.
const SECOND_LISTEN: Duration = Duration::from_millis(500);

/// Case a, the book's loop: a blocking sleep before each `ctrl_c()`, spawned from a multi-thread
/// `main` as in the book.
pub async fn cleanup(block: Duration) -> io::Result<()> {
    println!("cleanup background task started");
    let mut count = 0;
    loop {
        println!("blocking for {} ms before listening", block.as_millis());
        // Book: `std::thread::sleep` inside an async task stalls the worker thread it runs on;
        // here the stall is the experiment. Real code would use `tokio::time::sleep`, or
        // `spawn_blocking` for genuinely blocking work.
        std::thread::sleep(block);
        tokio::signal::ctrl_c().await?;
        println!("ctrl-c received!");
        count += 1;
        if count > 2 {
            return Ok(());
        }
    }
}

/// Case b: listen once with a fresh `ctrl_c()`, do something unrelated (the runtime idles, and
/// handles a SIGINT that arrives then), then listen again with another fresh `ctrl_c()`.
/// Returns whether the second listen saw the signal.
// Book: the claim that Ctrl-C is handled only while the program directly awaits it holds only
// before the first registration. Afterwards tokio's handler
// stays installed for the life of the process, so no later SIGINT ends it; what a fresh
// `ctrl_c()` misses is a signal the runtime processed while no stream existed.
pub async fn listen_twice_with_ctrl_c(idle: Duration) -> io::Result<bool> {
    println!(
        "listening for {} ms (registers the handler)",
        FIRST_LISTEN.as_millis()
    );
    if let Ok(result) = timeout(FIRST_LISTEN, tokio::signal::ctrl_c()).await {
        result?;
    }
    println!("busy with something else for {} ms", idle.as_millis());
    tokio::time::sleep(idle).await;
    println!("listening again with a fresh ctrl_c()");
    Ok(matches!(
        timeout(SECOND_LISTEN, tokio::signal::ctrl_c()).await,
        Ok(Ok(()))
    ))
}

/// Case c: the same, with one stream kept from start to end.
pub async fn listen_twice_with_one_stream(idle: Duration) -> io::Result<bool> {
    let mut interrupts = signal(SignalKind::interrupt())?;
    println!(
        "listening for {} ms (one stream, kept)",
        FIRST_LISTEN.as_millis()
    );
    let _ = timeout(FIRST_LISTEN, interrupts.recv()).await;
    println!("busy with something else for {} ms", idle.as_millis());
    tokio::time::sleep(idle).await;
    println!("listening again on the same stream");
    Ok(matches!(
        timeout(SECOND_LISTEN, interrupts.recv()).await,
        Ok(Some(()))
    ))
}

/// The three experiments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// SIGINT before the first registration.
    A,
    /// SIGINT between two fresh `ctrl_c()` calls.
    B,
    /// SIGINT between two receives on one stream.
    C,
}

impl Case {
    fn parse(text: &str) -> Result<Case, UsageError> {
        match text {
            "a" => Ok(Case::A),
            "b" => Ok(Case::B),
            "c" => Ok(Case::C),
            _ => Err(UsageError(format!("`--case {text}`: expected a, b or c"))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Case::A => "a",
            Case::B => "b",
            Case::C => "c",
        }
    }
}

/// Runs the demo: the parent by default (all cases, or `--case X`), a child with `--wait`.
pub fn run(mut args: Args) -> DemoResult {
    let wait = args.flag("wait")?;
    let is_child = args.flag("child")?;
    let case = args.raw("case")?.map(|c| Case::parse(&c)).transpose()?;
    let block_ms: u64 = args.value_in("block-ms", 1000, 100..=10_000)?;
    let idle_ms: u64 = args.value_in("idle-ms", 500, 100..=10_000)?;
    args.finish()?;
    let (block, idle) = (
        Duration::from_millis(block_ms),
        Duration::from_millis(idle_ms),
    );
    if is_child {
        child::exit_when_parent_goes();
    }
    if wait || is_child {
        let case = case.ok_or_else(|| UsageError("`--wait` needs `--case a|b|c`".into()))?;
        return run_child(case, block, idle);
    }
    let cases = match case {
        Some(case) => vec![case],
        None => vec![Case::A, Case::B, Case::C],
    };
    let mut verdicts = Vec::new();
    for case in cases {
        verdicts.push(parent(case, block_ms, idle_ms)?);
    }
    println!();
    for verdict in verdicts {
        println!("{verdict}");
    }
    Ok(())
}

fn run_child(case: Case, block: Duration, idle: Duration) -> DemoResult {
    match case {
        Case::A => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async { tokio::spawn(cleanup(block)).await? })?;
            println!("three interrupts: done");
        }
        Case::B | Case::C => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let received = runtime.block_on(async {
                if case == Case::B {
                    listen_twice_with_ctrl_c(idle).await
                } else {
                    listen_twice_with_one_stream(idle).await
                }
            })?;
            println!("{}", if received { "received" } else { "lost" });
        }
    }
    Ok(())
}

/// Runs one case as a child, sends SIGINT inside its window, and returns the verdict line.
fn parent(case: Case, block_ms: u64, idle_ms: u64) -> Result<String, child::ChildError> {
    println!("--- case {} ---", case.name());
    let block = block_ms.to_string();
    let idle = idle_ms.to_string();
    let args = [
        "ctrl-c-blocking-pitfall",
        "--wait",
        "--case",
        case.name(),
        "--block-ms",
        &block,
        "--idle-ms",
        &idle,
    ];
    let mut child = SelfChild::start(&args)?;
    let window = if case == Case::A {
        "blocking for"
    } else {
        "busy with something else"
    };
    child.wait_for_line(window, LIMIT)?;
    child.send(Signal::SIGINT)?;
    let status = child.wait(LIMIT).map_err(|e| {
        format!("{e}; if SIGINT is ignored where you run this (a shell's background job), case a cannot work")
    })?;
    let ended = child::describe_exit(status);
    let said = |word: &str| child.stdout_lines().contains(&word);
    match case {
        Case::A if child::killed_by(status) == Some(Signal::SIGINT) => Ok(format!(
            "(a) SIGINT during the block before the first ctrl_c(): the child {ended} (a shell \
             shows exit 130): no handler yet, so the OS default applied, as the book says"
        )),
        Case::B if status.success() && said("lost") => Ok(format!(
            "(b) SIGINT while nobody listened, after a first ctrl_c(): the child survived ({ended}) \
             but the signal was lost: the next fresh ctrl_c() never saw it"
        )),
        Case::C if status.success() && said("received") => Ok(format!(
            "(c) the same with one stream kept alive: received; the child {ended}"
        )),
        _ => Err(format!(
            "case {}: unexpected outcome: the child {ended}, printed {:?}",
            case.name(),
            child.stdout_lines()
        )
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases_parse_and_bad_ones_are_usage_errors() {
        assert_eq!(Case::parse("a"), Ok(Case::A));
        assert_eq!(Case::parse("c"), Ok(Case::C));
        assert!(Case::parse("d").is_err());
        let err = run(Args::from_iter(["--wait"])).unwrap_err();
        assert!(err.is::<UsageError>(), "{err}");
    }
}
