//! The parent/child plumbing of "Graceful Shutdowns": a demo runs the book's program as a child
//! process of this same binary and sends it real signals.
//!
//! The book asks the reader to press Ctrl-C or type `kill -SIGHUP <pid>`; our chapter run cannot
//! wait for a reader, so each signal demo plays both roles. The *parent* (the default mode) starts
//! `current_exe() <id> --wait --child`, relays every line the child prints as `child| …`, sends
//! signals with `nix::sys::signal::kill` when the child says it is ready, and checks how the child
//! ended. Every wait has a limit: a child that stays silent or outlives it is killed, and the
//! demo fails with a message instead of hanging.
//!
//! No child outlives its parent:
//! - it runs in a process group of its own, so a reader's Ctrl-C in the terminal reaches only the
//!   parent (whose exit then ends the child, below), never both at once;
//! - [`SelfChild`] kills it on drop, so a parent that returns early (an error, a panic) cleans up;
//! - with `--child` the child watches its piped stdin ([`exit_when_parent_goes`]): if the parent
//!   dies without dropping its guard (SIGKILL, or a default-action Ctrl-C), the pipe closes and the
//!   child exits.
//!
//! The child side also finds here [`forward_signals`]: one persistent signal stream forwarded into
//! a channel, which the demos' listeners consume and their tests feed by hand.

use std::error::Error;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc as std_mpsc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

/// How long the parent waits for any one thing: a line, or the child's exit.
pub const LIMIT: Duration = Duration::from_secs(5);

/// The flag the parent appends: the child then also exits when its stdin closes.
pub const CHILD_FLAG: &str = "--child";

/// Errors of the parent side, already worded for the reader.
pub type ChildError = Box<dyn Error + Send + Sync>;

/// A line the child printed, and on which stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// `true` for standard error.
    pub stderr: bool,
    /// The text, without its newline.
    pub text: String,
}

/// A running child: this binary (or another program), its output relayed, killed on drop.
#[derive(Debug)]
pub struct SelfChild {
    child: Child,
    shown: String,
    lines: std_mpsc::Receiver<Line>,
    seen: Vec<Line>,
    /// Kept open while we live: the child reads it only to notice that we are gone.
    stdin: Option<ChildStdin>,
}

impl SelfChild {
    /// Starts this same binary (`std::env::current_exe()`) with `args` and [`CHILD_FLAG`].
    pub fn start(args: &[&str]) -> Result<Self, ChildError> {
        let program = std::env::current_exe()
            .map_err(|e| format!("cannot find this program's own path to re-run it: {e}"))?;
        Self::start_program(&program, args)
    }

    /// Starts `program args… --child` (tests pass `env!("CARGO_BIN_EXE_ch07")`: inside a test,
    /// `current_exe()` is the test harness).
    pub fn start_program(program: &Path, args: &[&str]) -> Result<Self, ChildError> {
        let name = program.file_name().map_or_else(
            || program.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        let shown = format!("{name} {} {CHILD_FLAG}", args.join(" "));
        let mut child = Command::new(program)
            .args(args)
            .arg(CHILD_FLAG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: Ctrl-C in the terminal goes to the foreground group, the
            // parent's, so only the parent decides which signals the child gets.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("could not start `{shown}`: {e}"))?;
        let (tx, lines) = std_mpsc::channel();
        if let Some(out) = child.stdout.take() {
            read_lines(out, false, tx.clone());
        }
        if let Some(err) = child.stderr.take() {
            read_lines(err, true, tx);
        }
        println!("parent: started `{shown}` (pid {})", child.id());
        Ok(SelfChild {
            stdin: child.stdin.take(),
            child,
            shown,
            lines,
            seen: Vec::new(),
        })
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The lines of standard output relayed so far.
    pub fn stdout_lines(&self) -> Vec<&str> {
        self.seen
            .iter()
            .filter(|l| !l.stderr)
            .map(|l| l.text.as_str())
            .collect()
    }

    /// Everything relayed so far, both streams, in arrival order.
    pub fn lines(&self) -> &[Line] {
        &self.seen
    }

    /// Relays lines until one on stdout contains `needle`, and returns it. Fails (and kills the
    /// child) if `limit` passes first; fails if the child closes its output first.
    pub fn wait_for_line(&mut self, needle: &str, limit: Duration) -> Result<String, ChildError> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = !line.stderr && line.text.contains(needle);
                    let text = line.text.clone();
                    self.relay(line);
                    if found {
                        return Ok(text);
                    }
                }
                Err(std_mpsc::RecvTimeoutError::Timeout) => {
                    self.kill();
                    return Err(format!(
                        "`{}` printed no line containing `{needle}` within {limit:?} (killed)",
                        self.shown
                    )
                    .into());
                }
                Err(std_mpsc::RecvTimeoutError::Disconnected) => {
                    let ended = match self.wait(LIMIT) {
                        Ok(status) => describe_exit(status),
                        Err(e) => e.to_string(),
                    };
                    return Err(format!(
                        "`{}` {ended} before printing a line containing `{needle}`",
                        self.shown
                    )
                    .into());
                }
            }
        }
    }

    /// Sends `signal` to the child (`kill(2)` through nix: no `unsafe`, no shell).
    // Book: the reader sends every signal by hand (Ctrl-C, `kill -SIGHUP <pid>`); the demos send
    // them here instead, so the whole chapter runs unattended, and `--wait` still lets a reader
    // run the book's program and press Ctrl-C.
    pub fn send(&self, signal: Signal) -> Result<(), ChildError> {
        let pid = i32::try_from(self.child.id()).map_err(|e| format!("pid out of range: {e}"))?;
        println!("parent: sending {} to pid {pid}", signal.as_str());
        kill(Pid::from_raw(pid), signal).map_err(|e| {
            format!(
                "could not send {} to `{}`: {e}",
                signal.as_str(),
                self.shown
            )
        })?;
        Ok(())
    }

    /// Relays the child's lines until it exits, at most `limit` (then it is killed and this
    /// fails); returns how it ended.
    pub fn wait(&mut self, limit: Duration) -> Result<ExitStatus, ChildError> {
        let deadline = Instant::now() + limit;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    self.kill();
                    return Err(format!(
                        "`{}` was still running {limit:?} later (killed)",
                        self.shown
                    )
                    .into());
                }
                Ok(None) => {
                    // Relaying doubles as the pause between two checks.
                    if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(5)) {
                        self.relay(line);
                    }
                }
                Err(e) => return Err(format!("waiting for `{}`: {e}", self.shown).into()),
            }
        };
        // The pipes close with the process; whatever it printed last is still in the channel.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
            self.relay(line);
        }
        Ok(status)
    }

    fn relay(&mut self, line: Line) {
        if line.stderr {
            println!("child| (stderr) {}", line.text);
        } else {
            println!("child| {}", line.text);
        }
        self.seen.push(line);
    }

    fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for SelfChild {
    fn drop(&mut self) {
        self.kill();
        drop(self.stdin.take());
    }
}

/// Reads `pipe` line by line on a thread of its own, into `tx`, until the child closes it.
fn read_lines(pipe: impl Read + Send + 'static, stderr: bool, tx: std_mpsc::Sender<Line>) {
    thread::spawn(move || {
        for text in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(Line { stderr, text }).is_err() {
                return;
            }
        }
    });
}

/// Says how a process ended: `exited with code 0`, or `was killed by SIGINT`.
///
/// ```
/// let status = std::process::Command::new("sh").args(["-c", "kill -INT $$"]).status().unwrap();
/// assert_eq!(ch07::child::describe_exit(status), "was killed by SIGINT");
/// ```
pub fn describe_exit(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with code {code}");
    }
    match status.signal().map(Signal::try_from) {
        Some(Ok(signal)) => format!("was killed by {}", signal.as_str()),
        Some(Err(_)) | None => format!("ended without an exit code ({status})"),
    }
}

/// The signal that ended `status`, if one did.
pub fn killed_by(status: ExitStatus) -> Option<Signal> {
    status.signal().and_then(|s| Signal::try_from(s).ok())
}

/// Child side, with `--child`: exit as soon as standard input reaches its end, which happens when
/// the parent is gone (its end of the pipe closes). Guarantees no orphan outlives a parent that
/// was killed before it could clean up.
pub fn exit_when_parent_goes() {
    thread::spawn(|| {
        let mut sink = [0u8; 64];
        let mut stdin = io::stdin();
        while let Ok(n) = stdin.read(&mut sink) {
            if n == 0 {
                break;
            }
        }
        eprintln!("parent went away (stdin closed): exiting");
        // `process::exit` skips destructors, which is acceptable only here: an orphan with
        // nobody left to report to.
        std::process::exit(3);
    });
}

/// Child side: registers one persistent stream for `kind` *now* (the OS handler is installed
/// before this returns, so the caller may announce itself afterwards), and forwards every signal
/// into the returned channel from a task. Must be called inside a runtime with its IO driver on.
///
/// Signals arriving faster than the listener takes them coalesce in the stream (the OS does the
/// same), so a parent sends the next one only after the child acknowledged the previous.
pub fn forward_signals(kind: SignalKind) -> io::Result<mpsc::Receiver<()>> {
    let mut stream = signal(kind)?;
    let (tx, rx) = mpsc::channel(8);
    tokio::spawn(async move {
        while stream.recv().await.is_some() {
            if tx.send(()).await.is_err() {
                break; // the listener is done
            }
        }
    });
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_and_signal_deaths_are_described() {
        let exited = Command::new("sh").args(["-c", "exit 3"]).status().unwrap();
        assert_eq!(describe_exit(exited), "exited with code 3");
        assert_eq!(killed_by(exited), None);
        let killed = Command::new("sh")
            .args(["-c", "kill -TERM $$"])
            .status()
            .unwrap();
        assert_eq!(describe_exit(killed), "was killed by SIGTERM");
        assert_eq!(killed_by(killed), Some(Signal::SIGTERM));
    }

    #[test]
    fn lines_are_relayed_and_a_silent_child_is_killed_at_the_limit() {
        // `sh` stands in for this binary: it ignores the appended `--child` ($1 here).
        let mut child = SelfChild::start_program(
            Path::new("sh"),
            &["-c", "echo ready; echo oops >&2; exec sleep 30"],
        )
        .unwrap();
        assert_eq!(child.wait_for_line("ready", LIMIT).unwrap(), "ready");
        let started = Instant::now();
        let err = child
            .wait_for_line("never", Duration::from_millis(200))
            .unwrap_err();
        assert!(err.to_string().contains("(killed)"), "{err}");
        assert!(started.elapsed() < LIMIT);
        // Killed: the process has ended, so waiting returns at once with the signal.
        let status = child.wait(LIMIT).unwrap();
        assert_eq!(killed_by(status), Some(Signal::SIGKILL));
        assert!(child.lines().iter().any(|l| l.stderr && l.text == "oops"));
    }

    #[test]
    fn signals_reach_the_child_and_its_exit_is_reported() {
        let mut child = SelfChild::start_program(
            Path::new("sh"),
            &[
                "-c",
                "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.01; done",
            ],
        )
        .unwrap();
        child.wait_for_line("ready", LIMIT).unwrap();
        child.send(Signal::SIGTERM).unwrap();
        let status = child.wait(LIMIT).unwrap();
        assert_eq!(status.code(), Some(7));
        assert_eq!(child.stdout_lines(), ["ready", "got TERM"]);
    }

    #[test]
    fn a_child_that_outlives_the_limit_is_killed_and_reported() {
        let mut child =
            SelfChild::start_program(Path::new("sh"), &["-c", "exec sleep 30"]).unwrap();
        let err = child.wait(Duration::from_millis(100)).unwrap_err();
        assert!(err.to_string().contains("still running"), "{err}");
        assert!(matches!(child.child.try_wait(), Ok(Some(_))));
    }
}
