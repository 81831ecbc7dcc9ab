//! The demo runner: what every chapter's `main.rs` calls.
//!
//! A chapter binary is a table of demos and one call to [`run_chapter`]. Each row names the demo's
//! id (what a reader types), the book section it follows, and the function that runs it:
//!
//! ```no_run
//! use common::demo::{Args, Demo, DemoResult, run_chapter};
//!
//! fn hello(mut args: Args) -> DemoResult {
//!     let name = args.value_or("name", String::from("reader"))?;
//!     args.finish()?;
//!     println!("hello, {name}");
//!     Ok(())
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     run_chapter("ch00", &[Demo::new("hello", "Preface", hello)])
//! }
//! ```
//!
//! The binary then behaves the same way in every chapter:
//!
//! | command | what happens | exit code |
//! |---|---|---|
//! | `cargo run -p chNN` | every demo, in book order, each under a banner; stops at the first failure | 0, or 1 |
//! | `cargo run -p chNN -- list` | one `<id>  <section>` line per demo | 0 |
//! | `cargo run -p chNN -- <id> [args…]` | one demo with its own arguments | 0, or 1 if it failed |
//! | `cargo run -p chNN -- nope` | the list of ids, on stderr | 2 |
//! | a bad argument (`--n abc`) | the error and the usage line, on stderr | 2 |
//!
//! An async demo is a plain function too: put `#[tokio::main]` on an `async fn` (the attribute works
//! on any function, not only `main`) and the demo builds its own runtime, configured as the lesson
//! needs. The runner itself stays std-only, so a chapter without tokio can use it.
//!
//! Arguments are parsed by [`Args`], so `--url URL`, numbers and flags parse the same way
//! everywhere, and a bad value is a [`UsageError`] (exit code 2), never a panic.

use std::collections::VecDeque;
use std::error::Error;
use std::fmt;
use std::io::Write;
use std::ops::RangeInclusive;
use std::process::ExitCode;
use std::str::FromStr;

/// What a demo returns: `Ok(())`, or any error, which the runner prints on stderr (exit code 1).
///
/// Return a [`UsageError`] for a bad argument: the runner then also prints the usage and exits
/// with 2. Any other error type converts with `?` or `.into()`:
///
/// ```
/// use common::demo::DemoResult;
/// fn parse_port(text: &str) -> DemoResult {
///     let port: u16 = text.parse()?; // a ParseIntError becomes the boxed error
///     println!("port {port}");
///     Ok(())
/// }
/// assert!(parse_port("8080").is_ok());
/// assert_eq!(parse_port("http").unwrap_err().to_string(), "invalid digit found in string");
/// ```
pub type DemoResult = Result<(), Box<dyn Error + Send + Sync>>;

/// One row of a chapter's table of demos.
///
/// ```
/// use common::demo::{Args, Demo};
/// const DEMOS: &[Demo] = &[
///     Demo::new("first", "Section One", |_args: Args| Ok(())),
///     Demo::new("second", "Section Two", |_args: Args| Ok(())).with_usage("[--n N]"),
/// ];
/// assert_eq!(DEMOS[1].section, "Section Two");
/// ```
#[derive(Clone, Copy)]
pub struct Demo {
    /// What a reader types after `--`, e.g. `joined-requests`. Its module is the id with
    /// underscores: `src/joined_requests.rs`.
    pub id: &'static str,
    /// The book section the demo follows, printed in the banner and by `list`.
    pub section: &'static str,
    /// Runs the demo with the arguments that followed its id (none when the whole chapter runs).
    pub run: fn(Args) -> DemoResult,
    /// A one-line summary of the demo's own arguments, shown in usage errors, e.g.
    /// `[--url URL] [--delay-ms D]`.
    pub usage: &'static str,
}

impl Demo {
    /// A demo row without arguments worth listing.
    ///
    /// ```
    /// use common::demo::{Args, Demo};
    /// let demo = Demo::new("hello", "Preface", |_args: Args| Ok(()));
    /// assert_eq!(demo.id, "hello");
    /// ```
    pub const fn new(id: &'static str, section: &'static str, run: fn(Args) -> DemoResult) -> Self {
        Demo {
            id,
            section,
            run,
            usage: "",
        }
    }

    /// The same row, with a usage line for its arguments.
    ///
    /// ```
    /// use common::demo::{Args, Demo};
    /// let demo = Demo::new("fetch", "HTTP", |_args: Args| Ok(())).with_usage("[--url URL]");
    /// assert_eq!(demo.usage, "[--url URL]");
    /// ```
    pub const fn with_usage(self, usage: &'static str) -> Self {
        Demo { usage, ..self }
    }
}

impl fmt::Debug for Demo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Demo")
            .field("id", &self.id)
            .field("section", &self.section)
            .field("usage", &self.usage)
            .finish()
    }
}

/// Runs a chapter binary: reads `std::env::args()` and dispatches as the module docs describe.
///
/// `chapter` names the binary in banners and messages (`"ch01"`). A chapter's whole `main.rs`:
///
/// ```no_run
/// use common::demo::{Args, Demo, run_chapter};
/// fn main() -> std::process::ExitCode {
///     run_chapter("ch00", &[Demo::new("hello", "Preface", |_args: Args| Ok(()))])
/// }
/// ```
///
/// (`no_run`: run from a doctest it would read the doctest's own arguments; [`dispatch`] is the
/// same code with the arguments and streams passed in, and its example runs.)
pub fn run_chapter(chapter: &str, demos: &[Demo]) -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    ExitCode::from(dispatch_to_std(chapter, demos, argv))
}

/// [`dispatch`] writing to the process's stdout and stderr.
fn dispatch_to_std(chapter: &str, demos: &[Demo], argv: Vec<String>) -> u8 {
    // Unlocked handles: each write takes the lock only for itself. Holding `stdout().lock()` for
    // the whole dispatch would deadlock every demo that prints from a thread or a tokio worker
    // while the main thread waits for it.
    dispatch(
        chapter,
        demos,
        argv,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    )
}

/// The whole dispatch, with the arguments and both output streams passed in so it can be tested.
/// Returns the exit code: 0 (ok), 1 (a demo failed), 2 (unknown id or bad arguments).
///
/// ```
/// use common::demo::{Args, Demo, dispatch};
/// let demos = [Demo::new("hello", "Preface", |_args: Args| Ok(()))];
/// let (mut out, mut err) = (Vec::new(), Vec::new());
/// let code = dispatch("ch00", &demos, vec!["list".into()], &mut out, &mut err);
/// assert_eq!(code, 0);
/// assert_eq!(String::from_utf8(out).unwrap(), "hello  Preface\n");
/// ```
pub fn dispatch(
    chapter: &str,
    demos: &[Demo],
    argv: Vec<String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let mut argv = VecDeque::from(argv);
    // Output errors (a closed pipe, say) are ignored: there is nowhere left to report them.
    match argv.pop_front().as_deref() {
        None => run_all(chapter, demos, out, err),
        Some("list") if argv.is_empty() => {
            let _ = write!(out, "{}", listing(demos));
            0
        }
        Some("help" | "--help" | "-h") => {
            let _ = write!(out, "{}", help(chapter, demos));
            0
        }
        Some(id) => match demos.iter().find(|d| d.id == id) {
            Some(demo) => run_one(chapter, demo, Args::new(argv), err),
            None => {
                let _ = writeln!(err, "error: {chapter} has no demo `{id}`. The demos are:\n");
                let _ = write!(err, "{}", listing(demos));
                2
            }
        },
    }
}

fn run_all(chapter: &str, demos: &[Demo], out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    for demo in demos {
        let _ = writeln!(out, "\n{}", banner(chapter, demo));
        let _ = out.flush();
        let code = run_one(chapter, demo, Args::default(), err);
        if code != 0 {
            let _ = writeln!(
                err,
                "{chapter}: stopped at `{}`; run it alone with `cargo run -p {chapter} -- {}`",
                demo.id, demo.id
            );
            return code;
        }
    }
    let _ = writeln!(out, "\n{chapter}: all {} demos finished", demos.len());
    0
}

fn run_one(chapter: &str, demo: &Demo, args: Args, err: &mut dyn Write) -> u8 {
    match (demo.run)(args) {
        Ok(()) => 0,
        Err(e) if e.is::<UsageError>() => {
            let _ = writeln!(err, "error: {e}");
            let _ = writeln!(
                err,
                "usage: cargo run -p {chapter} -- {} {}",
                demo.id, demo.usage
            );
            2
        }
        Err(e) => {
            let _ = writeln!(err, "error in `{}`: {e}", demo.id);
            let mut source = e.source();
            while let Some(cause) = source {
                let _ = writeln!(err, "  caused by: {cause}");
                source = cause.source();
            }
            1
        }
    }
}

/// The banner printed above a demo when the whole chapter runs.
fn banner(chapter: &str, demo: &Demo) -> String {
    let title = format!(" {chapter} · {} — {} ", demo.id, demo.section);
    let width = 78usize.max(title.chars().count() + 8);
    let rule = "═".repeat(width);
    format!("{rule}\n{title}\n{rule}")
}

/// One `<id>  <section>` line per demo, ids padded so the sections line up.
fn listing(demos: &[Demo]) -> String {
    let width = demos.iter().map(|d| d.id.len()).max().unwrap_or(0);
    demos
        .iter()
        .map(|d| format!("{:width$}  {}\n", d.id, d.section))
        .collect()
}

fn help(chapter: &str, demos: &[Demo]) -> String {
    let mut text = format!(
        "usage: cargo run -p {chapter} [-- list | -- <id> [args…]]\n\n\
         With no argument every demo runs in book order. The demos:\n\n"
    );
    let width = demos.iter().map(|d| d.id.len()).max().unwrap_or(0);
    for d in demos {
        text += &format!("  {:width$}  {}  {}\n", d.id, d.usage, d.section);
    }
    text
}

/// A bad command-line argument: the runner prints it with the demo's usage and exits with 2.
///
/// ```
/// use common::demo::{Args, DemoResult, UsageError};
/// fn demo(mut args: Args) -> DemoResult {
///     if args.flag("both")? && args.flag("neither")? {
///         return Err(UsageError("`--both` and `--neither` exclude each other".into()).into());
///     }
///     args.finish()?;
///     Ok(())
/// }
/// let err = demo(Args::from_iter(["--both", "--neither"])).unwrap_err();
/// assert!(err.is::<UsageError>()); // the runner exits with 2 for this one
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for UsageError {}

/// The arguments that followed a demo's id, parsed the same way in every chapter.
///
/// Options are `--name value` or `--name=value`; flags are a bare `--name`. Each getter takes what
/// it reads out of the list, and [`Args::finish`] rejects whatever is left, so a typo is an error
/// rather than silently ignored.
///
/// ```
/// use common::demo::Args;
/// let mut args = Args::from_iter(["--n", "32", "--url=http://127.0.0.1:1/", "--quiet"]);
/// assert_eq!(args.value_or("n", 10u64).unwrap(), 32);
/// assert_eq!(args.value_or("threads", 8usize).unwrap(), 8); // absent: the default
/// assert_eq!(args.url().unwrap().as_deref(), Some("http://127.0.0.1:1/"));
/// assert!(args.flag("quiet").unwrap());
/// args.finish().unwrap();
///
/// let mut bad = Args::from_iter(["--n", "abc"]);
/// assert!(bad.value_or("n", 10u64).is_err());
/// ```
#[derive(Debug, Default, Clone)]
pub struct Args {
    rest: Vec<String>,
}

impl Args {
    /// Wraps the raw arguments.
    ///
    /// ```
    /// use common::demo::Args;
    /// let args = Args::new(vec!["--n".to_string(), "3".to_string()]);
    /// assert!(args.finish().is_err()); // nothing took `--n 3`
    /// ```
    pub fn new(args: impl IntoIterator<Item = String>) -> Self {
        Args {
            rest: args.into_iter().collect(),
        }
    }

    /// Wraps string slices: handy in tests and doc examples.
    ///
    /// ```
    /// use common::demo::Args;
    /// assert!(Args::from_iter([]).finish().is_ok());
    /// ```
    #[allow(clippy::should_implement_trait)] // an inherent name reads better at call sites
    pub fn from_iter<'a>(args: impl IntoIterator<Item = &'a str>) -> Self {
        Args::new(args.into_iter().map(String::from))
    }

    /// Takes the raw text of `--name value` or `--name=value`, if present.
    ///
    /// ```
    /// use common::demo::Args;
    /// let mut args = Args::from_iter(["--dir=/tmp/x", "--name", "ada"]);
    /// assert_eq!(args.raw("dir").unwrap().as_deref(), Some("/tmp/x"));
    /// assert_eq!(args.raw("name").unwrap().as_deref(), Some("ada"));
    /// assert_eq!(args.raw("name").unwrap(), None); // taken already
    /// ```
    pub fn raw(&mut self, name: &str) -> Result<Option<String>, UsageError> {
        let long = format!("--{name}");
        let prefix = format!("--{name}=");
        let Some(i) = self
            .rest
            .iter()
            .position(|a| *a == long || a.starts_with(&prefix))
        else {
            return Ok(None);
        };
        let arg = self.rest.remove(i);
        if let Some(value) = arg.strip_prefix(&prefix) {
            return Ok(Some(value.to_string()));
        }
        if i < self.rest.len() && !self.rest[i].starts_with("--") {
            return Ok(Some(self.rest.remove(i)));
        }
        Err(UsageError(format!("`{long}` needs a value")))
    }

    /// Parses `--name value` into `T`, if present. A value that does not parse is an error.
    ///
    /// ```
    /// use common::demo::Args;
    /// let mut args = Args::from_iter(["--ratio", "0.5", "--n", "x"]);
    /// assert_eq!(args.value::<f64>("ratio").unwrap(), Some(0.5));
    /// assert_eq!(args.value::<u8>("missing").unwrap(), None);
    /// let err = args.value::<u32>("n").unwrap_err();
    /// assert_eq!(err.to_string(), "`--n x`: invalid digit found in string");
    /// ```
    pub fn value<T>(&mut self, name: &str) -> Result<Option<T>, UsageError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.raw(name)? {
            None => Ok(None),
            Some(text) => text
                .parse()
                .map(Some)
                .map_err(|e| UsageError(format!("`--{name} {text}`: {e}"))),
        }
    }

    /// Like [`Args::value`], with a default for when the option is absent.
    ///
    /// ```
    /// use common::demo::Args;
    /// let mut args = Args::from_iter(["--delay-ms", "250"]);
    /// assert_eq!(args.value_or("delay-ms", 100u64).unwrap(), 250);
    /// assert_eq!(args.value_or("count", 50usize).unwrap(), 50);
    /// ```
    pub fn value_or<T>(&mut self, name: &str, default: T) -> Result<T, UsageError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        Ok(self.value(name)?.unwrap_or(default))
    }

    /// Like [`Args::value_or`], and the value must lie in `range`.
    ///
    /// ```
    /// use common::demo::Args;
    /// let mut args = Args::from_iter(["--n", "94"]);
    /// let err = args.value_in("n", 32u64, 0..=93).unwrap_err();
    /// assert_eq!(err.to_string(), "`--n 94` is out of range: expected 0..=93");
    /// ```
    pub fn value_in<T>(
        &mut self,
        name: &str,
        default: T,
        range: RangeInclusive<T>,
    ) -> Result<T, UsageError>
    where
        T: FromStr + PartialOrd + fmt::Display,
        T::Err: fmt::Display,
    {
        let value = self.value_or(name, default)?;
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(UsageError(format!(
                "`--{name} {value}` is out of range: expected {}..={}",
                range.start(),
                range.end()
            )))
        }
    }

    /// Takes the flag `--name`; `true` if it was there. `--name=value` is an error.
    ///
    /// ```
    /// use common::demo::Args;
    /// let mut args = Args::from_iter(["--quiet"]);
    /// assert!(args.flag("quiet").unwrap());
    /// assert!(!args.flag("verbose").unwrap());
    /// assert!(Args::from_iter(["--quiet=yes"]).flag("quiet").is_err());
    /// ```
    pub fn flag(&mut self, name: &str) -> Result<bool, UsageError> {
        let long = format!("--{name}");
        if let Some(i) = self.rest.iter().position(|a| *a == long) {
            self.rest.remove(i);
            return Ok(true);
        }
        if self.rest.iter().any(|a| a.starts_with(&format!("{long}="))) {
            return Err(UsageError(format!("`{long}` is a flag and takes no value")));
        }
        Ok(false)
    }

    /// Takes `--url URL`, if present; it must start with `http://` or `https://`.
    ///
    /// ```
    /// use common::demo::Args;
    /// let mut args = Args::from_iter(["--url", "http://127.0.0.1:8000/posts/1"]);
    /// assert_eq!(args.url().unwrap().as_deref(), Some("http://127.0.0.1:8000/posts/1"));
    /// assert!(Args::from_iter(["--url", "localhost:8000"]).url().is_err());
    /// ```
    pub fn url(&mut self) -> Result<Option<String>, UsageError> {
        match self.raw("url")? {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => Ok(Some(url)),
            Some(url) => Err(UsageError(format!(
                "`--url {url}`: expected an http:// or https:// URL"
            ))),
            None => Ok(None),
        }
    }

    /// Ends parsing: an error if any argument was not taken by a getter.
    ///
    /// ```
    /// use common::demo::Args;
    /// let mut args = Args::from_iter(["--n", "3", "--typo", "4"]);
    /// args.value_or("n", 1u32).unwrap();
    /// assert_eq!(args.finish().unwrap_err().to_string(), "unexpected argument(s): --typo 4");
    /// ```
    pub fn finish(self) -> Result<(), UsageError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(UsageError(format!(
                "unexpected argument(s): {}",
                self.rest.join(" ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static RUNS: AtomicUsize = AtomicUsize::new(0);

    fn ok(args: Args) -> DemoResult {
        RUNS.fetch_add(1, Ordering::SeqCst);
        args.finish()?;
        println!("ok ran");
        Ok(())
    }

    fn needs_number(mut args: Args) -> DemoResult {
        let n: u32 = args.value_or("n", 1)?;
        args.finish()?;
        if n == 13 {
            return Err("unlucky".into());
        }
        Ok(())
    }

    fn fails(_: Args) -> DemoResult {
        Err(std::io::Error::other("boom").into())
    }

    const DEMOS: [Demo; 3] = [
        Demo::new("first", "Section One", ok),
        Demo::new("number-demo", "Section Two", needs_number).with_usage("[--n N]"),
        Demo::new("broken", "Section Three", fails),
    ];

    fn run(demos: &[Demo], argv: &[&str]) -> (u8, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let argv = argv.iter().map(|s| s.to_string()).collect();
        let code = dispatch("chXX", demos, argv, &mut out, &mut err);
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn list_prints_ids_then_sections_in_order() {
        let (code, out, err) = run(&DEMOS, &["list"]);
        assert_eq!(code, 0);
        assert_eq!(
            out,
            "first        Section One\nnumber-demo  Section Two\nbroken       Section Three\n"
        );
        assert_eq!(err, "");
    }

    #[test]
    fn unknown_id_lists_the_demos_on_stderr_and_exits_2() {
        let (code, out, err) = run(&DEMOS, &["nope"]);
        assert_eq!(code, 2);
        assert_eq!(out, "");
        assert!(err.contains("no demo `nope`"), "{err}");
        assert!(err.contains("number-demo  Section Two"), "{err}");
    }

    #[test]
    fn bad_arguments_exit_2_with_usage() {
        let (code, _, err) = run(&DEMOS, &["number-demo", "--n", "abc"]);
        assert_eq!(code, 2);
        assert!(err.contains("`--n abc`"), "{err}");
        assert!(
            err.contains("usage: cargo run -p chXX -- number-demo [--n N]"),
            "{err}"
        );

        let (code, _, err) = run(&DEMOS, &["number-demo", "--m", "1"]);
        assert_eq!(code, 2);
        assert!(err.contains("unexpected argument(s): --m 1"), "{err}");
    }

    #[test]
    fn a_failing_demo_exits_1_with_its_error() {
        let (code, _, err) = run(&DEMOS, &["number-demo", "--n=13"]);
        assert_eq!(code, 1);
        assert!(err.contains("error in `number-demo`: unlucky"), "{err}");
        assert_eq!(run(&DEMOS, &["number-demo", "--n", "12"]).0, 0);
    }

    #[test]
    fn no_argument_runs_all_in_order_and_stops_at_the_first_failure() {
        let before = RUNS.load(Ordering::SeqCst);
        let (code, out, err) = run(&DEMOS, &[]);
        assert_eq!(code, 1);
        assert!(RUNS.load(Ordering::SeqCst) > before);
        let first = out.find("chXX · first — Section One").unwrap();
        let second = out.find("chXX · number-demo — Section Two").unwrap();
        let third = out.find("chXX · broken — Section Three").unwrap();
        assert!(first < second && second < third, "{out}");
        assert!(err.contains("stopped at `broken`"), "{err}");

        let (code, out, _) = run(&DEMOS[..2], &[]);
        assert_eq!(code, 0);
        assert!(out.contains("all 2 demos finished"), "{out}");
    }

    fn prints_from_another_thread(args: Args) -> DemoResult {
        args.finish()?;
        let worker = std::thread::spawn(|| println!("printed by a worker thread"));
        worker.join().map_err(|_| "the worker panicked")?;
        Ok(())
    }

    #[test]
    fn demos_may_print_from_other_threads_while_main_waits() {
        // Regression: the runner once held the stdout lock for the whole demo, and this deadlocked.
        let demos = [Demo::new("threads", "Threads", prints_from_another_thread)];
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let code = dispatch_to_std("chXX", &demos, vec!["threads".into()]);
            let _ = done.send(code);
        });
        let code = finished.recv_timeout(std::time::Duration::from_secs(10));
        assert_eq!(code, Ok(0), "the demo deadlocked or failed");
    }

    #[test]
    fn args_reject_missing_values_and_values_on_flags() {
        let mut args = Args::from_iter(["--n"]);
        assert_eq!(
            args.value::<u32>("n").unwrap_err().to_string(),
            "`--n` needs a value"
        );
        let mut args = Args::from_iter(["--n", "--quiet"]);
        assert!(args.value::<u32>("n").is_err());
        let mut args = Args::from_iter(["--quiet=yes"]);
        assert!(args.flag("quiet").is_err());
        let mut args = Args::from_iter(["--url", "ftp://x"]);
        assert!(args.url().is_err());
        let mut args = Args::from_iter(["--url", "https://example.com/a"]);
        assert_eq!(
            args.url().unwrap().as_deref(),
            Some("https://example.com/a")
        );
        assert!(args.finish().is_ok());
    }
}
