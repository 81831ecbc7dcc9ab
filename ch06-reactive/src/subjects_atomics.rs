//! `subjects-atomics` — "Defining Our Subjects" (and the chapter opening, "Building a Basic
//! Reactive System", Figure 6-1).
//!
//! The thermostat has three *subjects*, the shared values that observers watch: the current
//! temperature, the set point, and whether the heater should be on. Temperatures are kept in
//! hundredths of a degree (2090 is 20.90 °C) so that they fit an `AtomicI16`: for a feedback loop
//! driven by a couple of numbers, atomics are all the sharing we need, no locks and no channels.
//!
//! The book keeps the subjects in three lazily initialised statics. We show those first, as the
//! book has them (minus a redundant `Arc`), and then [`Subjects`]: the same three atomics in one
//! struct behind an `Arc`, passed to every observer. The rest of the chapter uses the handle, so
//! two thermostats (two tests running side by side, say) never share a temperature.
//!
//! Two notes on the statics:
//! - An `Arc` inside a `static` adds nothing: a static already lives for the whole program and
//!   every thread can borrow it.
//! - Atomics have `const` constructors, so `static TEMP: AtomicI16 = AtomicI16::new(2090);` would
//!   need no `LazyLock` at all. We keep the `LazyLock` only to show *when* it initialises: on first
//!   access, exactly once.
//!
//! On `Ordering::SeqCst`: every atomic has a single order of modifications, and any load, whatever
//! its ordering, reads from that order, so no ordering makes a value "more consistent". Orderings
//! constrain the *other* memory accesses around the atomic one. These subjects are independent
//! numbers, so `Relaxed` would do; we keep `SeqCst` like the book, because it is never wrong and a
//! reader changing the code later does not have to re-derive why a weaker ordering is still enough.
//!
//! Beyond the book, [`Subjects`] carries a list of wakers and a `stop` flag: observers register
//! their waker for the subject they watch and are woken when that subject changes, instead of
//! waking themselves in a loop (see `display-observer`), and every simulation can end on its own.

// Book: the book picks `SeqCst` so that every thread sees a consistent temperature; any ordering
// reads from the atomic's single modification order, and orderings only constrain the memory
// accesses around it, so `Relaxed` would do for these independent values (we keep `SeqCst`).
use std::sync::atomic::{AtomicBool, AtomicI16, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::task::Waker;

// Book: the book's subjects are statics of type `LazyLock<Arc<AtomicI16>>` (and `AtomicBool`);
// an `Arc` adds nothing inside a static, so ours are `LazyLock<AtomicI16>`, and only this demo
// uses them: the rest of the chapter passes an `Arc<Subjects>` handle, so tests running in
// parallel never share one thermostat.

/// The current temperature in hundredths of a degree, as the book declares it (20.90 °C).
pub static TEMP: LazyLock<AtomicI16> = LazyLock::new(|| {
    announce_init("TEMP");
    AtomicI16::new(2090)
});

/// The set point, in hundredths of a degree (21.00 °C).
pub static DESIRED_TEMP: LazyLock<AtomicI16> = LazyLock::new(|| {
    announce_init("DESIRED_TEMP");
    AtomicI16::new(2100)
});

/// Whether the heater should be on.
pub static HEAT_ON: LazyLock<AtomicBool> = LazyLock::new(|| {
    announce_init("HEAT_ON");
    AtomicBool::new(false)
});

/// How many `LazyLock` initialisers have run: at most one per static, however often or from how
/// many threads the statics are read.
pub static INIT_RUNS: AtomicUsize = AtomicUsize::new(0);

fn announce_init(name: &str) {
    println!("  initialising {name}");
    INIT_RUNS.fetch_add(1, Ordering::SeqCst);
}

/// The three subjects of the thermostat, shared as `Arc<Subjects>`.
///
/// Read the fields directly (`subjects.temp.load(Ordering::SeqCst)`), write through the methods:
/// they store and then wake the observers watching that subject. If you write a field directly
/// (a `compare_exchange`, say), call [`Subjects::notify`] afterwards.
///
/// ```
/// use ch06::subjects_atomics::Subjects;
/// use std::sync::atomic::Ordering;
///
/// let subjects = Subjects::shared(); // the book's values: 20.90 °C, set 21.00, heater off
/// assert_eq!(subjects.temp.load(Ordering::SeqCst), 2090);
/// subjects.add_temp(3);
/// assert_eq!(subjects.reading().to_string(), "20.93 °C | set 21.00 | heater off");
/// ```
#[derive(Debug)]
pub struct Subjects {
    /// The current temperature, in hundredths of a degree.
    pub temp: AtomicI16,
    /// The set point, in hundredths of a degree.
    pub desired_temp: AtomicI16,
    /// Whether the heater should be on.
    pub heat_on: AtomicBool,
    /// Set once by [`Subjects::stop`]: every observer returns `Ready` when it sees it.
    stop: AtomicBool,
    /// Observers waiting for a change: which subject each one watches, and how to wake it.
    wakers: Mutex<Vec<(Subject, Waker)>>,
}

/// Which subject an observer waits on in [`Subjects::watch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// [`Subjects::temp`].
    Temp,
    /// [`Subjects::desired_temp`].
    DesiredTemp,
    /// [`Subjects::heat_on`].
    HeatOn,
    /// None of the three: woken only by [`Subjects::stop`] (for observers driven by a timer).
    Stop,
}

impl Default for Subjects {
    /// The book's starting values: 20.90 °C, set point 21.00 °C, heater off.
    fn default() -> Self {
        Subjects::new(2090, 2100, false)
    }
}

impl Subjects {
    /// Subjects with the given starting values (temperatures in hundredths of a degree).
    pub fn new(temp: i16, desired_temp: i16, heat_on: bool) -> Self {
        Subjects {
            temp: AtomicI16::new(temp),
            desired_temp: AtomicI16::new(desired_temp),
            heat_on: AtomicBool::new(heat_on),
            stop: AtomicBool::new(false),
            wakers: Mutex::new(Vec::new()),
        }
    }

    /// The book's starting values behind an `Arc`, ready to clone into observers.
    pub fn shared() -> Arc<Self> {
        Arc::new(Subjects::default())
    }

    /// All three values, each loaded once.
    pub fn reading(&self) -> Reading {
        Reading {
            temp: self.temp.load(Ordering::SeqCst),
            desired_temp: self.desired_temp.load(Ordering::SeqCst),
            heat_on: self.heat_on.load(Ordering::SeqCst),
        }
    }

    /// Stores a temperature; wakes the temperature's watchers if it changed.
    pub fn set_temp(&self, temp: i16) {
        if self.temp.swap(temp, Ordering::SeqCst) != temp {
            self.notify(Subject::Temp);
        }
    }

    /// Adds `delta` (negative to cool) and wakes the temperature's watchers; returns the new value.
    /// Wraps at the `i16` limits like `fetch_add`.
    pub fn add_temp(&self, delta: i16) -> i16 {
        let new = self
            .temp
            .fetch_add(delta, Ordering::SeqCst)
            .wrapping_add(delta);
        if delta != 0 {
            self.notify(Subject::Temp);
        }
        new
    }

    /// Stores a set point; wakes its watchers if it changed.
    pub fn set_desired_temp(&self, desired_temp: i16) {
        if self.desired_temp.swap(desired_temp, Ordering::SeqCst) != desired_temp {
            self.notify(Subject::DesiredTemp);
        }
    }

    /// Adds `delta` to the set point and wakes its watchers; returns the new value.
    pub fn add_desired_temp(&self, delta: i16) -> i16 {
        let new = self
            .desired_temp
            .fetch_add(delta, Ordering::SeqCst)
            .wrapping_add(delta);
        if delta != 0 {
            self.notify(Subject::DesiredTemp);
        }
        new
    }

    /// Switches the heater flag; wakes its watchers if it changed. Returns the previous value.
    pub fn set_heat_on(&self, on: bool) -> bool {
        let previous = self.heat_on.swap(on, Ordering::SeqCst);
        if previous != on {
            self.notify(Subject::HeatOn);
        }
        previous
    }

    /// Registers `waker` to be woken at the next change of `subject` (and at [`Subjects::stop`]).
    ///
    /// Registration lasts for one wake-up. An observer registers and *then* re-reads the subject,
    /// so a change landing between its first read and the registration is not missed: either the
    /// re-read sees it, or the change comes after the registration and wakes it.
    pub fn watch(&self, subject: Subject, waker: &Waker) {
        let mut wakers = self.wakers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = wakers
            .iter_mut()
            .find(|(s, w)| *s == subject && w.will_wake(waker))
        {
            entry.1.clone_from(waker);
        } else {
            wakers.push((subject, waker.clone()));
        }
    }

    /// Wakes every observer watching `subject`. The setters call this; call it yourself after
    /// writing a field directly.
    pub fn notify(&self, subject: Subject) {
        self.wake_where(|s| s == subject);
    }

    /// Asks every observer to finish, and wakes them all so they see it.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake_where(|_| true);
    }

    /// Whether [`Subjects::stop`] has been called.
    pub fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// How many wakers are registered right now (for tests and reports).
    pub fn watchers(&self) -> usize {
        self.wakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn wake_where(&self, mut matches: impl FnMut(Subject) -> bool) {
        let woken: Vec<Waker> = {
            let mut wakers = self.wakers.lock().unwrap_or_else(PoisonError::into_inner);
            let mut woken = Vec::new();
            wakers.retain(|(s, w)| {
                if matches(*s) {
                    woken.push(w.clone());
                    false
                } else {
                    true
                }
            });
            woken
        };
        // Woken outside the lock: a waker may run code that registers again.
        for waker in woken {
            waker.wake();
        }
    }
}

/// One snapshot of the three subjects, printed as `20.90 °C | set 21.00 | heater off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// Temperature, hundredths of a degree.
    pub temp: i16,
    /// Set point, hundredths of a degree.
    pub desired_temp: i16,
    /// Heater flag.
    pub heat_on: bool,
}

impl std::fmt::Display for Reading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} °C | set {} | heater {}",
            fmt_centi(self.temp),
            fmt_centi(self.desired_temp),
            on_off(self.heat_on)
        )
    }
}

/// `"on"` or `"off"`.
pub fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// Formats hundredths of a degree with two decimals: `2090` → `"20.90"`, `-5` → `"-0.05"`.
// Book: the book prints `temp as f32 / 100.0`, which shows 20.9 rather than 20.90; formatting the
// integer hundredths is exact and always shows two decimals.
pub fn fmt_centi(centi: i16) -> String {
    let sign = if centi < 0 { "-" } else { "" };
    let abs = i32::from(centi).abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Runs the demo: the book's statics, then the `Arc<Subjects>` handle shared with a task.
pub fn run(args: common::demo::Args) -> common::demo::DemoResult {
    args.finish()?;

    println!("The book's statics initialise on first access:");
    let before = INIT_RUNS.load(Ordering::SeqCst);
    let book = Reading {
        temp: TEMP.load(Ordering::SeqCst),
        desired_temp: DESIRED_TEMP.load(Ordering::SeqCst),
        heat_on: HEAT_ON.load(Ordering::SeqCst),
    };
    println!("  {book}");
    // A second round of reads finds them initialised already: nothing is printed.
    let again = fmt_centi(TEMP.load(Ordering::SeqCst));
    println!("  TEMP read again: {again}, and no initialiser ran");
    println!(
        "  initialisers run: {}, one per static",
        INIT_RUNS.load(Ordering::SeqCst) - before
    );

    println!("\nThe chapter's handle: one Arc<Subjects>, cloned into a task:");
    let subjects = Subjects::shared();
    println!("  main sees    {}", subjects.reading());
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let writer = Arc::clone(&subjects);
    runtime.block_on(async move { tokio::spawn(async move { writer.set_temp(2095) }).await })?;
    println!(
        "  a task stored 2095 through its clone; main now sees {}",
        subjects.reading()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_subjects_match_the_book_statics() {
        let subjects = Subjects::default();
        assert_eq!(
            subjects.reading(),
            Reading {
                temp: TEMP.load(Ordering::SeqCst),
                desired_temp: DESIRED_TEMP.load(Ordering::SeqCst),
                heat_on: HEAT_ON.load(Ordering::SeqCst),
            }
        );
        assert_eq!(
            subjects.reading().to_string(),
            "20.90 °C | set 21.00 | heater off"
        );
    }

    #[test]
    fn each_static_initialises_exactly_once() {
        // Other tests in this binary may touch the statics first, in any order, on any thread;
        // whoever does, forcing all three (twice, from two threads) leaves exactly three runs.
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    LazyLock::force(&TEMP);
                    LazyLock::force(&DESIRED_TEMP);
                    LazyLock::force(&HEAT_ON);
                });
            }
        });
        LazyLock::force(&TEMP);
        assert_eq!(INIT_RUNS.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_store_through_one_clone_is_read_through_another() {
        let subjects = Subjects::shared();
        let writer = Arc::clone(&subjects);
        tokio::spawn(async move { writer.set_temp(2095) })
            .await
            .unwrap();
        assert_eq!(subjects.temp.load(Ordering::SeqCst), 2095);
    }

    #[test]
    fn centi_formatting_keeps_two_decimals() {
        assert_eq!(fmt_centi(2090), "20.90");
        assert_eq!(fmt_centi(2101), "21.01");
        assert_eq!(fmt_centi(-5), "-0.05");
        assert_eq!(fmt_centi(-250), "-2.50");
        assert_eq!(fmt_centi(i16::MIN), "-327.68");
    }

    #[test]
    fn setters_wake_only_the_watchers_of_what_changed() {
        use std::task::Wake;
        struct Flag(AtomicBool);
        impl Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let on_temp = Arc::new(Flag(AtomicBool::new(false)));
        let on_heat = Arc::new(Flag(AtomicBool::new(false)));
        let subjects = Subjects::default();
        subjects.watch(Subject::Temp, &Waker::from(on_temp.clone()));
        subjects.watch(Subject::HeatOn, &Waker::from(on_heat.clone()));
        subjects.watch(Subject::HeatOn, &Waker::from(on_heat.clone())); // once is enough
        assert_eq!(subjects.watchers(), 2);

        subjects.set_temp(2090); // unchanged: nobody woken
        assert!(!on_temp.0.load(Ordering::SeqCst));
        subjects.set_temp(2091);
        assert!(on_temp.0.load(Ordering::SeqCst));
        assert!(!on_heat.0.load(Ordering::SeqCst));
        assert_eq!(subjects.watchers(), 1, "a wake-up uses the registration up");

        subjects.stop();
        assert!(on_heat.0.load(Ordering::SeqCst));
        assert!(subjects.is_stopped());
        assert_eq!(subjects.watchers(), 0);
    }
}
