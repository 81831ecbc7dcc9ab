//! The breakfast of "Understanding Tasks": the book's three steps, shared by the five coffee and
//! people demos.
//!
//! The book makes coffee and toast with two kinds of waiting. Some steps leave our hands free (the
//! kettle boils, the toaster toasts): they are `tokio::time::sleep(..).await`, and while one waits
//! the thread can run something else. Others need both hands (pouring milk, buttering): they are
//! `std::thread::sleep`, which holds the thread, so nothing else on it moves meanwhile.
//!
//! | step | hands busy | waiting |
//! |---|---|---|
//! | [`prep_coffee_mug`] | milk 3, granules 3 | — |
//! | [`make_coffee`] | pour 3 | kettle 10 |
//! | [`make_toast`] | butter 5 | toaster 10 |
//!
//! Times are in *units* (one book second each, 20 ms by default, see [`crate::units`]). Each person
//! has 14 units of busy hands and 20 of waiting.
//!
//! Every step reports to a [`Kitchen`], which the demos share through an `Arc` (no globals): it
//! holds the unit, a log of [`Event`]s `(person, "start:<action>" | "end:<action>")` with the
//! thread and time of each, and a [`Timeline`] of the steps. The demos' tests assert on that log.
//! [`Nudge`] is the one line "Understanding Tasks" adds to the mug prep to let the other steps
//! start first.
//!
//! ```
//! use std::time::Duration;
//! use ch02::kitchen::{Kitchen, Nudge, Rows, make_coffee, prep_coffee_mug};
//!
//! let kitchen = Kitchen::new(Duration::from_millis(1), Rows::Steps);
//! let rt = ch02::units::current_thread().unwrap();
//! rt.block_on(async {
//!     prep_coffee_mug(&kitchen, "me", Nudge::None).await;
//!     make_coffee(&kitchen, "me").await;
//! });
//! let what: Vec<String> = kitchen.events().into_iter().map(|e| e.what).collect();
//! assert_eq!(
//!     what,
//!     ["start:milk", "end:milk", "start:granules", "end:granules",
//!      "start:kettle", "end:kettle", "start:pour", "end:pour"]
//! );
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use common::Timeline;
use common::timeline::{DEFAULT_WIDTH, Span, SpanGuard, current_thread_name, render};
use tokio::time::sleep;

use crate::units::in_units;

/// Step 1, prep the coffee mug: pour the milk, put in the instant coffee. Both need our hands.
///
/// With [`Nudge::None`] this is the book's first version; with [`Nudge::Sleep`] its second, which
/// awaits a short sleep before touching anything; [`Nudge::Yield`] is our variant of that.
pub async fn prep_coffee_mug(kitchen: &Kitchen, person: &str, nudge: Nudge) {
    nudge.give(kitchen.unit()).await;
    let milk = kitchen.start(person, Action::Milk);
    // Book: the `std::thread::sleep` calls in these three steps are deliberate: they model busy
    // hands, blocking the thread so no other future on it can run. Real code would move blocking or
    // CPU-heavy work off the runtime with `tokio::task::spawn_blocking`.
    thread::sleep(kitchen.units(3));
    milk.done();
    let granules = kitchen.start(person, Action::Granules);
    thread::sleep(kitchen.units(3));
    granules.done();
}

/// Step 2, make coffee: boil the kettle (hands free), then pour the boiled water (hands busy).
pub async fn make_coffee(kitchen: &Kitchen, person: &str) {
    let kettle = kitchen.start(person, Action::Kettle);
    sleep(kitchen.units(10)).await;
    kettle.done();
    let pour = kitchen.start(person, Action::Pour);
    thread::sleep(kitchen.units(3));
    pour.done();
}

/// Step 3, make toast: the toaster (hands free), then butter the toast (hands busy).
pub async fn make_toast(kitchen: &Kitchen, person: &str) {
    let toaster = kitchen.start(person, Action::Toaster);
    sleep(kitchen.units(10)).await;
    toaster.done();
    let butter = kitchen.start(person, Action::Butter);
    thread::sleep(kitchen.units(5));
    butter.done();
}

/// One person's breakfast as the book's people tasks run it: the three steps, the mug prep nudged
/// with the book's short sleep, all in one `tokio::join!`. Give it to `tokio::task::spawn` to make
/// the person a task.
pub async fn person(kitchen: Arc<Kitchen>, name: String) {
    let coffee_mug_step = prep_coffee_mug(&kitchen, &name, Nudge::Sleep);
    let coffee_step = make_coffee(&kitchen, &name);
    let toast_step = make_toast(&kitchen, &name);
    tokio::join!(coffee_mug_step, coffee_step, toast_step);
}

/// What [`prep_coffee_mug`] awaits before its blocking work, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nudge {
    /// Nothing: the mug prep blocks from its first poll (the book's first version, 24 units).
    None,
    /// The book's nudge: `sleep` for a tenth of a unit (100 ms at one unit per second).
    Sleep,
    /// Ours: `tokio::task::yield_now()`, an await point that waits for nothing.
    Yield,
}

impl Nudge {
    /// Awaits the nudge; `unit` sizes [`Nudge::Sleep`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = ch02::units::current_thread().unwrap();
    /// rt.block_on(ch02::kitchen::Nudge::Yield.give(Duration::from_millis(20)));
    /// ```
    pub async fn give(self, unit: Duration) {
        match self {
            Nudge::None => {}
            // Book: the prose credits the 100 ms delay itself for the 6 s saved. What matters is
            // that `prep_coffee_mug` reaches an await point before its blocking work, so `join!`
            // moves on and starts the kettle and the toaster; `Nudge::Yield` saves the same time
            // without an arbitrary wait.
            Nudge::Sleep => sleep(unit / 10).await,
            Nudge::Yield => tokio::task::yield_now().await,
        }
    }
}

/// One of the six things done in the kitchen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Pour the milk into the mug (hands, 3 units).
    Milk,
    /// Put in the instant coffee granules (hands, 3 units).
    Granules,
    /// Boil the kettle (waiting, 10 units).
    Kettle,
    /// Pour the boiled water (hands, 3 units).
    Pour,
    /// Toast the bread (waiting, 10 units).
    Toaster,
    /// Butter the toast (hands, 5 units).
    Butter,
}

impl Action {
    /// The name used in events: `milk`, `granules`, `kettle`, `pour`, `toaster`, `butter`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Milk => "milk",
            Action::Granules => "granules",
            Action::Kettle => "kettle",
            Action::Pour => "pour",
            Action::Toaster => "toaster",
            Action::Butter => "butter",
        }
    }

    /// Whether it keeps our hands (and so the thread) busy.
    pub fn busy_hands(self) -> bool {
        !matches!(self, Action::Kettle | Action::Toaster)
    }

    /// The timeline row of this action when rows are [`Rows::Steps`].
    fn step_row(self) -> &'static str {
        match self {
            Action::Milk | Action::Granules => "prep mug",
            Action::Pour => "make coffee",
            Action::Butter => "make toast",
            Action::Kettle => "kettle",
            Action::Toaster => "toaster",
        }
    }

    fn started(self) -> &'static str {
        match self {
            Action::Milk => "pouring milk...",
            Action::Granules => "putting in instant coffee...",
            Action::Kettle => "boiling kettle...",
            Action::Pour => "pouring boiled water...",
            Action::Toaster => "putting bread in toaster...",
            Action::Butter => "buttering toasted bread...",
        }
    }

    fn finished(self) -> &'static str {
        match self {
            Action::Milk => "milk poured.",
            Action::Granules => "instant coffee put in.",
            Action::Kettle => "kettle boiled.",
            Action::Pour => "boiled water poured.",
            Action::Toaster => "bread toasted.",
            Action::Butter => "toasted bread buttered.",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the kitchen's timeline groups its bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    /// Rows `prep mug`, `make coffee`, `make toast` (hands busy), then `kettle`, `toaster` (waiting).
    Steps,
    /// One row per person with their busy-hands bars only (`person 1`, `person 2`, …).
    People,
}

/// One line of the kitchen's log.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Who: `person 1`, …
    pub person: String,
    /// `start:<action>` or `end:<action>`, e.g. `start:kettle`.
    pub what: String,
    /// The thread it happened on (`main`, `worker-1`, …).
    pub thread: String,
    /// When, measured from the kitchen's creation.
    pub at: Duration,
}

/// The shared state of a breakfast: the unit, the event log and the timeline.
///
/// Share it between tasks as an `Arc<Kitchen>`; the steps only need `&Kitchen`.
#[derive(Debug)]
pub struct Kitchen {
    unit: Duration,
    rows: Rows,
    narrate: bool,
    timeline: Timeline,
    events: Mutex<Vec<Event>>,
}

impl Kitchen {
    /// A kitchen whose steps take multiples of `unit`, drawing its timeline by `rows`. Quiet: call
    /// [`Kitchen::narrated`] to print each step as it starts and ends.
    pub fn new(unit: Duration, rows: Rows) -> Self {
        Kitchen {
            unit,
            rows,
            narrate: false,
            timeline: Timeline::new(),
            events: Mutex::new(Vec::new()),
        }
    }

    /// The same kitchen, printing a line (time in units, person, what) for every event.
    pub fn narrated(self) -> Self {
        Kitchen {
            narrate: true,
            ..self
        }
    }

    /// The same kitchen, timed on tokio's clock, for tests under the paused clock (`start_paused`).
    pub fn on_tokio_clock(self) -> Self {
        Kitchen {
            timeline: Timeline::with_clock(|| tokio::time::Instant::now().into_std()),
            ..self
        }
    }

    /// One unit (one book second).
    pub fn unit(&self) -> Duration {
        self.unit
    }

    /// `n` units.
    pub fn units(&self, n: u32) -> Duration {
        self.unit * n
    }

    /// Logs `start:<action>` for `person` and opens its timeline span; the returned [`Step`] logs
    /// `end:<action>` when done (or dropped).
    pub fn start(&self, person: &str, action: Action) -> Step<'_> {
        let row = match self.rows {
            Rows::Steps => Some(action.step_row().to_string()),
            Rows::People if action.busy_hands() => Some(person.to_string()),
            Rows::People => None,
        };
        self.log(person, action, true);
        Step {
            kitchen: self,
            person: person.to_string(),
            action,
            span: row.map(|row| self.timeline.span(row)),
        }
    }

    fn log(&self, person: &str, action: Action, start: bool) {
        let event = Event {
            person: person.to_string(),
            what: format!("{}:{action}", if start { "start" } else { "end" }),
            thread: current_thread_name(),
            at: self.timeline.now(),
        };
        let mut events = self.lock_log();
        if self.narrate {
            let message = if start {
                action.started()
            } else {
                action.finished()
            };
            // Printed under the lock, so the printed order is the logged order.
            println!(
                "{:>6.1}  {person}: {message}",
                in_units(event.at, self.unit)
            );
        }
        events.push(event);
    }

    fn lock_log(&self) -> MutexGuard<'_, Vec<Event>> {
        // A push cannot be left half-done by a panic, so a poisoned log is still a whole log.
        self.events
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every event so far, in the order they happened.
    pub fn events(&self) -> Vec<Event> {
        self.lock_log().clone()
    }

    /// Where `(person, what)` first appears in the log, e.g. `("person 1", "start:kettle")`.
    pub fn position(&self, person: &str, what: &str) -> Option<usize> {
        self.lock_log()
            .iter()
            .position(|e| e.person == person && e.what == what)
    }

    /// The timeline the steps record into.
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// The recorded spans, grouped by row in a fixed order: for [`Rows::Steps`] the busy rows
    /// (`prep mug`, `make coffee`, `make toast`) above the waiting ones (`kettle`, `toaster`); for
    /// [`Rows::People`] by person.
    pub fn spans(&self) -> Vec<Span> {
        let mut spans = self.timeline.spans();
        match self.rows {
            Rows::Steps => {
                const ORDER: [&str; 5] =
                    ["prep mug", "make coffee", "make toast", "kettle", "toaster"];
                spans.sort_by_key(|s| ORDER.iter().position(|row| *row == s.label));
            }
            Rows::People => spans.sort_by(|a, b| a.label.cmp(&b.label)),
        }
        spans
    }

    /// The timeline chart, rows in the order of [`Kitchen::spans`].
    pub fn render(&self) -> String {
        render(&self.spans(), DEFAULT_WIDTH)
    }
}

/// A step in progress, from [`Kitchen::start`]: logs its end when [`Step::done`] or dropped.
#[must_use = "a step ends when dropped: keep it until the work is done"]
pub struct Step<'k> {
    kitchen: &'k Kitchen,
    person: String,
    action: Action,
    span: Option<SpanGuard>,
}

impl Step<'_> {
    /// Ends the step: closes its span and logs `end:<action>`.
    pub fn done(self) {
        drop(self);
    }
}

impl fmt::Debug for Step<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Step")
            .field("person", &self.person)
            .field("action", &self.action)
            .finish()
    }
}

impl Drop for Step<'_> {
    fn drop(&mut self) {
        drop(self.span.take());
        self.kitchen.log(&self.person, self.action, false);
    }
}

/// The line each demo prints: `took 24.0 units (book: 24 s)`.
///
/// ```
/// use std::time::Duration;
/// let line = ch02::kitchen::took(Duration::from_millis(482), Duration::from_millis(20), "book: 24 s");
/// assert_eq!(line, "took 24.1 units (book: 24 s)");
/// ```
pub fn took(elapsed: Duration, unit: Duration, book: &str) -> String {
    format!("took {:.1} units ({book})", in_units(elapsed, unit))
}

/// Helpers for the tests of the five breakfast demos.
#[cfg(test)]
pub(crate) mod testing {
    use std::future::Future;
    use std::time::Duration;

    use super::{Event, Kitchen};
    use crate::units::in_units;

    /// The unit in tests with real blocking: large enough that a run 20-50 times slower (valgrind)
    /// still fits the `< 2N` bounds, small enough to keep each test under a second.
    pub const UNIT: Duration = Duration::from_millis(20);

    /// How long any breakfast may take before the test gives up instead of hanging.
    pub const WATCHDOG: Duration = Duration::from_secs(20);

    /// Awaits `breakfast` under the watchdog.
    pub async fn watched<F: Future>(breakfast: F) -> F::Output {
        tokio::time::timeout(WATCHDOG, breakfast)
            .await
            .expect("the breakfast did not finish within the watchdog limit")
    }

    /// Asserts `n ≤ elapsed < 2n` units: the lower bound is exact (`thread::sleep` and tokio's
    /// timers never end early), the upper one leaves a whole `n` for a slow machine.
    pub fn assert_units(elapsed: Duration, n: f64) {
        let units = in_units(elapsed, UNIT);
        assert!(
            (n..2.0 * n).contains(&units),
            "took {units:.2} units, expected {n} ≤ t < {}",
            2.0 * n
        );
    }

    /// The index of `(person, what)` in the log; panics with the log if absent.
    pub fn at(kitchen: &Kitchen, person: &str, what: &str) -> usize {
        kitchen
            .position(person, what)
            .unwrap_or_else(|| panic!("no ({person}, {what}) in {:#?}", kitchen.events()))
    }

    /// The distinct thread names in `events`.
    pub fn threads(events: &[Event]) -> Vec<String> {
        let mut threads: Vec<String> = events.iter().map(|e| e.thread.clone()).collect();
        threads.sort();
        threads.dedup();
        threads
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn steps_log_start_and_end_of_each_action_in_order() {
        // Units of 0 keep the blocking sleeps instant; the paused clock runs the timers.
        let kitchen = Kitchen::new(Duration::ZERO, Rows::Steps).on_tokio_clock();
        prep_coffee_mug(&kitchen, "p", Nudge::Sleep).await;
        make_coffee(&kitchen, "p").await;
        make_toast(&kitchen, "p").await;
        let what: Vec<String> = kitchen.events().into_iter().map(|e| e.what).collect();
        let expected: Vec<String> = ["milk", "granules", "kettle", "pour", "toaster", "butter"]
            .iter()
            .flat_map(|a| [format!("start:{a}"), format!("end:{a}")])
            .collect();
        assert_eq!(what, expected);
        assert!(kitchen.events().iter().all(|e| e.person == "p"));
        let labels: Vec<String> = kitchen.spans().into_iter().map(|s| s.label).collect();
        assert_eq!(
            labels,
            [
                "prep mug",
                "prep mug",
                "make coffee",
                "make toast",
                "kettle",
                "toaster"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn people_rows_hold_only_the_busy_hands() {
        let kitchen = Arc::new(Kitchen::new(Duration::ZERO, Rows::People).on_tokio_clock());
        person(kitchen.clone(), "person 2".into()).await;
        person(kitchen.clone(), "person 1".into()).await;
        let spans = kitchen.spans();
        // milk, granules, pour, butter for each, person 1 first although it ran second
        assert_eq!(spans.len(), 8);
        assert!(spans[..4].iter().all(|s| s.label == "person 1"));
        assert!(spans[4..].iter().all(|s| s.label == "person 2"));
        assert_eq!(kitchen.events().len(), 24);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_step_still_logs_its_end() {
        let kitchen = Kitchen::new(Duration::from_secs(1), Rows::Steps).on_tokio_clock();
        let cut_short = tokio::time::timeout(Duration::from_secs(4), make_toast(&kitchen, "p"));
        assert!(cut_short.await.is_err());
        let what: Vec<String> = kitchen.events().into_iter().map(|e| e.what).collect();
        assert_eq!(what, ["start:toaster", "end:toaster"]);
        assert_eq!(kitchen.events()[1].at, Duration::from_secs(4));
    }
}
