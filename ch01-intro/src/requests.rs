//! What the two four-request demos share (book section "What Is Async?"): a timed GET and a report.
//!
//! `sequential-requests` and `joined-requests` send the same four GETs and differ only in how they
//! await them, which is all each demo file shows. The pieces around that lesson live here:
//! [`timed_get`] sends one request and records when it really ran, [`Batch`] holds what four
//! requests brought back, and [`print_report`] prints the statuses, the total and the chart.

use std::time::Duration;

use common::timeline::{Timeline, format_duration};
use reqwest::{Client, StatusCode};

use crate::loopback::Target;

/// GETs `url` with `client`, reads the body and returns the status; the exchange is recorded in
/// `timeline` as a span named `label`.
///
/// Like every `async fn`, calling this does nothing but build a future: the span opens, and the
/// request leaves, only when that future is first polled (by `.await`, `join!`, or a spawned task).
/// That is why the chart shows when each request *ran*, not when its future was made.
pub async fn timed_get(
    client: &Client,
    url: &str,
    label: &str,
    timeline: &Timeline,
) -> Result<StatusCode, reqwest::Error> {
    let exchange = async {
        let response = client.get(url).send().await?;
        let status = response.status();
        // Book: drops the response unread. Reading the body ends the exchange properly, and it
        // lets the next request reuse the connection instead of opening a new one.
        response.bytes().await?;
        Ok(status)
    };
    timeline.time_async(label, exchange).await
}

/// What a batch of four requests brought back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The status of `request 1` to `request 4`, in that order.
    pub statuses: [StatusCode; 4],
    /// From just before the first future was created until the last response was read.
    pub total: Duration,
}

/// Prints what a batch demo found: one status line per request, the total and its ratio to one
/// delay, then the timeline chart. `book` is a line recalling what the book measured.
///
/// Against our loopback server, "one delay" is the server's delay; against the reader's `--url`,
/// where we do not know the latency, it is the average request of this batch.
pub fn print_report(
    target: &Target,
    delay: Duration,
    batch: &Batch,
    timeline: &Timeline,
    book: &str,
) {
    for (i, status) in batch.statuses.iter().enumerate() {
        println!("request {}: {status}", i + 1);
    }
    let spans = timeline.spans();
    let (unit, unit_name) = if target.server.is_some() {
        (delay, "one server delay")
    } else {
        let busy: Duration = spans.iter().map(|s| s.duration()).sum();
        (busy / spans.len().max(1) as u32, "one request on average")
    };
    let ratio = if unit.is_zero() {
        String::from("n/a")
    } else {
        format!("{:.1}", batch.total.as_secs_f64() / unit.as_secs_f64())
    };
    println!(
        "4 requests took {:.0} ms in total: {ratio} × {unit_name} ({})",
        batch.total.as_secs_f64() * 1e3,
        format_duration(unit)
    );
    println!("{book}");
    println!();
    print!("{}", timeline.render());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loopback::{FAIL_PATH, POST_PATH, post_server};

    #[tokio::test]
    async fn a_server_error_is_a_status_to_report_not_an_error() {
        let server = post_server(Duration::ZERO).unwrap();
        let client = common::client::client_for(&server.url("/")).unwrap();
        let timeline = Timeline::new();

        let ok = timed_get(&client, &server.url(POST_PATH), "post", &timeline).await;
        let failed = timed_get(&client, &server.url(FAIL_PATH), "fail", &timeline).await;

        assert_eq!(ok.unwrap(), StatusCode::OK);
        assert_eq!(failed.unwrap(), StatusCode::INTERNAL_SERVER_ERROR);
        let labels: Vec<String> = timeline.spans().into_iter().map(|s| s.label).collect();
        assert_eq!(labels, ["post", "fail"]);
    }

    /// A URL on a port nobody listens on: bound, then freed.
    fn refused_url() -> String {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        format!("http://127.0.0.1:{port}{POST_PATH}")
    }

    #[tokio::test]
    async fn a_failed_request_is_an_error_and_still_a_span() {
        let url = refused_url();
        let client = common::client::client_for(&url).unwrap();
        let timeline = Timeline::new();
        let err = timed_get(&client, &url, "refused", &timeline)
            .await
            .unwrap_err();
        assert!(err.is_connect(), "{err:?}");
        assert_eq!(timeline.spans().len(), 1, "the attempt is on the chart");
    }
}
