//! `sequential-requests`: four GETs awaited one after another (book section "What Is Async?").
//!
//! Writing `async` and `.await` does not by itself make anything concurrent. A Rust future is
//! *lazy*: calling an async function only builds a value describing the work, and nothing is sent
//! until something polls that value. So creating four request futures up front and then awaiting
//! them one by one runs the four requests strictly in turn, each starting when the previous one has
//! finished, and the total is about four times one request. This is the left half of the book's
//! Figure 1-1.
//!
//! Run it with `cargo run -p ch01 -- sequential-requests [--url URL] [--delay-ms D]`. Without
//! `--url` it starts the chapter's loopback server, whose `/posts/1` answers after D ms (default
//! 100). You will see the four statuses, the total (a little over 4 × D) with its ratio to one
//! delay, and a timeline chart with one row per request: four bars end to end, all drawn with the
//! same letter because they all ran on the `main` thread.
//!
//! How we differ from the book: the book calls `reqwest::get` (spelt `request::get`) four times,
//! building a new client for each; we build one client through `common::client::client_for`
//! before the clock starts and share it. Each request also reads its body, and records a span so
//! the chart can show when it really ran. That timed GET, the [`Batch`] it fills and the report
//! are shared with `joined-requests`, in [`requests`](crate::requests).

use std::time::Instant;

use common::demo::{Args, DemoResult};
use common::timeline::Timeline;
use reqwest::Client;

use crate::loopback::{DEFAULT_DELAY_MS, Target, delay_arg};
use crate::requests::{Batch, print_report, timed_get};

/// The book's four awaits in a row: creates four request futures, then awaits them one by one.
pub async fn sequential_requests(
    client: &Client,
    url: &str,
    timeline: &Timeline,
) -> Result<Batch, reqwest::Error> {
    let start = Instant::now();

    // Four futures now exist, and not one byte has been sent: a future does nothing until it is
    // polled. (The book's prose suggests the requests start here; they do not.)
    let first = timed_get(client, url, "request 1", timeline);
    let second = timed_get(client, url, "request 2", timeline);
    let third = timed_get(client, url, "request 3", timeline);
    let fourth = timed_get(client, url, "request 4", timeline);

    // Each `.await` polls one future to completion before the next line runs, so `second` is first
    // polled, and its request sent, only once `first` has its whole response.
    let first = first.await?;
    let second = second.await?;
    let third = third.await?;
    let fourth = fourth.await?;

    Ok(Batch {
        statuses: [first, second, third, fourth],
        total: start.elapsed(),
    })
}

/// Runs the demo: `sequential-requests [--url URL] [--delay-ms D]`.
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
        "(the book: 656 ms for four requests of about 140 ms each)",
    );
    Ok(())
}

/// A single-threaded runtime: every request runs on the thread that calls this, `main`.
#[tokio::main(flavor = "current_thread")]
async fn demo(client: &Client, url: &str, timeline: &Timeline) -> Result<Batch, reqwest::Error> {
    sequential_requests(client, url, timeline).await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use common::timeline::current_thread_name;
    use reqwest::StatusCode;

    use super::*;
    use crate::loopback::{POST_PATH, post_server};

    #[tokio::test]
    async fn four_awaits_in_a_row_take_four_delays_without_overlap() {
        let delay = Duration::from_millis(100);
        let target = Target::new(None, delay).unwrap();
        let client = common::client::client_for(&target.url).unwrap();
        let timeline = Timeline::new();

        let batch = sequential_requests(&client, &target.url, &timeline)
            .await
            .unwrap();

        assert_eq!(batch.statuses, [StatusCode::OK; 4]);
        assert!(
            batch.total >= 4 * delay,
            "{:?} < 4 × {delay:?}",
            batch.total
        );
        assert_eq!(target.request_count(), Some(4));

        let spans = timeline.spans();
        let labels: Vec<&str> = spans.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["request 1", "request 2", "request 3", "request 4"]);
        for pair in spans.windows(2) {
            assert!(
                pair[0].end <= pair[1].start,
                "{} must end before {} starts: {spans:?}",
                pair[0].label,
                pair[1].label
            );
        }
        for span in &spans {
            assert!(span.duration() >= delay, "{span:?}");
            assert_eq!(
                span.thread,
                current_thread_name(),
                "all on the test's thread"
            );
        }
    }

    #[tokio::test]
    async fn the_server_sees_each_request_only_after_the_previous_answer() {
        let delay = Duration::from_millis(100);
        let server = post_server(delay).unwrap();
        let url = server.url(POST_PATH);
        let client = common::client::client_for(&url).unwrap();

        sequential_requests(&client, &url, &Timeline::new())
            .await
            .unwrap();

        let arrivals = server.arrivals(POST_PATH);
        assert_eq!(arrivals.len(), 4);
        for pair in arrivals.windows(2) {
            // Request k+1 is sent after response k, which the server sent `delay` after k arrived.
            assert!(pair[1] - pair[0] >= delay, "{arrivals:?}");
        }
    }

    #[tokio::test]
    async fn a_request_future_sends_nothing_until_it_is_awaited() {
        let server = post_server(Duration::ZERO).unwrap();
        let url = server.url(POST_PATH);
        let client = common::client::client_for(&url).unwrap();
        let timeline = Timeline::new();

        let request = timed_get(&client, &url, "lazy", &timeline);
        // Give an eager request every chance to go out: the runtime is idle for 50 ms.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            server.arrivals(POST_PATH).is_empty(),
            "created, not polled: nothing sent"
        );
        assert!(timeline.spans().is_empty());

        assert_eq!(request.await.unwrap(), StatusCode::OK);
        assert_eq!(server.arrivals(POST_PATH).len(), 1);
        assert_eq!(timeline.spans().len(), 1);
        assert!(
            timeline.spans()[0].start >= Duration::from_millis(50),
            "the span opens at the first poll, not at the call"
        );
    }

    #[tokio::test]
    async fn a_failed_request_is_an_error_not_a_panic() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}{POST_PATH}");
        let client = common::client::client_for(&url).unwrap();
        let err = sequential_requests(&client, &url, &Timeline::new())
            .await
            .unwrap_err();
        assert!(err.is_connect(), "{err:?}");
    }
}
