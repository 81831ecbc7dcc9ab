//! `user-input-callbacks`: input arrives through a callback and re-renders the display at once
//! (book section "Getting User Input via Callbacks").
//!
//! The heating system of the previous sections runs as before: heat loss, the heater, and the
//! display observer that switches the heater. Now a *device* also calls a callback of ours for
//! every input line, on the device's own thread. The callback records the input and renders the
//! display immediately, without waiting for the temperature to change; this is the point of the
//! section. The display observer renders through the same [`render`] when the temperature changes.
//! Both share one [`Console`] behind one mutex, so their lines never interleave. The callback stays
//! registered for as long as its [`CallbackGuard`] lives: dropping the guard unregisters it, as
//! with `device_query`'s guard in the book.
//!
//! The book's suggested exercise is done: `+` raises the set point by 0.05 °C, `-` lowers it, and
//! any other line is appended to `Input:`. The display still decides about the heater only when
//! the *temperature* changes, as in the book, so a new set point takes effect at the next change.
//!
//! Run it with `cargo run -p ch06 -- user-input-callbacks [--periods 20] [--period-ms 75]
//! [--script "h,i,+,+,-" | --stdin]`. Where the lines come from:
//!
//! - stdin is a terminal: type lines (`+`, `-`, anything else) and press Enter; the demo runs for a
//!   fixed time (80 periods, 6 s, unless `--periods` says otherwise) and ends by itself;
//! - stdin is not a terminal (closed, as under `cargo test`, or piped): a script plays one line
//!   per period, by default `h,i,+,+,-`; `--script "a,b,+"` plays another one;
//! - `--stdin` reads piped text instead: `printf '+\n+\n' | cargo run -p ch06 -- user-input-callbacks --stdin`.
//!
//! Each render is one line, appended (the book clears the screen first), and a timeline chart at the
//! end shows which thread ran each reaction: input callbacks on the device's thread, the display
//! on a runtime worker.
//!
//! How we differ from the book:
//!
//! - `device_query` needs the X11 development headers to build and a graphical display to run (it
//!   fails over SSH and in CI), and it reads the *global* keyboard state, not the terminal: keys
//!   typed into any window count. Ours reads lines from stdin, and plays a script when nobody can
//!   type, so the demo never waits;
//! - the book keeps the input in `static INPUT` (and the subjects in statics); ours lives in a
//!   [`Console`] passed to the callback and the display;
//! - the book's `render` clears the screen *before* taking the stdout lock, so another render can
//!   land between the clear and the text; its callback locks `INPUT` twice (append, unlock, lock
//!   again to render), and nothing orders the callback's render against the display's, so the
//!   display can show older input after a newer one. Ours renders under the one console lock that
//!   also guards the input;
//! - the prose says the display's `poll` now calls `render`, but the changed `poll` is never shown:
//!   our display passes its temperature snapshot and the current input;
//! - `clearscreen::clear().unwrap()` and `flush().unwrap()` panic when stdout is closed; a failed
//!   write here ends the demo with the error instead;
//! - the book's `main` never returns (the observers run forever and the guard lives until the
//!   process is killed). Ours drops the guard and stops the observers after a set time.

use std::fmt;
use std::io::{self, BufRead, IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use common::Timeline;
use common::demo::{Args, DemoResult, UsageError};
use common::timeline::CountPolls;
use tokio::task::JoinError;

use crate::display_observer::{DisplayFuture, Update};
use crate::heater_heat_loss::{HeatLossFuture, HeaterFuture};
use crate::input::{self, DEFAULT_SCRIPT};
use crate::sim;
use crate::subjects_atomics::{Reading, Subjects, on_off};

/// The book's `render`: the three values and the input, written in one go.
///
/// Ours writes one line to `out` (any writer: stdout in the demo, a buffer in tests) and returns the
/// write error instead of unwrapping it. Callers hold the [`Console`] lock around it.
// Book: clears the screen with `clearscreen::clear().unwrap()` first, then prints four lines;
// ours appends one line, so the history stays readable in a log or a pipe.
pub fn render(out: &mut impl Write, reading: Reading, input: &str) -> io::Result<()> {
    writeln!(out, "{reading} | Input: {input}")?;
    out.flush()
}

/// How far one `+` or `-` moves the set point: 5 hundredths, 0.05 °C.
pub const DESIRED_STEP: i16 = 5;

/// The book's input callback: applies one input line and renders at once.
///
/// `+` and `-` move the set point by [`DESIRED_STEP`]; any other line is appended to the input.
/// The input is changed and rendered under one lock of `console`.
pub fn on_input(subjects: &Subjects, console: &Mutex<Console>, line: &str) {
    // Book: locks `INPUT` to append, unlocks, locks it again to render; ours holds one lock for
    // both, so a display render cannot slip in between and show the input out of order.
    let mut console = lock(console);
    let line = line.trim();
    match line {
        "+" => {
            subjects.add_desired_temp(DESIRED_STEP);
        }
        "-" => {
            subjects.add_desired_temp(-DESIRED_STEP);
        }
        other => console.input.push_str(other),
    }
    console.show(Cause::Input(line.to_string()), subjects.reading());
}

/// The display's side: what the display observer calls for each reaction, rendering the snapshot
/// it decided on (with the heater as it is after its decision) and the current input.
pub fn display_sink(console: Arc<Mutex<Console>>) -> impl FnMut(Update) + Send + Unpin + 'static {
    move |update: Update| {
        let reading = Reading {
            heat_on: update.heat_on_after(),
            ..update.reading
        };
        lock(&console).show(
            Cause::Display {
                switched_to: update.switched_to,
            },
            reading,
        );
    }
}

/// Where the input lines come from.
pub enum Source {
    /// Lines played by a tokio task: `lines[i]` at `first + i × every` from the start.
    Script {
        /// The lines, in order.
        lines: Vec<String>,
        /// When the first one arrives.
        first: Duration,
        /// The time between two lines.
        every: Duration,
    },
    /// Lines read by a thread (`stdin-reader`) as they arrive: stdin, or a `Cursor` in tests.
    Reader(Box<dyn BufRead + Send>),
}

/// How long [`run_with_input`] runs.
#[derive(Debug, Clone, Copy)]
pub struct InputConfig {
    /// The heater and heat-loss period (the book's is 3 s).
    pub period: Duration,
    /// How many periods to run before stopping.
    pub periods: u32,
}

/// The book's `main` for this section: registers the input callback with `device`, starts the
/// input source, spawns the three observers, and (ours) after `config.periods` periods drops the
/// guard and stops the observers. What was shown is in the console's history.
pub async fn run_with_input(
    subjects: Arc<Subjects>,
    console: Arc<Mutex<Console>>,
    device: Arc<LineDevice>,
    source: Source,
    config: InputConfig,
    timeline: &Timeline,
) -> Result<(), JoinError> {
    // Book: `DEVICE_STATE.on_key_down(|key| ..)` on a static device and a static input; ours
    // registers with the device and the console this function is handed.
    let guard = device.on_line({
        let (subjects, console) = (Arc::clone(&subjects), Arc::clone(&console));
        move |line| on_input(&subjects, &console, line)
    });
    let deliver = {
        let device = Arc::clone(&device);
        move |line: &str| device.deliver(line)
    };
    let script = match source {
        Source::Script {
            lines,
            first,
            every,
        } => Some(input::play_script(lines, first, every, deliver)),
        Source::Reader(reader) => {
            if let Err(e) = input::read_lines(reader, deliver) {
                lock(&console).note_error(e);
            }
            None
        }
    };

    let display = tokio::spawn(DisplayFuture::new(
        Arc::clone(&subjects),
        display_sink(Arc::clone(&console)),
    ));
    let heat_loss = tokio::spawn(
        CountPolls::new(HeatLossFuture::new(Arc::clone(&subjects), config.period))
            .recording(timeline, "heat-loss"),
    );
    let heater = tokio::spawn(
        CountPolls::new(HeaterFuture::new(Arc::clone(&subjects), config.period))
            .recording(timeline, "heater"),
    );

    // Book: the guard lives until the program is killed; ours for a set time. The end lands half
    // a period after a tick, so no observer's deadline ties with it.
    tokio::time::sleep(config.period * config.periods + config.period / 2).await;
    drop(guard);
    if let Some(script) = script {
        script.abort(); // lines it had left would reach no callback anyway
    }
    subjects.stop();
    display.await?;
    heat_loss.await?;
    heater.await?;
    Ok(())
}

/// The shared console: the input typed so far and the output, behind one mutex.
///
/// Every render happens with this lock held: an input callback on the device's thread and the
/// display on a runtime worker take turns, and each render shows the input as it is at that moment.
pub struct Console {
    /// What has been typed so far (the book's `static INPUT`), minus the `+` and `-` lines.
    // Book: `static INPUT: LazyLock<Arc<Mutex<String>>>`; ours is a field of the console that the
    // callback and the display are handed, so two runs (two tests) never share input.
    pub input: String,
    out: Box<dyn Write + Send>,
    timeline: Timeline,
    period: Duration,
    history: Vec<Rendered>,
    error: Option<io::Error>,
}

impl Console {
    /// A console writing to `out`; times are read from `timeline` and printed in book seconds
    /// (`period` stands for the book's 3 s).
    pub fn shared(
        out: Box<dyn Write + Send>,
        timeline: Timeline,
        period: Duration,
    ) -> Arc<Mutex<Console>> {
        Arc::new(Mutex::new(Console {
            input: String::new(),
            out,
            timeline,
            period,
            history: Vec::new(),
            error: None,
        }))
    }

    /// Renders one line for `cause`: a time and cause prefix, then [`render`]. Also recorded in
    /// the history and as a mark in the timeline (row `input` or `display`).
    pub fn show(&mut self, cause: Cause, reading: Reading) {
        let at = self.timeline.now();
        let _mark = self.timeline.span(cause.row());
        let prefix = format!(
            "  {} {:<22} ",
            sim::book_time(at, self.period),
            cause.to_string()
        );
        let written = self
            .out
            .write_all(prefix.as_bytes())
            .and_then(|()| render(&mut self.out, reading, &self.input));
        if let Err(e) = written {
            self.note_error(e);
        }
        self.history.push(Rendered {
            at,
            cause,
            reading,
            input: self.input.clone(),
        });
    }

    /// Every render so far, in order.
    pub fn history(&self) -> &[Rendered] {
        &self.history
    }

    /// The first write (or input) error, if any: a callback cannot return it, so it waits here.
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    fn note_error(&mut self, e: io::Error) {
        self.error.get_or_insert(e);
    }
}

/// One render: when, why, and what it showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Time since the timeline started.
    pub at: Duration,
    /// What caused it.
    pub cause: Cause,
    /// The values shown.
    pub reading: Reading,
    /// The input shown.
    pub input: String,
}

/// Why the console rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The demo's first line, before anything happened.
    Start,
    /// An input line reached the callback.
    Input(String),
    /// The display observer saw the temperature change (and maybe switched the heater).
    Display {
        /// The switch it made, if any.
        switched_to: Option<bool>,
    },
}

impl Cause {
    fn row(&self) -> &'static str {
        match self {
            Cause::Start => "start",
            Cause::Input(_) => "input callback",
            Cause::Display { .. } => "display",
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Start => f.write_str("start"),
            Cause::Input(line) => write!(f, "input {line:?}"),
            Cause::Display {
                switched_to: Some(on),
            } => write!(f, "display, heater {}", on_off(*on)),
            Cause::Display { switched_to: None } => f.write_str("display"),
        }
    }
}

// Book: `device_query::DeviceState` reports key presses from the X11 keyboard state and needs X11
// to build and a display to run; ours is fed lines from stdin or a script.
/// Our stand-in for the book's `DeviceState`: whoever produces input lines calls
/// [`LineDevice::deliver`], and every registered callback runs, on the deliverer's thread.
#[derive(Default)]
pub struct LineDevice {
    callbacks: Mutex<Vec<(u64, LineCallback)>>,
    next_id: AtomicU64,
}

type LineCallback = Arc<dyn Fn(&str) + Send + Sync>;

impl LineDevice {
    /// A device with no callbacks.
    pub fn shared() -> Arc<LineDevice> {
        Arc::new(LineDevice::default())
    }

    /// Registers `callback` for every line delivered from now on, until the returned guard drops
    /// (the book's `on_key_down`).
    pub fn on_line(
        self: &Arc<Self>,
        callback: impl Fn(&str) + Send + Sync + 'static,
    ) -> CallbackGuard {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.callbacks().push((id, Arc::new(callback)));
        CallbackGuard {
            device: Arc::downgrade(self),
            id,
        }
    }

    /// Runs every registered callback with `line`, in registration order, on this thread.
    pub fn deliver(&self, line: &str) {
        // A copy of the list, so a callback may register or drop a guard without deadlocking.
        let callbacks: Vec<LineCallback> =
            self.callbacks().iter().map(|(_, c)| c.clone()).collect();
        for callback in callbacks {
            callback(line);
        }
    }

    /// How many callbacks are registered.
    pub fn registered(&self) -> usize {
        self.callbacks().len()
    }

    fn callbacks(&self) -> MutexGuard<'_, Vec<(u64, LineCallback)>> {
        // Each change to the list is one push or one retain: a panic elsewhere cannot leave it
        // half-changed, so a poisoned lock is still usable.
        self.callbacks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Keeps a callback registered with a [`LineDevice`]; dropping it unregisters the callback.
#[must_use = "the callback is unregistered as soon as the guard is dropped"]
pub struct CallbackGuard {
    device: Weak<LineDevice>,
    id: u64,
}

impl Drop for CallbackGuard {
    fn drop(&mut self) {
        if let Some(device) = self.device.upgrade() {
            device.callbacks().retain(|(id, _)| *id != self.id);
        }
    }
}

fn lock(console: &Mutex<Console>) -> MutexGuard<'_, Console> {
    // A panic while rendering leaves at worst a half-written line; the state is still usable.
    console.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let interactive = std::io::stdin().is_terminal();
    let default_periods = if interactive { 80 } else { 20 };
    let periods = args.value_in("periods", default_periods, 1..=400)?;
    let period = Duration::from_millis(args.value_in("period-ms", 75, 5..=3_000)?);
    let script = args.raw("script")?;
    let piped = args.flag("stdin")?;
    args.finish()?;

    let source = match (script, piped) {
        (Some(_), true) => {
            return Err(UsageError("`--script` and `--stdin` exclude each other".into()).into());
        }
        (Some(script), false) => scripted(&script, period),
        (None, true) => Source::Reader(Box::new(io::BufReader::new(io::stdin()))),
        (None, false) if interactive => {
            println!(
                "Type a line and press Enter: `+` raises the set point by 0.05 °C, `-` lowers it, \
                 anything else goes to Input. The demo ends by itself after {:.1} s.",
                (period * periods).as_secs_f64()
            );
            Source::Reader(Box::new(io::BufReader::new(io::stdin())))
        }
        (None, false) => {
            println!(
                "stdin is not a terminal: playing the script \"{DEFAULT_SCRIPT}\", one line per period"
            );
            scripted(DEFAULT_SCRIPT, period)
        }
    };

    let runtime = sim::runtime(2)?;
    let (console, timeline) = runtime.block_on(async {
        let timeline = sim::tokio_timeline();
        let subjects = Subjects::shared();
        let console = Console::shared(Box::new(io::stdout()), timeline.clone(), period);
        lock(&console).show(Cause::Start, subjects.reading());
        let config = InputConfig { period, periods };
        run_with_input(
            subjects,
            Arc::clone(&console),
            LineDevice::shared(),
            source,
            config,
            &timeline,
        )
        .await?;
        Ok::<_, JoinError>((console, timeline))
    })?;
    // The runtime is dropped here; a reader thread still waiting on a terminal ends with the process.
    drop(runtime);

    let mut console = lock(&console);
    if let Some(e) = console.take_error() {
        return Err(format!("writing the display or reading input: {e}").into());
    }
    let inputs = console
        .history()
        .iter()
        .filter(|r| matches!(r.cause, Cause::Input(_)))
        .count();
    let last = console.history().last().map(|r| r.reading);
    if let Some(last) = last {
        println!(
            "\n{inputs} input line(s), each rendered at once; the run ended at {last} | Input: {}",
            console.input
        );
    }
    println!("\nwho reacted when (one mark per render or observer poll):");
    print!("{}", timeline.render());
    Ok(())
}

/// The script `lines` (comma-separated), one line per period from 1.5 periods on: the half period
/// keeps each line off the heat-loss ticks, so a render is clearly caused by the input alone.
fn scripted(lines: &str, period: Duration) -> Source {
    Source::Script {
        lines: input::parse_script(lines),
        first: period + period / 2,
        every: period,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;
    use std::sync::mpsc;

    const BOOK_PERIOD: Duration = Duration::from_secs(3);

    fn quiet_console() -> Arc<Mutex<Console>> {
        let timeline = sim::tokio_timeline();
        Console::shared(Box::new(io::sink()), timeline, BOOK_PERIOD)
    }

    async fn run_script(subjects: Arc<Subjects>, source: Source, periods: u32) -> Vec<Rendered> {
        let console = quiet_console();
        let timeline = sim::tokio_timeline();
        let config = InputConfig {
            period: BOOK_PERIOD,
            periods,
        };
        let run = run_with_input(
            subjects,
            Arc::clone(&console),
            LineDevice::shared(),
            source,
            config,
            &timeline,
        );
        tokio::time::timeout(BOOK_PERIOD * (periods + 5), run)
            .await
            .expect("the run hung")
            .unwrap();
        lock(&console).history().to_vec()
    }

    #[tokio::test(start_paused = true)]
    async fn each_line_renders_at_the_instant_it_arrives_even_when_the_temperature_is_unchanged() {
        let subjects = Subjects::shared();
        let history = run_script(
            Arc::clone(&subjects),
            scripted(DEFAULT_SCRIPT, BOOK_PERIOD),
            20,
        )
        .await;

        let inputs: Vec<&Rendered> = history
            .iter()
            .filter(|r| matches!(r.cause, Cause::Input(_)))
            .collect();
        let times: Vec<f64> = inputs.iter().map(|r| r.at.as_secs_f64()).collect();
        assert_eq!(
            times,
            [4.5, 7.5, 10.5, 13.5, 16.5],
            "one render per line, on arrival"
        );
        let lines: Vec<String> = inputs
            .iter()
            .map(|r| match &r.cause {
                Cause::Input(line) => line.clone(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(lines, ["h", "i", "+", "+", "-"]);

        // The temperature only changes on the 3 s ticks; each input render shows the same
        // temperature as the display render before it: the input alone caused it.
        for input in &inputs {
            let previous_display = history
                .iter()
                .rev()
                .find(|r| matches!(r.cause, Cause::Display { .. }) && r.at < input.at)
                .expect("heat loss at t=3 s made the display render first");
            assert_eq!(input.reading.temp, previous_display.reading.temp);
        }
        assert_eq!(inputs[1].input, "hi");
        assert_eq!(inputs[2].reading.desired_temp, 2105);
        assert_eq!(inputs[3].reading.desired_temp, 2110);
        assert_eq!(subjects.desired_temp.load(Ordering::SeqCst), 2105);
        // No display render ever lands off a tick.
        for render in history
            .iter()
            .filter(|r| matches!(r.cause, Cause::Display { .. }))
        {
            assert_eq!(render.at.as_secs() % 3, 0, "{render:?}");
            assert_eq!(render.at.subsec_nanos(), 0, "{render:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_raised_set_point_switches_the_heater_at_the_next_temperature_change() {
        // Above the set point, heater off; `+` twice before the first heat-loss tick.
        let subjects = Arc::new(Subjects::new(2105, 2100, false));
        let source = Source::Script {
            lines: input::parse_script("+,+"),
            first: BOOK_PERIOD / 4,
            every: BOOK_PERIOD / 4,
        };
        let history = run_script(Arc::clone(&subjects), source, 2).await;

        let second_plus = &history[1];
        assert_eq!(second_plus.cause, Cause::Input("+".into()));
        assert_eq!(second_plus.reading.desired_temp, 2110);
        assert!(
            !second_plus.reading.heat_on,
            "the display decides on temperature changes only"
        );

        let switch_on = history
            .iter()
            .find(|r| r.reading.heat_on)
            .expect("the heater must switch on");
        assert_eq!(switch_on.at, BOOK_PERIOD, "at the first heat-loss tick");
        assert_eq!(
            switch_on.cause,
            Cause::Display {
                switched_to: Some(true)
            }
        );
        assert_eq!(switch_on.reading.temp, 2104);
    }

    #[test]
    fn after_the_guard_drops_later_lines_change_nothing() {
        let subjects = Subjects::shared();
        let console = Console::shared(Box::new(io::sink()), Timeline::new(), BOOK_PERIOD);
        let device = LineDevice::shared();
        let guard = device.on_line({
            let (subjects, console) = (Arc::clone(&subjects), Arc::clone(&console));
            move |line| on_input(&subjects, &console, line)
        });
        device.deliver("+");
        device.deliver("ok");
        assert_eq!(subjects.desired_temp.load(Ordering::SeqCst), 2105);
        assert_eq!(device.registered(), 1);

        drop(guard);
        assert_eq!(device.registered(), 0);
        device.deliver("+");
        device.deliver("late");
        assert_eq!(subjects.desired_temp.load(Ordering::SeqCst), 2105);
        let console = lock(&console);
        assert_eq!(console.history().len(), 2);
        assert_eq!(console.input, "ok");
    }

    #[test]
    fn the_reader_thread_fires_the_callback_once_per_line_in_order() {
        let device = LineDevice::shared();
        let (seen, received) = mpsc::channel();
        let _guard = device.on_line(move |line| {
            let thread = std::thread::current().name().map(String::from);
            let _ = seen.send((line.to_string(), thread));
        });
        let deliverer = Arc::clone(&device);
        let reader = input::read_lines(io::Cursor::new("h\ni\n+\n"), move |line| {
            deliverer.deliver(line)
        })
        .unwrap();
        let mut got = Vec::new();
        for _ in 0..3 {
            let next = received.recv_timeout(Duration::from_secs(10));
            got.push(next.expect("a line never reached the callback"));
        }
        assert_eq!(reader.join().unwrap().unwrap(), 3);
        let lines: Vec<&str> = got.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(lines, ["h", "i", "+"]);
        assert!(
            got.iter()
                .all(|(_, t)| t.as_deref() == Some("stdin-reader"))
        );
        assert!(received.try_recv().is_err(), "exactly once per line");
    }

    #[test]
    fn renders_from_two_threads_take_turns_and_never_show_older_input() {
        let subjects = Subjects::shared();
        let console = Console::shared(Box::new(io::sink()), Timeline::new(), BOOK_PERIOD);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for _ in 0..200 {
                    on_input(&subjects, &console, "x");
                }
            });
            let mut sink = display_sink(Arc::clone(&console));
            for _ in 0..200 {
                sink(Update {
                    reading: subjects.reading(),
                    switched_to: None,
                });
            }
        });
        let console = lock(&console);
        // Under the one lock, the input shown never goes backwards.
        let lengths: Vec<usize> = console.history().iter().map(|r| r.input.len()).collect();
        assert!(lengths.windows(2).all(|w| w[0] <= w[1]), "{lengths:?}");
        assert_eq!(console.history().len(), 400);
        assert_eq!(console.input.len(), 200);
    }

    #[test]
    fn render_writes_one_line() {
        let mut out = Vec::new();
        let reading = Subjects::default().reading();
        render(&mut out, reading, "hi").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "20.90 °C | set 21.00 | heater off | Input: hi\n"
        );
    }
}
