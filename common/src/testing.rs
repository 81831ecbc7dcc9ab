//! `testing` (feature `testing`): run a chapter binary the way a reader does, under a watchdog.
//!
//! Chapter tests that exercise the binary itself (the runner, argument errors, demos that spawn
//! children or print from other threads) live in `tests/*.rs` and find the binary through
//! `env!("CARGO_BIN_EXE_chNN")`: inside a test, `std::env::current_exe()` is the test harness, not
//! the chapter binary. Every run here has a time limit, so a demo that deadlocks fails its test
//! with a message instead of hanging `cargo test` forever. Standard input is closed unless the test
//! scripts it, as it is when a reader pipes nothing in.
//!
//! Servers that run until interrupted are started in the background with [`Run::start`] (or
//! [`serve_on_free_port`]) and stopped with [`Started::interrupt`], the SIGINT that Ctrl-C sends.
//!
//! Use it from a chapter's `[dev-dependencies]`: `common = { workspace = true, features = ["testing"] }`.
//!
//! ```
//! use common::testing::Run;
//! # // Any program will do for the example; a chapter test passes env!("CARGO_BIN_EXE_chNN").
//! let done = Run::new("sh").args(&["-c", "echo hello; echo oops >&2; exit 3"]).output();
//! assert_eq!(done.stdout, "hello\n");
//! assert_eq!(done.stderr, "oops\n");
//! assert_eq!(done.code(), Some(3));
//! ```

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long a run may take unless the test says otherwise.
///
/// ```
/// assert_eq!(common::testing::DEFAULT_LIMIT.as_secs(), 30);
/// ```
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(30);

/// Runs `bin` with `args`, stdin closed, under the [`DEFAULT_LIMIT`] watchdog.
///
/// The usual one-liner in a chapter test:
/// `let done = run(env!("CARGO_BIN_EXE_ch02"), &["list"]);`
///
/// ```
/// let done = common::testing::run("echo", &["list"]);
/// assert!(done.success());
/// assert_eq!(done.stdout, "list\n");
/// ```
pub fn run(bin: &str, args: &[&str]) -> Finished {
    Run::new(bin).args(args).output()
}

/// A run of a program, configured step by step, then started with [`Run::output`].
///
/// ```
/// use common::testing::Run;
/// use std::time::Duration;
/// let done = Run::new("cat").stdin("typed by the test\n").limit(Duration::from_secs(5)).output();
/// assert_eq!(done.stdout, "typed by the test\n");
/// ```
#[derive(Debug, Clone)]
pub struct Run {
    bin: OsString,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    stdin: Option<Vec<u8>>,
    limit: Duration,
}

impl Run {
    /// A run of `bin` with no arguments, stdin closed, and the default limit.
    ///
    /// ```
    /// let done = common::testing::Run::new("true").output();
    /// assert!(done.success());
    /// ```
    pub fn new(bin: impl Into<OsString>) -> Self {
        Run {
            bin: bin.into(),
            args: Vec::new(),
            envs: Vec::new(),
            stdin: None,
            limit: DEFAULT_LIMIT,
        }
    }

    /// Adds arguments.
    ///
    /// ```
    /// let done = common::testing::Run::new("echo").args(&["a", "b"]).args(&["c"]).output();
    /// assert_eq!(done.stdout, "a b c\n");
    /// ```
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(OsString::from));
        self
    }

    /// Sets an environment variable for the child.
    ///
    /// ```
    /// let done = common::testing::Run::new("sh").args(&["-c", "echo $GREETING"]).env("GREETING", "hi").output();
    /// assert_eq!(done.stdout, "hi\n");
    /// ```
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// Feeds `text` to the child's standard input, then closes it.
    ///
    /// ```
    /// let done = common::testing::Run::new("wc").args(&["-l"]).stdin("one\ntwo\n").output();
    /// assert_eq!(done.stdout.trim(), "2");
    /// ```
    pub fn stdin(mut self, text: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(text.into());
        self
    }

    /// Sets the watchdog: the child is killed, and the test panics, if it runs longer.
    ///
    /// ```should_panic
    /// use std::time::Duration;
    /// common::testing::Run::new("sleep").args(&["5"]).limit(Duration::from_millis(100)).output();
    /// ```
    pub fn limit(mut self, limit: Duration) -> Self {
        self.limit = limit;
        self
    }

    /// Starts the child and waits for it, at most the limit; returns what it printed.
    ///
    /// Panics if the program cannot start, or if it is still running at the limit (after killing
    /// it): both are test failures, and the message names the command line.
    ///
    /// ```
    /// let done = common::testing::Run::new("sh").args(&["-c", "exit 2"]).output();
    /// assert_eq!(done.code(), Some(2));
    /// ```
    pub fn output(self) -> Finished {
        let shown = self.command_line();
        let mut child = self
            .command()
            .spawn()
            .unwrap_or_else(|e| panic!("`{shown}` did not start: {e}"));

        // Pipes are drained on threads of their own: a child that fills a pipe buffer while
        // nobody reads would block forever and look like a hang.
        let stdin = child.stdin.take().zip(self.stdin).map(|(mut pipe, text)| {
            thread::spawn(move || {
                let _ = pipe.write_all(&text); // a child that exits early closes the pipe: fine
            })
        });
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);

        let deadline = Instant::now() + self.limit;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("`{shown}` did not finish within {:?}", self.limit);
                }
                Err(e) => panic!("waiting for `{shown}`: {e}"),
            }
        };
        if let Some(writer) = stdin {
            let _ = writer.join();
        }
        let text = |reader: Option<thread::JoinHandle<String>>| {
            reader
                .map(|r| r.join().unwrap_or_default())
                .unwrap_or_default()
        };
        Finished {
            status,
            stdout: text(stdout),
            stderr: text(stderr),
        }
    }

    /// Starts the child in the background and returns once a line of its standard output contains
    /// `ready` (for a server: the line saying it listens). Stdin is closed or scripted as set.
    ///
    /// Returns `Err` with what it printed if the child exits first or stays silent for the whole
    /// limit (it is killed then). The returned [`Started`] kills the child when dropped, so a test
    /// that fails halfway leaves no process behind.
    ///
    /// ```
    /// let server = common::testing::Run::new("sh")
    ///     .args(&["-c", "echo listening; exec sleep 30"])
    ///     .start("listening")
    ///     .unwrap();
    /// assert_eq!(server.lines(), ["listening"]);
    /// drop(server); // killed
    /// assert!(common::testing::Run::new("true").start("listening").is_err());
    /// ```
    pub fn start(self, ready: &str) -> Result<Started, String> {
        let shown = self.command_line();
        let mut child = self
            .command()
            .spawn()
            .unwrap_or_else(|e| panic!("`{shown}` did not start: {e}"));
        if let Some((mut pipe, text)) = child.stdin.take().zip(self.stdin) {
            thread::spawn(move || {
                let _ = pipe.write_all(&text);
            });
        }
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let stderr = child.stderr.take().map(drain);
        let mut started = Started {
            child,
            lines,
            seen: Vec::new(),
            stderr,
            limit: self.limit,
            shown,
        };
        let deadline = Instant::now() + self.limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match started.lines.recv_timeout(left) {
                Ok(line) => {
                    let is_ready = line.contains(ready);
                    started.seen.push(line);
                    if is_ready {
                        return Ok(started);
                    }
                }
                Err(_) => return Err(started.seen.join("\n")), // exited or silent: killed on drop
            }
        }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .args(&self.args)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    fn command_line(&self) -> String {
        std::iter::once(&self.bin)
            .chain(&self.args)
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Reads a pipe to its end on a thread of its own.
fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// What a finished run left: its exit status and everything it printed.
///
/// ```
/// let done = common::testing::run("sh", &["-c", "echo out; echo err >&2"]);
/// assert!(done.success());
/// assert_eq!(done.expect_success(), "out\n");
/// ```
#[derive(Debug, Clone)]
pub struct Finished {
    /// How the program ended.
    pub status: ExitStatus,
    /// Everything on standard output (lossy UTF-8).
    pub stdout: String,
    /// Everything on standard error (lossy UTF-8).
    pub stderr: String,
}

impl Finished {
    /// The exit code; `None` if a signal ended the program.
    ///
    /// ```
    /// assert_eq!(common::testing::run("false", &[]).code(), Some(1));
    /// ```
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Whether it exited with code 0.
    ///
    /// ```
    /// assert!(common::testing::run("true", &[]).success());
    /// ```
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// The standard output of a successful run; panics with both streams otherwise.
    ///
    /// ```should_panic
    /// common::testing::run("sh", &["-c", "echo broken >&2; exit 1"]).expect_success();
    /// ```
    pub fn expect_success(&self) -> &str {
        assert!(
            self.success(),
            "exited with {}\n--- stdout\n{}\n--- stderr\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        &self.stdout
    }

    /// The standard error of a run that ended with a usage error (exit code 2); panics otherwise.
    ///
    /// ```
    /// let done = common::testing::run("sh", &["-c", "echo 'bad --n' >&2; exit 2"]);
    /// assert!(done.expect_usage_error().contains("bad --n"));
    /// ```
    pub fn expect_usage_error(&self) -> &str {
        assert_eq!(
            self.code(),
            Some(2),
            "expected a usage error (exit 2)\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        &self.stderr
    }
}

/// A free address on the loopback interface, for a child server to bind.
///
/// The port is found by binding port 0 and released at once, so another process could take it
/// before the child binds it: [`serve_on_free_port`] retries when that happens.
///
/// ```
/// let addr = common::testing::free_local_addr();
/// assert!(addr.ip().is_loopback() && addr.port() != 0);
/// ```
pub fn free_local_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("binding 127.0.0.1:0 gives a free port")
}

/// Starts `bin args…` with `{addr}` in `args` replaced by a free loopback address, and waits until
/// it prints a line containing `ready`; tries up to five addresses in case one was taken meanwhile.
///
/// ```
/// use common::testing::serve_on_free_port;
/// let (server, addr) = serve_on_free_port("sh", &["-c", "echo serving on $0; exec sleep 30", "{addr}"], "serving on");
/// assert_eq!(server.lines(), [format!("serving on {addr}")]);
/// ```
pub fn serve_on_free_port(bin: &str, args: &[&str], ready: &str) -> (Started, SocketAddr) {
    let mut printed = String::new();
    for _ in 0..5 {
        let addr = free_local_addr();
        let text = addr.to_string();
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "{addr}" { text.as_str() } else { a })
            .collect();
        match Run::new(bin).args(&args).start(ready) {
            Ok(started) => return (started, addr),
            Err(output) => printed = output,
        }
    }
    panic!(
        "`{bin} {}` never printed `{ready}`; it printed:\n{printed}",
        args.join(" ")
    );
}

/// A child started by [`Run::start`], still running; killed when dropped.
#[derive(Debug)]
pub struct Started {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr: Option<thread::JoinHandle<String>>,
    limit: Duration,
    shown: String,
}

impl Started {
    /// The child's process id.
    ///
    /// ```
    /// let server = common::testing::Run::new("sh").args(&["-c", "echo up; exec sleep 30"]).start("up").unwrap();
    /// assert!(server.id() > 0);
    /// ```
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The lines of standard output read so far (up to and including the ready line, plus any
    /// read since by [`Started::interrupt`]).
    ///
    /// ```
    /// let server = common::testing::Run::new("sh").args(&["-c", "echo one; echo two; exec sleep 30"]).start("two").unwrap();
    /// assert_eq!(server.lines(), ["one", "two"]);
    /// ```
    pub fn lines(&self) -> &[String] {
        &self.seen
    }

    /// Sends SIGINT, as Ctrl-C does, and waits for the child to exit (at most the run's limit,
    /// else it is killed and the test panics). Returns how long the exit took after the signal,
    /// and everything the child printed, the ready line included.
    ///
    /// ```
    /// let server = common::testing::Run::new("sh")
    ///     .args(&["-c", "trap 'echo bye; exit 0' INT; echo ready; while :; do sleep 0.01; done"])
    ///     .start("ready")
    ///     .unwrap();
    /// let (took, done) = server.interrupt();
    /// assert!(done.success());
    /// assert_eq!(done.stdout, "ready\nbye\n");
    /// assert!(took < std::time::Duration::from_secs(5));
    /// ```
    #[cfg(unix)]
    pub fn interrupt(mut self) -> (Duration, Finished) {
        let asked = Instant::now();
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status();
        assert!(
            sent.is_ok_and(|s| s.success()),
            "could not send SIGINT to `{}`",
            self.shown
        );
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if asked.elapsed() < self.limit => thread::sleep(Duration::from_millis(5)),
                Ok(None) => panic!(
                    "`{}` still ran {:?} after SIGINT (it is killed now)",
                    self.shown, self.limit
                ),
                Err(e) => panic!("waiting for `{}`: {e}", self.shown),
            }
        };
        let took = asked.elapsed();
        // The reader thread ends with the pipe, once the child has exited.
        while let Ok(line) = self.lines.recv_timeout(self.limit) {
            self.seen.push(line);
        }
        let stderr = self
            .stderr
            .take()
            .map(|r| r.join().unwrap_or_default())
            .unwrap_or_default();
        let mut stdout = self.seen.join("\n");
        if !stdout.is_empty() {
            stdout.push('\n');
        }
        (
            took,
            Finished {
                status,
                stdout,
                stderr,
            },
        )
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
