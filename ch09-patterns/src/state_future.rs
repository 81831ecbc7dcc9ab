//! `state-future`: a future that drives one of two futures, chosen by a switch (book section "The
//! State Machine Pattern").
//!
//! A future may decide *what* to drive from shared state. [`StateFuture`] holds an "on" future and
//! an "off" future and a [`Switch`]; each poll reads the switch and polls only the matching
//! future, so the work done follows the switch. The other future is left exactly where it was
//! and resumes from there when the switch comes back.
//!
//! The rule that makes this cheap is the rule of every future: return `Pending` only when
//! something will wake you. A [`StateFuture`] is woken by the inner future it polled (its timer
//! fired, its socket is readable) or by [`Switch::set`], which wakes every future that read the
//! switch. Between those wake-ups it is idle: no thread runs it.
//!
//! Run it with `cargo run -p ch09 -- state-future [--phase-ms P]`. Two tickers (each counts every 10 ms) are the
//! on and off futures, and a driver flips the switch every P ms (default 100) for 3 P ms. The demo prints the
//! ticks of each phase and how often the `StateFuture` was polled: about one poll per tick plus
//! one per flip. Then it runs the book's version, [`BookStateFuture`], on the same tickers for
//! 100 ms: that one wakes itself on every poll, so it is polled as fast as a core can go, and its
//! count is orders of magnitude higher.
//!
//! How we differ from the book: the book's future calls `cx.waker().wake_by_ref()` and returns
//! `Pending` on every poll, a busy loop that keeps a core at 100 % for as long as it lives (and
//! under tokio's paused test clock it even stops time: the clock only jumps ahead when the
//! runtime is idle, and a self-waking task never lets it be). It also ignores the inner future's
//! result and polls it again after it finished, which panics for an `async` block, and it never
//! returns its `State` output. Ours registers its waker with the switch instead, returns
//! [`Finished`] with the inner future's output when that future completes, and projects the pin
//! with `pin-project-lite` instead of `unsafe`. The book's version is kept, with the same
//! projection, so that the demo can show its poll count.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use common::demo::{Args, DemoResult};
use common::timeline::CountPolls;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::switch_state_machine::State;

pin_project_lite::pin_project! {
    /// The book's `StateFuture`: polls `on_future` while the switch is [`State::On`] and
    /// `off_future` while it is [`State::Off`], and finishes when the future it polls finishes.
    ///
    /// ```
    /// use ch09::state_future::{Finished, StateFuture, Switch};
    /// use ch09::switch_state_machine::State;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let switch = Switch::new(State::Off);
    /// let fut = StateFuture::new(switch.clone(), async { "on work" }, async { "off work" });
    /// assert_eq!(fut.await, Finished::Off("off work"));
    /// # }
    /// ```
    // Book: the state is a plain field, `pub state: State`, which nothing can change once the
    // future is being polled; ours reads a shared `Switch` that another task flips, waking it.
    pub struct StateFuture<F, X> {
        switch: Switch,
        #[pin]
        on_future: F,
        #[pin]
        off_future: X,
    }
}

impl<F: Future, X: Future> StateFuture<F, X> {
    /// A future that follows `switch`, driving `on_future` or `off_future`.
    pub fn new(switch: Switch, on_future: F, off_future: X) -> Self {
        StateFuture {
            switch,
            on_future,
            off_future,
        }
    }
}

/// How a [`StateFuture`] ended: which of its futures finished, with that future's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished<A, B> {
    /// The on-future finished (while the switch was on).
    On(A),
    /// The off-future finished (while the switch was off).
    Off(B),
}

impl<F: Future, X: Future> Future for StateFuture<F, X> {
    type Output = Finished<F::Output, X::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Book: projects to each field with `unsafe { self.map_unchecked_mut(..) }`; ours uses
        // `pin_project!`, which generates the same projection and refuses the `Drop` or `Unpin`
        // impls that would make it unsound, so no `unsafe` is needed.
        let this = self.project();
        // Reading the state and leaving our waker happen under one lock, so a flip cannot slip
        // in between: either we see the new state now, or the flip wakes us afterwards.
        match this.switch.read_and_register(cx.waker()) {
            // Book: polls the inner future, drops what it returns, wakes itself and returns
            // `Pending` every time. We return `Pending` only when the inner future did, so the
            // inner future's waker registration (a timer, a socket) is what wakes us, plus the
            // switch; and a finished inner future is never polled again.
            State::On => this.on_future.poll(cx).map(Finished::On),
            State::Off => this.off_future.poll(cx).map(Finished::Off),
        }
    }
}

/// A switch that several tasks share: one sets it, [`StateFuture`]s follow it.
///
/// Cloning gives another handle to the same switch.
///
/// ```
/// use ch09::state_future::Switch;
/// use ch09::switch_state_machine::{Event, State};
/// let switch = Switch::new(State::On);
/// let handle = switch.clone();
/// handle.set(State::Off);
/// assert_eq!(switch.state(), State::Off);
/// switch.apply(Event::SwitchOn);
/// assert_eq!(handle.state(), State::On);
/// ```
#[derive(Debug, Clone)]
pub struct Switch {
    inner: Arc<Mutex<SwitchInner>>,
}

#[derive(Debug)]
struct SwitchInner {
    state: State,
    /// The wakers of the futures that read the state since it last changed, one per task.
    wakers: Vec<Waker>,
}

impl Switch {
    /// A switch in `state`.
    pub fn new(state: State) -> Self {
        Switch {
            inner: Arc::new(Mutex::new(SwitchInner {
                state,
                wakers: Vec::new(),
            })),
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.lock().state
    }

    /// Sets the state. If it changed, every future that read the old state is woken to read the
    /// new one; setting the state it already has wakes nobody.
    pub fn set(&self, state: State) {
        let wakers = {
            let mut inner = self.lock();
            if inner.state == state {
                return;
            }
            inner.state = state;
            std::mem::take(&mut inner.wakers)
        };
        // Woken outside the lock: a waker may run code (even poll on this thread) that reads us.
        for waker in wakers {
            waker.wake();
        }
    }

    /// Applies `event` through the book's transition table ([`State::next`]).
    pub fn apply(&self, event: crate::switch_state_machine::Event) {
        self.set(self.state().next(event).0);
    }

    /// The current state, and a promise to wake `waker` when it changes.
    fn read_and_register(&self, waker: &Waker) -> State {
        let mut inner = self.lock();
        // A task polled again leaves the same waker: keep one per task, not one per poll.
        if !inner.wakers.iter().any(|w| w.will_wake(waker)) {
            inner.wakers.push(waker.clone());
        }
        inner.state
    }

    fn lock(&self) -> MutexGuard<'_, SwitchInner> {
        // Every change under this lock is a single assignment: a panic elsewhere cannot leave it
        // half-done, so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pin_project_lite::pin_project! {
    /// The book's version, kept to be measured: it wakes itself on every poll, so it is polled
    /// again at once, forever. Do not use it; the demo runs it for 100 ms to count its polls.
    ///
    /// Its output type is the book's `State`, but it never produces one: every poll returns
    /// `Pending`. Its `state` is the book's public field, fixed once the future is being polled.
    pub struct BookStateFuture<F, X> {
        pub state: State,
        #[pin]
        on_future: F,
        #[pin]
        off_future: X,
    }
}

impl<F: Future, X: Future> BookStateFuture<F, X> {
    /// The book's struct literal, as a function (the futures are private: they are pinned).
    pub fn new(state: State, on_future: F, off_future: X) -> Self {
        BookStateFuture {
            state,
            on_future,
            off_future,
        }
    }
}

impl<F: Future, X: Future> Future for BookStateFuture<F, X> {
    type Output = State;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Book: projects with `unsafe { self.map_unchecked_mut(..) }`; this copy of the book's
        // future keeps its behaviour but projects with `pin_project!`, without `unsafe`.
        let this = self.project();
        match this.state {
            State::On => {
                let _ = this.on_future.poll(cx);
            }
            State::Off => {
                let _ = this.off_future.poll(cx);
            }
        }
        // The busy loop: "poll me again right away", whether or not anything happened.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

// ---------------------------------------------------------------------------------------------
// The demo: tickers as the two futures, a driver flipping the switch.

/// How often a ticker ticks.
pub const TICK: Duration = Duration::from_millis(10);

/// The times (since `start`) at which a ticker ticked, shared between the ticker and its reader.
#[derive(Debug, Clone, Default)]
pub struct Ticks(Arc<Mutex<Vec<Duration>>>);

impl Ticks {
    /// The tick times so far.
    pub fn times(&self) -> Vec<Duration> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn push(&self, at: Duration) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(at);
    }
}

/// A 10 ms interval on a grid that starts now. Make it when the experiment starts, not inside the
/// ticker's `async` block: an `async` block runs nothing until its first poll, and an interval
/// made there would start its grid at whatever time the ticker happens to be first polled.
pub fn ticker_interval() -> Interval {
    let mut interval = tokio::time::interval(TICK);
    // A ticker not polled for a while (its side of the switch was off) skips the ticks it missed
    // and ticks next on the same grid, instead of firing a burst of them at once.
    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
    interval
}

/// A future that never finishes: it records the time of every tick of `interval` into `ticks`.
pub async fn ticker(mut interval: Interval, start: Instant, ticks: Ticks) {
    loop {
        interval.tick().await;
        ticks.push(start.elapsed());
    }
}

/// The ticks that fell into `[from, to)`.
pub fn ticks_between(ticks: &[Duration], from: Duration, to: Duration) -> usize {
    ticks.iter().filter(|t| from <= **t && **t < to).count()
}

/// What one run of the demo measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// When the on-ticker ticked.
    pub on_ticks: Vec<Duration>,
    /// When the off-ticker ticked.
    pub off_ticks: Vec<Duration>,
    /// How often the `StateFuture` was polled.
    pub polls: usize,
    /// When the switch was really flipped (a busy machine may run the driver a little late).
    pub flipped: Vec<Duration>,
}

/// Spawns a [`StateFuture`] over two tickers, starting `On`, flips the switch at each of `flips`
/// (times since the start, in order), stops everything at `end`, and reports the ticks and polls.
pub async fn run_switched(flips: &[Duration], end: Duration) -> Measured {
    let start = Instant::now();
    let (on_ticks, off_ticks) = (Ticks::default(), Ticks::default());
    let switch = Switch::new(State::On);
    let state_future = CountPolls::new(StateFuture::new(
        switch.clone(),
        ticker(ticker_interval(), start, on_ticks.clone()),
        ticker(ticker_interval(), start, off_ticks.clone()),
    ));
    let polls = state_future.counter();
    let task = tokio::spawn(state_future);

    let mut state = State::On;
    let mut flipped = Vec::new();
    for &at in flips {
        tokio::time::sleep_until(start + at).await;
        state = match state {
            State::On => State::Off,
            State::Off => State::On,
        };
        switch.set(state);
        flipped.push(start.elapsed());
    }
    tokio::time::sleep_until(start + end).await;
    task.abort();
    // The task never finishes on its own (both tickers run forever); aborting ends it.
    let _ = task.await;
    Measured {
        on_ticks: on_ticks.times(),
        off_ticks: off_ticks.times(),
        polls: polls.get(),
        flipped,
    }
}

/// Polls the book's [`BookStateFuture`] over two tickers for `how_long` of real time, and
/// returns how often it was polled.
pub async fn run_book_version(how_long: Duration) -> usize {
    let start = Instant::now();
    let book = CountPolls::new(BookStateFuture::new(
        State::On,
        ticker(ticker_interval(), start, Ticks::default()),
        ticker(ticker_interval(), start, Ticks::default()),
    ));
    let polls = book.counter();
    // `timeout` is polled in the same task and checks its timer on each poll, so it ends the
    // spinning after `how_long` (the runtime still drives timers between the busy polls).
    let _ = tokio::time::timeout(how_long, book).await;
    polls.get()
}

/// Runs the demo: `state-future [--phase-ms P]` (the time between flips, default 100 ms).
pub fn run(mut args: Args) -> DemoResult {
    let phase_ms = args.value_in("phase-ms", 100u64, 20..=2_000)?;
    args.finish()?;
    let phase = Duration::from_millis(phase_ms);
    demo(phase);
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn demo(phase: Duration) {
    let flips = [phase, 2 * phase];
    println!(
        "StateFuture over two 10 ms tickers; the driver flips Off at {} ms, On at {} ms, stops at {} ms",
        phase.as_millis(),
        2 * phase.as_millis(),
        3 * phase.as_millis()
    );
    let measured = run_switched(&flips, 3 * phase).await;
    // Phases as they really were: from flip to flip.
    let bounds = [
        Duration::ZERO,
        measured.flipped[0],
        measured.flipped[1],
        3 * phase,
    ];
    for (k, name) in ["On", "Off", "On"].into_iter().enumerate() {
        let (from, to) = (bounds[k], bounds[k + 1]);
        println!(
            "  {:>4}–{:<4} ms  switch {name:<3}  on-ticker {:>2} ticks, off-ticker {:>2} ticks",
            from.as_millis(),
            to.as_millis(),
            ticks_between(&measured.on_ticks, from, to),
            ticks_between(&measured.off_ticks, from, to),
        );
    }
    let ticks = measured.on_ticks.len() + measured.off_ticks.len();
    println!(
        "  StateFuture polled {} times for {ticks} ticks and {} flips: it sleeps between wake-ups",
        measured.polls,
        flips.len()
    );

    let book_polls = run_book_version(phase).await;
    println!(
        "\nthe book's StateFuture (wakes itself on every poll), same tickers, {} ms:",
        phase.as_millis()
    );
    // Ours ran three phases, the book's one: compare polls per phase.
    let ours_per_phase = (measured.polls / 3).max(1);
    println!(
        "  polled {book_polls} times, {}× as often as ours: one core spinning the whole time",
        book_polls / ours_per_phase
    );
}

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Runs the flips at 105 and 155 ms (between ticks, so no tick and flip share an instant) and
    /// stops at 200 ms, on the paused clock.
    async fn switched() -> Measured {
        run_switched(&[105 * MS, 155 * MS], 200 * MS).await
    }

    fn in_on(t: Duration) -> bool {
        t < 105 * MS || t >= 155 * MS
    }

    #[tokio::test(start_paused = true)]
    async fn each_ticker_ticks_only_while_its_side_of_the_switch_is_on() {
        let m = switched().await;
        assert_eq!(m.flipped, [105 * MS, 155 * MS]);
        assert!(!m.on_ticks.is_empty() && !m.off_ticks.is_empty(), "{m:?}");
        for t in &m.on_ticks {
            assert!(in_on(*t), "on-tick at {t:?} while off: {m:?}");
        }
        for t in &m.off_ticks {
            assert!(!in_on(*t), "off-tick at {t:?} while on: {m:?}");
        }
        // On the grid 0, 10, …, 100; the off-ticker picks up at the flip (it missed its tick at
        // 0) and then on the grid at 110 … 150; the on-ticker resumes at the flip back and ticks
        // at 160 … 190 (and perhaps 200, which is also when the run stops).
        let ms =
            |ticks: &[Duration]| -> Vec<u128> { ticks.iter().map(|t| t.as_millis()).collect() };
        let on = ms(&m.on_ticks);
        assert_eq!(on[..11], [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
        assert_eq!(on[11..15], [155, 160, 170, 180]);
        assert_eq!(ms(&m.off_ticks), [105, 110, 120, 130, 140, 150]);
    }

    #[tokio::test(start_paused = true)]
    async fn it_is_polled_about_once_per_tick_not_in_a_loop() {
        let m = switched().await;
        let ticks = m.on_ticks.len() + m.off_ticks.len();
        let flips = 2;
        // One poll per tick, one per flip, and the paused side's pending timer may wake the task
        // once per flip (to no effect); plus the first poll and, at most, the stop.
        assert!(
            m.polls <= ticks + 2 * flips + 2,
            "{} polls for {ticks} ticks",
            m.polls
        );
        assert!(m.polls >= ticks, "{} polls for {ticks} ticks", m.polls);
    }

    #[tokio::test(start_paused = true)]
    async fn a_finite_on_future_finishes_it_at_exactly_its_time() {
        let start = Instant::now();
        let on = async {
            tokio::time::sleep(30 * MS).await;
            7
        };
        let off = std::future::pending::<()>();
        let result = StateFuture::new(Switch::new(State::On), on, off).await;
        assert_eq!(result, Finished::On(7));
        assert_eq!(start.elapsed(), 30 * MS);
    }

    #[tokio::test(start_paused = true)]
    async fn the_paused_side_keeps_its_progress() {
        // The on-future sleeps until 30 ms, but the switch is off from 10 to 50 ms: it is not
        // polled then, and when the switch comes back its deadline has passed, so it finishes at
        // once, at 50 ms, without starting over.
        let start = Instant::now();
        let switch = Switch::new(State::On);
        let on = async {
            tokio::time::sleep(30 * MS).await;
            "on done"
        };
        let off = std::future::pending::<&str>();
        let task = tokio::spawn(StateFuture::new(switch.clone(), on, off));
        tokio::time::sleep(10 * MS).await;
        switch.set(State::Off);
        tokio::time::sleep(40 * MS).await;
        assert!(!task.is_finished());
        switch.set(State::On);
        let result = task.await.unwrap();
        assert_eq!(result, Finished::On("on done"));
        assert_eq!(start.elapsed(), 50 * MS);
    }

    #[tokio::test(start_paused = true)]
    async fn setting_the_same_state_wakes_nobody_and_off_futures_finish_as_off() {
        let switch = Switch::new(State::Off);
        let on = std::future::pending::<u8>();
        let off = async {
            tokio::time::sleep(5 * MS).await;
            'x'
        };
        let fut = CountPolls::new(StateFuture::new(switch.clone(), on, off));
        let polls = fut.counter();
        let task = tokio::spawn(fut);
        tokio::task::yield_now().await;
        switch.set(State::Off); // no change: no wake-up
        assert_eq!(task.await.unwrap(), Finished::Off('x'));
        assert_eq!(polls.get(), 2, "the first poll and the timer's wake-up");
    }

    #[test]
    fn the_books_version_is_always_pending_and_repolls_a_finished_future() {
        let mut cx = Context::from_waker(Waker::noop());
        let mut book = Box::pin(BookStateFuture::new(
            State::On,
            async { 1 },
            std::future::pending::<()>(),
        ));
        // First poll: the async block finishes (its 1 is dropped), yet the answer is Pending.
        assert_eq!(book.as_mut().poll(&mut cx), Poll::Pending);
        // Second poll: the finished async block is polled again, and it panics.
        let again = catch_unwind(AssertUnwindSafe(|| book.as_mut().poll(&mut cx)));
        let panic = again.expect_err("polling a finished async block panics");
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        assert!(message.contains("resumed after completion"), "{message}");
    }

    #[test]
    fn the_books_version_wakes_itself_on_every_poll() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::task::Wake;

        struct CountWakes(AtomicUsize);
        impl Wake for CountWakes {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let mut book = Box::pin(BookStateFuture::new(
            State::Off,
            std::future::pending::<()>(),
            std::future::pending::<()>(),
        ));
        for _ in 0..5 {
            assert_eq!(book.as_mut().poll(&mut cx), Poll::Pending);
        }
        // Nothing happened, yet it asked to be polled again five times.
        assert_eq!(wakes.0.load(Ordering::SeqCst), 5);
    }
}
