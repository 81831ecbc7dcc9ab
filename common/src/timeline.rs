//! `timeline`: who ran what, when, and on which thread, drawn as an ASCII Gantt chart.
//!
//! The book explains concurrency with pictures (Figure 1-1: blocking requests one after another,
//! async requests side by side). Our demos draw those pictures from real measurements: a demo
//! records *spans* — a label, the thread it ran on, a start and an end — into a [`Timeline`] it owns,
//! then prints [`Timeline::render`]:
//!
//! ```text
//! request 1 │AAAAAAAAAAAAAAAAAA                                                      │ 0.00 → 102 ms
//! request 2 │                  AAAAAAAAAAAAAAAAAA                                    │ 102 → 204 ms
//! request 3 │                                    AAAAAAAAAAAAAAAAAA                  │ 204 → 306 ms
//! request 4 │                                                      AAAAAAAAAAAAAAAAAA│ 306 → 408 ms
//!           └────────────────────────────────────────────────────────────────────────┘
//!           0                                                                  408 ms
//!           threads: A = main · 1 column = 5.67 ms
//! ```
//!
//! Recording is cheap (one short mutex section per span) and works from any thread or task: a
//! `Timeline` is a handle, and its clones share one recorder. There is no global: each demo and
//! each test has its own, so tests running side by side never see each other's spans.
//!
//! The clock is injectable. By default it is `std::time::Instant`; under tokio's paused clock pass
//! `Timeline::with_clock(|| tokio::time::Instant::now().into_std())`, so spans follow virtual time
//! while `common` itself does not depend on tokio.
//!
//! Rendering is a pure function of the spans ([`render`]), so a test can assert on the text.
//! A span's thread is the one it *started* on: an async task that moves between worker threads
//! across an `.await` is drawn with its first thread (record one span per poll to see the moves).

use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Default chart width in columns (the bars only; labels and margins come on top).
///
/// ```
/// use common::timeline::{DEFAULT_WIDTH, Timeline};
/// let timeline = Timeline::new();
/// timeline.time("work", || ());
/// assert_eq!(timeline.render(), timeline.render_width(DEFAULT_WIDTH));
/// ```
pub const DEFAULT_WIDTH: usize = 72;

/// One recorded piece of work.
///
/// ```
/// use common::timeline::Timeline;
/// let timeline = Timeline::new();
/// timeline.time("load", || std::thread::sleep(std::time::Duration::from_millis(2)));
/// let span = &timeline.spans()[0];
/// assert_eq!(span.label, "load");
/// assert!(span.duration() >= std::time::Duration::from_millis(2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// The row it belongs to, e.g. `request 1`.
    pub label: String,
    /// The name of the thread it started on (`main`, `worker-1`, …).
    pub thread: String,
    /// When it started, measured from the timeline's creation.
    pub start: Duration,
    /// When it ended, measured from the timeline's creation.
    pub end: Duration,
}

impl Span {
    /// How long it lasted.
    ///
    /// ```
    /// use common::timeline::Span;
    /// use std::time::Duration;
    /// let span = Span {
    ///     label: "x".into(),
    ///     thread: "main".into(),
    ///     start: Duration::from_millis(5),
    ///     end: Duration::from_millis(12),
    /// };
    /// assert_eq!(span.duration(), Duration::from_millis(7));
    /// ```
    pub fn duration(&self) -> Duration {
        self.end.saturating_sub(self.start)
    }

    /// Whether two spans were in progress at the same moment (touching ends do not count).
    ///
    /// ```
    /// use common::timeline::Span;
    /// use std::time::Duration;
    /// let span = |a, b| Span {
    ///     label: "x".into(),
    ///     thread: "main".into(),
    ///     start: Duration::from_millis(a),
    ///     end: Duration::from_millis(b),
    /// };
    /// assert!(span(0, 10).overlaps(&span(5, 15)));
    /// assert!(!span(0, 10).overlaps(&span(10, 20)));
    /// ```
    pub fn overlaps(&self, other: &Span) -> bool {
        self.start < other.end && other.start < self.end
    }
}

type Clock = dyn Fn() -> Instant + Send + Sync;

struct Inner {
    clock: Box<Clock>,
    origin: Instant,
    /// Spans in the order they started; `None` while a guard is still open.
    slots: Mutex<Vec<Option<Span>>>,
}

impl Inner {
    fn slots(&self) -> MutexGuard<'_, Vec<Option<Span>>> {
        // A panic while holding this lock cannot leave a slot half-written, so poisoning is harmless.
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn now(&self) -> Duration {
        (self.clock)().saturating_duration_since(self.origin)
    }
}

/// A recorder of [`Span`]s; clone it to record from several threads or tasks.
///
/// ```
/// use common::timeline::Timeline;
///
/// let timeline = Timeline::new();
/// let worker = {
///     let timeline = timeline.clone();
///     std::thread::Builder::new()
///         .name("worker".into())
///         .spawn(move || timeline.time("background", || 2 + 2))
///         .unwrap()
/// };
/// {
///     let _span = timeline.span("foreground"); // recorded when dropped
/// }
/// assert_eq!(worker.join().unwrap(), 4);
///
/// let spans = timeline.spans();
/// assert_eq!(spans.len(), 2);
/// let threads: Vec<&str> = spans.iter().map(|s| s.thread.as_str()).collect();
/// assert!(threads.contains(&"worker"));
/// println!("{}", timeline.render());
/// ```
#[derive(Clone)]
pub struct Timeline {
    inner: Arc<Inner>,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline::new()
    }
}

impl std::fmt::Debug for Timeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timeline")
            .field("spans", &self.spans())
            .finish()
    }
}

impl Timeline {
    /// A timeline on the real clock (`std::time::Instant`), starting now.
    ///
    /// ```
    /// let timeline = common::Timeline::new();
    /// assert!(timeline.spans().is_empty());
    /// ```
    pub fn new() -> Self {
        Timeline::with_clock(Instant::now)
    }

    /// A timeline on the given clock, starting at the clock's current reading.
    ///
    /// Under tokio's paused clock: `Timeline::with_clock(|| tokio::time::Instant::now().into_std())`.
    ///
    /// ```
    /// use common::timeline::Timeline;
    /// use std::sync::{Arc, Mutex};
    /// use std::time::{Duration, Instant};
    ///
    /// // A hand-driven clock: time moves only when the test says so.
    /// let base = Instant::now();
    /// let offset = Arc::new(Mutex::new(Duration::ZERO));
    /// let clock = { let offset = offset.clone(); move || base + *offset.lock().unwrap() };
    /// let timeline = Timeline::with_clock(clock);
    /// {
    ///     let _span = timeline.span("step");
    ///     *offset.lock().unwrap() = Duration::from_millis(250);
    /// }
    /// assert_eq!(timeline.spans()[0].duration(), Duration::from_millis(250));
    /// ```
    pub fn with_clock(clock: impl Fn() -> Instant + Send + Sync + 'static) -> Self {
        let origin = clock();
        Timeline {
            inner: Arc::new(Inner {
                clock: Box::new(clock),
                origin,
                slots: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Time since the timeline was created, on its clock.
    ///
    /// ```
    /// let timeline = common::Timeline::new();
    /// let before = timeline.now();
    /// std::thread::sleep(std::time::Duration::from_millis(1));
    /// assert!(timeline.now() > before);
    /// ```
    pub fn now(&self) -> Duration {
        self.inner.now()
    }

    /// Starts a span on the current thread; it is recorded when the guard drops (or on
    /// [`SpanGuard::end`]). Its row is placed in the order spans *start*, so four requests started
    /// in order keep their order in the chart even if they finish in another.
    ///
    /// ```
    /// let timeline = common::Timeline::new();
    /// let first = timeline.span("first");
    /// let second = timeline.span("second");
    /// second.end(); // ends first…
    /// drop(first);
    /// let labels: Vec<String> = timeline.spans().into_iter().map(|s| s.label).collect();
    /// assert_eq!(labels, ["first", "second"]); // …but is listed in start order
    /// ```
    pub fn span(&self, label: impl Into<String>) -> SpanGuard {
        let start = self.inner.now();
        let span = Span {
            label: label.into(),
            thread: current_thread_name(),
            start,
            end: start,
        };
        let mut slots = self.inner.slots();
        slots.push(None);
        SpanGuard {
            timeline: self.clone(),
            index: slots.len() - 1,
            span: Some(span),
        }
    }

    /// Runs `work` on the current thread inside a span named `label` and returns its result.
    ///
    /// ```
    /// let timeline = common::Timeline::new();
    /// assert_eq!(timeline.time("sum", || (1..=10).sum::<u32>()), 55);
    /// assert_eq!(timeline.spans()[0].label, "sum");
    /// ```
    pub fn time<T>(&self, label: impl Into<String>, work: impl FnOnce() -> T) -> T {
        let _span = self.span(label);
        work()
    }

    /// Awaits `future` inside a span named `label`: from its first poll to its completion.
    ///
    /// ```
    /// use common::timeline::Timeline;
    /// use std::future::Future;
    /// use std::pin::pin;
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let timeline = Timeline::new();
    /// let mut fut = pin!(timeline.time_async("ready at once", async { 7 }));
    /// let poll = fut.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    /// assert_eq!(poll, Poll::Ready(7));
    /// assert_eq!(timeline.spans()[0].label, "ready at once");
    /// ```
    pub async fn time_async<F: Future>(&self, label: impl Into<String>, future: F) -> F::Output {
        let _span = self.span(label);
        future.await
    }

    /// Records a span measured elsewhere (times from [`Timeline::now`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// let timeline = common::Timeline::new();
    /// timeline.record("child 1", "worker-1", Duration::ZERO, Duration::from_millis(300));
    /// assert_eq!(timeline.spans()[0].thread, "worker-1");
    /// ```
    pub fn record(
        &self,
        label: impl Into<String>,
        thread: impl Into<String>,
        start: Duration,
        end: Duration,
    ) {
        self.inner.slots().push(Some(Span {
            label: label.into(),
            thread: thread.into(),
            start,
            end: end.max(start),
        }));
    }

    /// The finished spans, in the order they started (open spans are left out).
    ///
    /// ```
    /// let timeline = common::Timeline::new();
    /// let open = timeline.span("still running");
    /// timeline.time("done", || ());
    /// assert_eq!(timeline.spans().len(), 1);
    /// drop(open);
    /// assert_eq!(timeline.spans().len(), 2);
    /// ```
    pub fn spans(&self) -> Vec<Span> {
        self.inner.slots().iter().flatten().cloned().collect()
    }

    /// The chart at the default width ([`DEFAULT_WIDTH`] columns).
    ///
    /// ```
    /// let timeline = common::Timeline::new();
    /// timeline.time("step", || ());
    /// let chart = timeline.render();
    /// assert!(chart.starts_with("step │"));
    /// assert!(chart.contains("threads: A = "));
    /// ```
    pub fn render(&self) -> String {
        render(&self.spans(), DEFAULT_WIDTH)
    }

    /// The chart with `width` columns for the bars.
    ///
    /// ```
    /// let timeline = common::Timeline::new();
    /// timeline.time("step", || ());
    /// let first_row = timeline.render_width(20).lines().next().unwrap().to_string();
    /// assert_eq!(first_row.split('│').nth(1).unwrap().chars().count(), 20);
    /// ```
    pub fn render_width(&self, width: usize) -> String {
        render(&self.spans(), width)
    }
}

/// An open span; recorded when dropped.
///
/// ```
/// let timeline = common::Timeline::new();
/// {
///     let _guard = timeline.span("scope");
///     // … the work being timed …
/// } // recorded here
/// assert_eq!(timeline.spans()[0].label, "scope");
/// ```
#[must_use = "a span is recorded when its guard drops; dropping it at once records an empty span"]
pub struct SpanGuard {
    timeline: Timeline,
    index: usize,
    span: Option<Span>,
}

impl SpanGuard {
    /// Ends the span now (the same as dropping the guard).
    ///
    /// ```
    /// let timeline = common::Timeline::new();
    /// let guard = timeline.span("short");
    /// guard.end();
    /// assert_eq!(timeline.spans().len(), 1);
    /// ```
    pub fn end(self) {}
}

impl Drop for SpanGuard {
    fn drop(&mut self) {
        if let Some(mut span) = self.span.take() {
            span.end = self.timeline.now().max(span.start);
            self.timeline.inner.slots()[self.index] = Some(span);
        }
    }
}

/// A future wrapper that counts its polls and, if asked, records one span per poll.
///
/// Chapters 2, 3 and 5 ask "how many times was this polled, and where?": wrap the future, await
/// the wrapper, read the count. With [`CountPolls::recording`] every poll also becomes a span in a
/// timeline row, so a chart shows each poll on the thread that ran it (a task moving between
/// workers shows as marks of different letters in one row).
///
/// The inner future is kept in a `Pin<Box<F>>`, so the wrapper is `Unpin` and needs no `unsafe`
/// and no pin projection. [`CountPolls::counter`] hands out a [`PollCount`] that stays readable after
/// the wrapper has been moved into a task or consumed by `.await`.
///
/// ```
/// use common::timeline::{CountPolls, Timeline};
/// use std::future::Future;
/// use std::pin::Pin;
/// use std::task::{Context, Poll, Waker};
///
/// let timeline = Timeline::new();
/// let mut counted = CountPolls::new(common::CounterFuture::new(3)).recording(&timeline, "counter");
/// let polls = counted.counter();
/// let mut cx = Context::from_waker(Waker::noop());
/// while Pin::new(&mut counted).poll(&mut cx).is_pending() {}
/// assert_eq!(polls.get(), 3);
/// let spans = timeline.spans();
/// assert_eq!(spans.len(), 3); // one span per poll, all in the row "counter"
/// assert!(spans.iter().all(|s| s.label == "counter"));
/// ```
pub struct CountPolls<F> {
    inner: Pin<Box<F>>,
    polls: PollCount,
    recording: Option<(Timeline, String)>,
}

/// A shared, readable count of polls, handed out by [`CountPolls::counter`].
///
/// ```
/// use common::timeline::CountPolls;
/// let counted = CountPolls::new(async { 1 });
/// let polls = counted.counter();
/// assert_eq!(polls.get(), 0); // nothing polls a future until it is awaited
/// ```
#[derive(Debug, Clone, Default)]
pub struct PollCount(Arc<AtomicUsize>);

impl PollCount {
    /// The number of polls so far.
    ///
    /// ```
    /// let count = common::timeline::PollCount::default();
    /// assert_eq!(count.get(), 0);
    /// ```
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

impl<F> CountPolls<F> {
    /// Wraps `future`; nothing is recorded, only counted.
    ///
    /// ```
    /// use common::timeline::CountPolls;
    /// use std::task::{Context, Poll, Waker};
    /// use std::future::Future;
    /// let mut ready = CountPolls::new(std::future::ready('x'));
    /// let poll = std::pin::Pin::new(&mut ready).poll(&mut Context::from_waker(Waker::noop()));
    /// assert_eq!((poll, ready.polls()), (Poll::Ready('x'), 1));
    /// ```
    pub fn new(future: F) -> Self {
        CountPolls {
            inner: Box::pin(future),
            polls: PollCount::default(),
            recording: None,
        }
    }

    /// Also records each poll as a span in row `row` of `timeline` (on the polling thread).
    ///
    /// ```
    /// use common::timeline::{CountPolls, Timeline};
    /// let timeline = Timeline::new();
    /// let counted = CountPolls::new(async {}).recording(&timeline, "task 1");
    /// assert_eq!(counted.polls(), 0);
    /// ```
    pub fn recording(mut self, timeline: &Timeline, row: impl Into<String>) -> Self {
        self.recording = Some((timeline.clone(), row.into()));
        self
    }

    /// Polls so far.
    ///
    /// ```
    /// let counted = common::timeline::CountPolls::new(async {});
    /// assert_eq!(counted.polls(), 0);
    /// ```
    pub fn polls(&self) -> usize {
        self.polls.get()
    }

    /// A handle on the count that outlives the wrapper (for after `.await` or `spawn`).
    ///
    /// ```
    /// use common::timeline::CountPolls;
    /// let counted = CountPolls::new(async {});
    /// let polls = counted.counter();
    /// drop(counted);
    /// assert_eq!(polls.get(), 0);
    /// ```
    pub fn counter(&self) -> PollCount {
        self.polls.clone()
    }
}

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.0.fetch_add(1, Ordering::Relaxed);
        let _span = self
            .recording
            .as_ref()
            .map(|(timeline, row)| timeline.span(row.clone()));
        self.inner.as_mut().poll(cx)
    }
}

impl<F> std::fmt::Debug for CountPolls<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountPolls")
            .field("polls", &self.polls())
            .field("row", &self.recording.as_ref().map(|(_, row)| row))
            .finish()
    }
}

/// The current thread's name, or `thread-N` (its id) when it has none.
///
/// ```
/// use common::timeline::current_thread_name;
/// let named = std::thread::Builder::new().name("worker-1".into()).spawn(current_thread_name);
/// assert_eq!(named.unwrap().join().unwrap(), "worker-1");
/// let unnamed = std::thread::spawn(current_thread_name).join().unwrap();
/// assert!(unnamed.starts_with("thread-"), "{unnamed}");
/// ```
pub fn current_thread_name() -> String {
    let thread = std::thread::current();
    match thread.name() {
        Some(name) => name.to_string(),
        None => {
            let id = format!("{:?}", thread.id()); // "ThreadId(7)"
            let digits: String = id.chars().filter(char::is_ascii_digit).collect();
            format!("thread-{digits}")
        }
    }
}

/// Formats a duration with a unit that suits its size: `950 ns`, `12.50 µs`, `1.50 ms`, `2.00 s`.
///
/// ```
/// use common::timeline::format_duration;
/// use std::time::Duration;
/// assert_eq!(format_duration(Duration::from_nanos(950)), "950 ns");
/// assert_eq!(format_duration(Duration::from_micros(1500)), "1.50 ms");
/// assert_eq!(format_duration(Duration::from_millis(2000)), "2.00 s");
/// ```
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns < 1_000 {
        format!("{ns} ns")
    } else if ns < 1_000_000 {
        format!("{:.2} µs", ns as f64 / 1e3)
    } else if ns < 1_000_000_000 {
        format!("{:.2} ms", ns as f64 / 1e6)
    } else {
        format!("{:.2} s", ns as f64 / 1e9)
    }
}

/// Milliseconds with three significant figures: `0.00`, `5.67`, `102`, `1234`.
fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

/// The mark drawn for the `i`-th thread: `A`…`Z`, then `a`…`z`, then `0`…`9`, then `#`.
fn mark(i: usize) -> char {
    const MARKS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    MARKS.get(i).map_or('#', |&b| b as char)
}

/// Draws `spans` as a Gantt chart with `width` columns of bars.
///
/// One row per label, in the order labels first appear in `spans`; time runs left to right from
/// the earliest start to the latest end; each bar is drawn with its thread's mark, explained in the
/// legend. The output depends only on the spans and the width.
///
/// ```
/// use common::timeline::{Span, render};
/// use std::time::Duration;
/// let span = |label: &str, thread: &str, a, b| Span {
///     label: label.into(),
///     thread: thread.into(),
///     start: Duration::from_millis(a),
///     end: Duration::from_millis(b),
/// };
/// let chart = render(&[span("one", "main", 0, 50), span("two", "worker", 50, 100)], 10);
/// assert_eq!(
///     chart,
///     "one │AAAAA     │ 0.00 → 50.0 ms\n\
///      two │     BBBBB│ 50.0 → 100 ms\n    \
///      └──────────┘\n    \
///      0     100 ms\n    \
///      threads: A = main · B = worker · 1 column = 10.0 ms\n"
/// );
/// ```
pub fn render(spans: &[Span], width: usize) -> String {
    if spans.is_empty() {
        return "(no spans recorded)\n".to_string();
    }
    let width = width.max(10);
    let mut labels: Vec<&str> = Vec::new();
    let mut threads: Vec<&str> = Vec::new();
    for span in spans {
        if !labels.contains(&span.label.as_str()) {
            labels.push(&span.label);
        }
        if !threads.contains(&span.thread.as_str()) {
            threads.push(&span.thread);
        }
    }
    let t0 = spans.iter().map(|s| s.start).min().unwrap_or_default();
    let t1 = spans.iter().map(|s| s.end).max().unwrap_or_default();
    let total = t1.saturating_sub(t0).as_secs_f64();
    let column = |t: Duration| -> f64 {
        if total == 0.0 {
            0.0
        } else {
            t.saturating_sub(t0).as_secs_f64() / total * width as f64
        }
    };

    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for label in &labels {
        let mut row = vec![' '; width];
        let mine: Vec<&Span> = spans.iter().filter(|s| s.label == *label).collect();
        for span in &mine {
            let thread = threads.iter().position(|t| *t == span.thread).unwrap_or(0);
            let from = (column(span.start).round() as usize).min(width - 1);
            let to = (column(span.end).round() as usize).clamp(from + 1, width);
            row[from..to].fill(mark(thread));
        }
        let bars: String = row.into_iter().collect();
        let note = match mine.as_slice() {
            [one] => format!("{} → {} ms", ms(one.start - t0), ms(one.end - t0)),
            many => {
                let busy: Duration = many.iter().map(|s| s.duration()).sum();
                format!("{} spans, busy {} ms", many.len(), ms(busy))
            }
        };
        let pad = label_width - label.chars().count();
        let _ = writeln!(out, "{label}{:pad$} │{bars}│ {note}", "");
    }
    let indent = " ".repeat(label_width + 1);
    let _ = writeln!(out, "{indent}└{}┘", "─".repeat(width));
    let end_label = format!("{} ms", ms(t1 - t0));
    let gap = (width + 2).saturating_sub(1 + end_label.chars().count());
    let _ = writeln!(out, "{indent}0{:gap$}{end_label}", "");
    let legend: Vec<String> = threads
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{} = {t}", mark(i)))
        .collect();
    let per_column = Duration::from_secs_f64(total / width as f64);
    let _ = writeln!(
        out,
        "{indent}threads: {} · 1 column = {} ms",
        legend.join(" · "),
        ms(per_column)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(label: &str, thread: &str, a: u64, b: u64) -> Span {
        Span {
            label: label.into(),
            thread: thread.into(),
            start: Duration::from_millis(a),
            end: Duration::from_millis(b),
        }
    }

    #[test]
    fn sequential_and_overlapping_bars_are_drawn_where_they_happened() {
        let sequential: Vec<Span> = (0..4)
            .map(|i| {
                span(
                    &format!("request {}", i + 1),
                    "main",
                    i * 100,
                    (i + 1) * 100,
                )
            })
            .collect();
        let chart = render(&sequential, 12);
        let rows: Vec<&str> = chart.lines().collect();
        assert_eq!(rows[0], "request 1 │AAA         │ 0.00 → 100 ms");
        assert_eq!(rows[1], "request 2 │   AAA      │ 100 → 200 ms");
        assert_eq!(rows[3], "request 4 │         AAA│ 300 → 400 ms");
        assert_eq!(rows[4], "          └────────────┘");
        assert_eq!(rows[5], "          0       400 ms");
        assert!(chart.ends_with("threads: A = main · 1 column = 33.3 ms\n"));

        let joined: Vec<Span> = (0..4)
            .map(|i| span(&format!("request {}", i + 1), "main", i, 100 + i))
            .collect();
        for row in render(&joined, 12).lines().take(4) {
            assert!(row.contains("│AAAAAAAAAAAA│"), "{row}");
        }
    }

    #[test]
    fn rows_follow_first_appearance_and_threads_get_distinct_marks() {
        let spans = [
            span("b", "worker-1", 0, 10),
            span("a", "worker-2", 10, 20),
            span("b", "worker-2", 20, 30),
        ];
        let chart = render(&spans, 3);
        // width is raised to the minimum of 10 columns
        let rows: Vec<&str> = chart.lines().collect();
        assert!(
            rows[0].starts_with("b │AAA    BBB│ 2 spans, busy 20.0 ms"),
            "{chart}"
        );
        assert!(rows[1].starts_with("a │   BBBB   │"), "{chart}");
        assert!(chart.contains("threads: A = worker-1 · B = worker-2"));
    }

    #[test]
    fn a_zero_length_span_still_shows_one_column_and_empty_input_says_so() {
        let chart = render(&[span("instant", "main", 5, 5)], 10);
        assert!(chart.starts_with("instant │A         │"), "{chart}");
        assert_eq!(render(&[], 10), "(no spans recorded)\n");
    }

    #[test]
    fn guards_record_in_start_order_with_the_thread_that_started_them() {
        let timeline = Timeline::new();
        let first = timeline.span("first");
        let second = timeline.span("second");
        drop(second); // finishes first, still listed second
        drop(first);
        let worker = {
            let timeline = timeline.clone();
            std::thread::Builder::new()
                .name("helper".into())
                .spawn(move || timeline.time("third", || ()))
                .unwrap()
        };
        worker.join().unwrap();
        let spans = timeline.spans();
        let labels: Vec<&str> = spans.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["first", "second", "third"]);
        assert_eq!(spans[2].thread, "helper");
        assert!(spans[0].end >= spans[1].end);
    }

    #[test]
    fn open_spans_are_not_listed_until_they_end() {
        let timeline = Timeline::new();
        let open = timeline.span("open");
        timeline.record(
            "manual",
            "elsewhere",
            Duration::ZERO,
            Duration::from_millis(3),
        );
        assert_eq!(timeline.spans().len(), 1);
        open.end();
        assert_eq!(timeline.spans().len(), 2);
        assert_eq!(timeline.spans()[0].label, "open");
    }

    #[tokio::test(start_paused = true)]
    async fn follows_tokio_paused_clock_when_given_it() {
        let timeline = Timeline::with_clock(|| tokio::time::Instant::now().into_std());
        let sleepy = timeline.time_async("sleep", tokio::time::sleep(Duration::from_secs(5)));
        sleepy.await;
        let spans = timeline.spans();
        assert_eq!(spans[0].duration(), Duration::from_secs(5)); // exact: virtual time
    }

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(format_duration(Duration::from_nanos(950)), "950 ns");
        assert_eq!(format_duration(Duration::from_nanos(12_500)), "12.50 µs");
        assert_eq!(format_duration(Duration::from_micros(1500)), "1.50 ms");
        assert_eq!(format_duration(Duration::from_secs(3)), "3.00 s");
    }
}
