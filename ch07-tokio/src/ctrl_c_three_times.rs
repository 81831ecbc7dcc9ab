//! `ctrl-c-three-times` (Graceful Shutdowns): once tokio listens for SIGINT, Ctrl-C no longer kills
//! the process; the program decides when to stop, here after the third press.
//!
//! A graceful shutdown is whatever a program does between "asked to stop" and "gone": save state,
//! finish or hand back work, tell others. The first step is to take the decision away from the
//! OS default, which for SIGINT is to end the process at once.
//!
//! `cargo run -p ch07 -- ctrl-c-three-times --wait` is the book's program: press Ctrl-C three
//! times. Without `--wait` (the default, and in the chapter run) the demo is the parent: it runs
//! that program as a child of this same binary, sends the three SIGINTs itself, one at a time,
//! relays the child's lines and checks that it exited 0 (see [`crate::child`]).

use std::io;
use std::time::Instant;

use common::demo::{Args, DemoResult};
use common::timeline::format_duration;
use nix::sys::signal::Signal;
use tokio::signal::unix::SignalKind;
use tokio::sync::mpsc;

use crate::child::{self, LIMIT, SelfChild};

/// How many interrupts the program waits for before it stops.
pub const PRESSES: usize = 3;

/// The book's `cleanup` background task: counts interrupts and ends after the third.
///
/// The interrupts arrive through a channel fed by one persistent signal stream
/// ([`child::forward_signals`]), so tests can feed it by hand. Returns how many it received.
pub async fn cleanup(mut interrupts: mpsc::Receiver<()>) -> usize {
    println!("cleanup background task started");
    let mut count = 0;
    // Book: the loop calls `tokio::signal::ctrl_c().await.unwrap()` afresh on every turn, which
    // leaves moments with no listener (a SIGINT the runtime handles then is dropped, see
    // `ctrl-c-blocking-pitfall`) and panics on an error; we keep one stream alive instead.
    while interrupts.recv().await.is_some() {
        count += 1;
        println!("ctrl-c received! ({count}/{PRESSES})");
        if count >= PRESSES {
            // Book: `std::process::exit(0)` here ends the process without running a single
            // destructor (a `BufWriter`'s unflushed lines are lost), so it is not graceful; we
            // return, and `main` returns after us.
            break;
        }
    }
    count
}

/// The book's `main`: spawns `cleanup` and waits for it.
///
/// The stream is registered *before* the program announces its pid, so a SIGINT sent as soon as
/// `listening` appears is already ours.
#[tokio::main]
pub async fn book_main() -> io::Result<usize> {
    let interrupts = child::forward_signals(SignalKind::interrupt())?;
    println!(
        "listening (pid {}): press Ctrl-C {PRESSES} times",
        std::process::id()
    );
    let cleanup = tokio::spawn(cleanup(interrupts));
    // Book: `loop {}` keeps `main` alive by burning a core at 100 % for the whole run (and on a
    // current-thread runtime would starve every task); awaiting the task costs nothing.
    Ok(cleanup.await?)
}

/// Runs the demo: the parent by default, the book's program with `--wait`.
pub fn run(mut args: Args) -> DemoResult {
    let wait = args.flag("wait")?;
    let is_child = args.flag("child")?;
    args.finish()?;
    if is_child {
        child::exit_when_parent_goes();
    }
    if wait || is_child {
        let received = book_main()?;
        println!("stopping after {received} interrupts: main returns, exit code 0");
        return Ok(());
    }
    parent()
}

/// The parent: runs the book's program as a child and presses "Ctrl-C" for it three times.
fn parent() -> DemoResult {
    let mut child = SelfChild::start(&["ctrl-c-three-times", "--wait"])?;
    child.wait_for_line("listening", LIMIT)?;
    for k in 1..=PRESSES {
        // One at a time: two SIGINTs sent back to back may arrive as one (signals coalesce).
        child.send(Signal::SIGINT)?;
        let sent = Instant::now();
        child.wait_for_line(&format!("ctrl-c received! ({k}/{PRESSES})"), LIMIT)?;
        println!(
            "parent: receipt {k} came {} after the signal",
            format_duration(sent.elapsed())
        );
    }
    let status = child.wait(LIMIT)?;
    let ended = child::describe_exit(status);
    if !status.success() {
        return Err(format!("the child {ended}, expected exit code 0").into());
    }
    println!("parent: the child survived two SIGINTs and {ended} after the third");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn cleanup_is_pending_after_two_interrupts_and_returns_after_the_third() {
        let (tx, rx) = mpsc::channel(8);
        let mut task = tokio::spawn(cleanup(rx));
        tx.send(()).await.unwrap();
        tx.send(()).await.unwrap();
        // The paused clock jumps the hour at once if nothing else can happen: still waiting.
        let early = tokio::time::timeout(Duration::from_secs(3600), &mut task).await;
        assert!(early.is_err(), "cleanup returned after two interrupts");
        tx.send(()).await.unwrap();
        let count = tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("cleanup did not return after the third interrupt")
            .unwrap();
        assert_eq!(count, PRESSES);
        // A fourth goes nowhere: the listener is gone and the channel says so.
        assert!(tx.send(()).await.is_err());
    }

    #[tokio::test]
    async fn cleanup_returns_early_if_the_signal_source_ends() {
        let (tx, rx) = mpsc::channel(8);
        tx.send(()).await.unwrap();
        drop(tx);
        assert_eq!(cleanup(rx).await, 1);
    }
}
