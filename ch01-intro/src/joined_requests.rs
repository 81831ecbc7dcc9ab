//! `joined-requests`: the same four GETs under `tokio::join!` (book section "What Is Async?").
//!
//! `tokio::join!` takes several futures and polls them all from one future, on the task (and so
//! the thread) that awaits it. Its first poll sends request 1, and while that request waits for the
//! server it moves on to requests 2, 3 and 4; after that, each time it is woken (a response has
//! arrived) it polls the unfinished ones again, until all four are done. The four waits overlap,
//! so the total is about one delay instead of four, with no extra thread: concurrency, not
//! parallelism. This is the right half of the book's Figure 1-1.
//!
//! Run it with `cargo run -p ch01 -- joined-requests [--url URL] [--delay-ms D]`. Without `--url`
//! it starts the chapter's loopback server, whose `/posts/1` answers after D ms (default 100). You
//! will see the four statuses, the total (a little over D) with its ratio to one delay (about 1,
//! against about 4 for `sequential-requests`), and a timeline chart whose four bars lie on top of
//! each other, all drawn with the letter of one thread, `main`: the demo runs on a single-threaded
//! runtime on purpose, so no second thread could be doing the work.
//!
//! How we differ from the book: the book writes `let (_, _, _, _) = tokio::join!(…)` and so throws
//! away the four results, errors included; we return the first error. The requests share one client
//! built through `common::client::client_for` before the clock starts (the book's `reqwest::get`
//! builds one per call), and [`timed_get`] records a span per request for the chart. That timed
//! GET, the [`Batch`] and the report are shared with `sequential-requests`, in
//! [`requests`](crate::requests).

use std::time::Instant;

use common::demo::{Args, DemoResult};
use common::timeline::Timeline;
use reqwest::Client;

use crate::loopback::{DEFAULT_DELAY_MS, Target, delay_arg};
use crate::requests::{Batch, print_report, timed_get};

/// The book's `tokio::join!` of four requests: all four are polled, and so sent, at once.
pub async fn joined_requests(
    client: &Client,
    url: &str,
    timeline: &Timeline,
) -> Result<Batch, reqwest::Error> {
    let start = Instant::now();
    // As in `sequential_requests`, the four calls only build futures. `join!` is what polls them:
    // all four in its first poll, so every request is on its way before any answer comes back.
    // Book: `let (_, _, _, _) = …` discards the results; we keep them and report a failure.
    let (first, second, third, fourth) = tokio::join!(
        timed_get(client, url, "request 1", timeline),
        timed_get(client, url, "request 2", timeline),
        timed_get(client, url, "request 3", timeline),
        timed_get(client, url, "request 4", timeline),
    );
    let total = start.elapsed();
    Ok(Batch {
        statuses: [first?, second?, third?, fourth?],
        total,
    })
}

/// Runs the demo: `joined-requests [--url URL] [--delay-ms D]`.
pub fn run(mut args: Args) -> DemoResult {
    let url = args.url()?;
    let delay = delay_arg(&mut args, DEFAULT_DELAY_MS)?;
    args.finish()?;

    let target = Target::new(url, delay)?;
    let client = common::client::client_for(&target.url)?;
    println!("{}", target.describe(delay));

    let timeline = Timeline::new();
    let batch = demo(&client, &target.url, &timeline)?;
    print_report(
        &target,
        delay,
        &batch,
        &timeline,
        // Book: calls 137 ms against 656 ms "a 4.7 times increase in speed". Overlapping four
        // equal waits can save at most 4×; the rest was network noise. We print what we measured.
        "(the book: 137 ms against 656 ms awaited in turn; overlap can gain at most 4×, \
         so its \"4.7 times\" was partly network noise)",
    );
    Ok(())
}

/// A single-threaded runtime: `join!` gets its overlap from one thread, `main`, and the chart's
/// legend proves it.
// Book: `#[tokio::main]`, the multi-threaded runtime. The future it blocks on runs on `main` there
// too, so `join!` would behave the same; a runtime with one thread just leaves no room for doubt.
#[tokio::main(flavor = "current_thread")]
async fn demo(client: &Client, url: &str, timeline: &Timeline) -> Result<Batch, reqwest::Error> {
    joined_requests(client, url, timeline).await
}

#[cfg(test)]
mod tests {
    use common::timeline::current_thread_name;
    use std::time::Duration;

    use reqwest::StatusCode;

    use super::*;
    use crate::loopback::{POST_PATH, post_server};

    /// Long enough that four overlapping waits stand out from four sequential ones (4 × D) even on
    /// a busy two-core machine.
    const TEST_DELAY: Duration = Duration::from_millis(200);

    #[tokio::test]
    async fn four_joined_requests_overlap_on_one_thread_and_take_about_one_delay() {
        let delay = TEST_DELAY;
        let target = Target::new(None, delay).unwrap();
        let client = common::client::client_for(&target.url).unwrap();
        let timeline = Timeline::new();

        let batch = joined_requests(&client, &target.url, &timeline)
            .await
            .unwrap();

        assert_eq!(batch.statuses, [StatusCode::OK; 4]);
        assert_eq!(target.request_count(), Some(4));
        // Lower bound: deterministic. Upper bound: 3 × D, where sequential would need 4 × D; the
        // expected value is D plus a few milliseconds, so a loaded machine has 2 × D to spare.
        assert!(batch.total >= delay, "{:?}", batch.total);
        assert!(batch.total < 3 * delay, "{:?} ≥ 3 × {delay:?}", batch.total);

        let spans = timeline.spans();
        assert_eq!(spans.len(), 4);
        let first_end = spans.iter().map(|s| s.end).min().unwrap();
        for span in &spans {
            assert!(
                span.start < first_end,
                "all start before any ends: {spans:?}"
            );
            assert!(span.duration() >= delay, "{span:?}");
            assert_eq!(span.thread, current_thread_name(), "one thread: {spans:?}");
        }
        let mut labels: Vec<&str> = spans.iter().map(|s| s.label.as_str()).collect();
        labels.sort_unstable();
        assert_eq!(labels, ["request 1", "request 2", "request 3", "request 4"]);
    }

    #[tokio::test]
    async fn the_server_receives_all_four_before_it_answers_any() {
        // The spans above show the futures were *polled* together; this shows the requests were
        // on the wire together. Each answer leaves `delay` after its request arrived, so if all
        // four arrived within `delay` of the first, none was waiting for another's answer.
        let delay = TEST_DELAY;
        let server = post_server(delay).unwrap();
        let url = server.url(POST_PATH);
        let client = common::client::client_for(&url).unwrap();

        joined_requests(&client, &url, &Timeline::new())
            .await
            .unwrap();

        let arrivals = server.arrivals(POST_PATH);
        assert_eq!(arrivals.len(), 4);
        let (first, last) = (arrivals[0], arrivals[3]);
        assert!(last - first < delay, "{arrivals:?}");
    }
}
