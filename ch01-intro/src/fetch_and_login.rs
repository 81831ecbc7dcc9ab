//! `fetch-and-login`: a slow fetch joined with a shorter login check (book section "Improving
//! HTTP Request Performance with Async").
//!
//! The chapter's last program joins two unrelated slow operations: an HTTP request to a server
//! that deliberately answers late (httpbin's `/delay/{seconds}`) and a pretend database lookup of
//! the user's last login (a sleep). Under `tokio::join!` both wait at the same time on one thread,
//! so the whole thing costs about as long as the slower of the two, and the login line prints
//! first even though its future was created second: work finishes in the order its waits end, not
//! in the order it was written.
//!
//! Run it with `cargo run -p ch01 -- fetch-and-login [--url URL]`. Without `--url` it starts a
//! loopback server of its own whose `/delay/{n}` answers after n × 100 ms with httpbin-shaped JSON
//! (`{"url": …, "args": {}}`), and the login check sleeps 100 ms: the book's 5 s and 1 s, scaled
//! by 1/10. You will see `Logged in 2 days ago`, then the fetched `url` and `args`, then
//! `Time taken: …` (a little over 500 ms, not 600), the moment each event happened and a two-row
//! timeline: the login bar sits inside the fetch bar, both on `main`. With `--url` pass the base of
//! an httpbin-like server, such as `--url https://httpbin.org`: the demo fetches `{URL}/delay/5`,
//! which there takes 5 real seconds.
//!
//! How we differ from the book: its listing imports `request::Error` (the crate is `reqwest`, now
//! 0.13) and needs the internet; `fetch_data` takes the client and the base URL, and checks the
//! status before decoding, so an error page is reported as such rather than as bad JSON. We print
//! the response's fields ourselves (the book's `{:?}` is their only reader, which rustc reports as
//! fields never read) and drop its redundant `use serde_json;`.

use std::io;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};
use common::http::{Reply, Request, Server};
use common::timeline::{Timeline, format_duration};
use reqwest::Client;
use serde::Deserialize;

/// One of the book's seconds on our loopback server: everything is scaled by 1/10.
pub const SECOND: Duration = Duration::from_millis(100);

/// The delay the book asks httpbin for, in (book) seconds.
pub const FETCH_SECONDS: u64 = 5;

/// How long the pretend database lookup takes. Book: one real second.
pub const LOGIN_DELAY: Duration = SECOND;

/// The path prefix of the delay route: `/delay/{seconds}`.
pub const DELAY_PREFIX: &str = "/delay/";

/// The longest delay our route grants, in (book) seconds; httpbin also caps at 10.
pub const MAX_SECONDS: u64 = 10;

/// What httpbin's `/delay/{n}` answers, reduced to the two fields the book reads.
#[derive(Deserialize, Debug)]
pub struct Response {
    /// The URL that was requested, as the server saw it.
    pub url: String,
    /// The query arguments the server received, as a JSON object (`{}` here).
    pub args: serde_json::Value,
}

/// Starts a loopback server whose `GET /delay/{n}` answers like httpbin's, after n × [`SECOND`].
pub fn delay_server() -> io::Result<Server> {
    Server::builder()
        .prefix("GET", DELAY_PREFIX, delay_reply)
        .start()
}

/// The reply to `GET /delay/{n}`: `{"url": "http://{host}/delay/{n}", "args": {}}` after
/// n × [`SECOND`] (n at most [`MAX_SECONDS`]). The path and the `Host` header come from the client,
/// so a bad one gets `400`, never a panic. Query strings are ignored (httpbin would echo them in
/// `args`).
fn delay_reply(request: &Request) -> Reply {
    let seconds = request
        .path
        .strip_prefix(DELAY_PREFIX)
        .and_then(|n| n.parse::<u64>().ok());
    let Some(seconds) = seconds else {
        return Reply::text("expected /delay/{seconds}, with a whole number of seconds")
            .status(400);
    };
    // httpbin reports the URL as the client addressed it, host included; so do we.
    let Some(host) = request.header("host") else {
        return Reply::text("the request has no Host header").status(400);
    };
    let body = serde_json::json!({
        "url": format!("http://{host}{}", request.path),
        "args": {},
    });
    let seconds = seconds.min(MAX_SECONDS) as u32; // at most 10: the cast cannot truncate
    Reply::json(body.to_string()).delay(SECOND * seconds)
}

/// GETs `{base}/delay/{seconds}` and decodes the JSON answer.
///
/// Calling it only builds a future: the request is sent when that future is first polled.
pub async fn fetch_data(
    client: &Client,
    base: &str,
    seconds: u64,
) -> Result<Response, reqwest::Error> {
    // Book: hard-codes `https://httpbin.org` and calls `reqwest::get`, a new client per call.
    let request_url = format!("{}{DELAY_PREFIX}{seconds}", base.trim_end_matches('/'));
    let response = client.get(&request_url).send().await?;
    // Book: decodes whatever came back. httpbin is often overloaded and answers 502 with an HTML
    // page, which would surface as a puzzling JSON error; checking the status first says what
    // really went wrong.
    let response = response.error_for_status()?;
    let delayed_response: Response = response.json().await?;
    Ok(delayed_response)
}

/// The pretend database lookup: waits [`LOGIN_DELAY`] without blocking the thread, then prints.
pub async fn calculate_last_login() {
    // `tokio::time::sleep` hands the thread back to the runtime while it waits; a
    // `std::thread::sleep` here would stall the fetch sharing the thread as well.
    tokio::time::sleep(LOGIN_DELAY).await;
    println!("Logged in 2 days ago");
}

/// Something that happened during [`fetch_and_login`], and when (on its timeline's clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// `"login"` or `"fetched"`.
    pub name: &'static str,
    /// When it happened, since the timeline began.
    pub at: Duration,
}

/// What [`fetch_and_login`] found.
#[derive(Debug)]
pub struct Outcome {
    /// The decoded answer of the delay route.
    pub response: Response,
    /// `login` and `fetched`, in the order they happened.
    pub events: Vec<Event>,
    /// From just before the two futures were created until both had finished.
    pub elapsed: Duration,
}

/// The book's `main`: joins `fetch_data(base, seconds)` with `calculate_last_login()`.
///
/// Each operation records a span in `timeline` (rows `fetch_data(n)` and
/// `calculate_last_login()`) and an [`Event`] when it finishes. A failed fetch is returned as an
/// error once both have finished.
pub async fn fetch_and_login(
    client: &Client,
    base: &str,
    seconds: u64,
    timeline: &Timeline,
) -> Result<Outcome, reqwest::Error> {
    // Both futures below record into this list; `join!` polls them on one task, one at a time,
    // so the lock is never contended. It only makes sharing the list legal.
    let events = Mutex::new(Vec::new());
    let record = |name| {
        let at = timeline.now();
        let mut events = events.lock().unwrap_or_else(PoisonError::into_inner);
        events.push(Event { name, at });
    };

    let start_time = Instant::now();
    // As in the book, the fetch is created first. Creating it does not start it (the book's prose
    // says otherwise): nothing is sent until `join!` polls it, together with the login check.
    let data = async {
        let span = format!("fetch_data({seconds})");
        let posts = timeline
            .time_async(span, fetch_data(client, base, seconds))
            .await;
        record("fetched");
        posts
    };
    let time_since = async {
        timeline
            .time_async("calculate_last_login()", calculate_last_login())
            .await;
        record("login");
    };
    let (posts, ()) = tokio::join!(data, time_since);
    let elapsed = start_time.elapsed();

    Ok(Outcome {
        response: posts?,
        events: events.into_inner().unwrap_or_else(PoisonError::into_inner),
        elapsed,
    })
}

/// Runs the demo: `fetch-and-login [--url URL]`.
pub fn run(mut args: Args) -> DemoResult {
    let url = args.url()?;
    args.finish()?;

    // Our server, when the reader gave no URL; it stops when `server` drops, after the runtime.
    let (base, server) = match url {
        Some(url) => (url, None),
        None => {
            let server = delay_server()?;
            (server.url("/"), Some(server))
        }
    };
    let client = common::client::client_for(&base)?;
    let fetch_url = format!(
        "{}{DELAY_PREFIX}{FETCH_SECONDS}",
        base.trim_end_matches('/')
    );
    match server {
        Some(_) => println!(
            "GET {fetch_url} (loopback server, answering after {}: the book's {FETCH_SECONDS} s \
             scaled by 1/10), joined with a {} login check",
            format_duration(SECOND * FETCH_SECONDS as u32),
            format_duration(LOGIN_DELAY)
        ),
        None => println!(
            "GET {fetch_url} (your server), joined with a {} login check",
            format_duration(LOGIN_DELAY)
        ),
    }

    let timeline = Timeline::new();
    let outcome = demo(&client, &base, &timeline)?;
    // Book: prints the whole `Result` with `{:?}`. The fields are ours to read and show.
    println!(
        "Fetched url = {}, args = {}",
        outcome.response.url, outcome.response.args
    );
    println!("Time taken: {}", format_duration(outcome.elapsed));
    let events: Vec<String> = outcome
        .events
        .iter()
        .map(|e| format!("{} at {}", e.name, format_duration(e.at)))
        .collect();
    println!("Events in order: {}", events.join(", "));
    println!("(the book: 5.49 s, the fetch's 5 s plus the round trip; the 1 s login hides inside)");
    println!();
    print!("{}", timeline.render());
    Ok(())
}

/// A single-threaded runtime: the fetch and the login check share the thread `main`.
#[tokio::main(flavor = "current_thread")]
async fn demo(client: &Client, base: &str, timeline: &Timeline) -> Result<Outcome, reqwest::Error> {
    fetch_and_login(client, base, FETCH_SECONDS, timeline).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn login_finishes_first_inside_the_fetch_and_the_total_is_the_fetch() {
        let server = delay_server().unwrap();
        let base = server.url("/");
        let client = common::client::client_for(&base).unwrap();
        let timeline = Timeline::new();

        let outcome = fetch_and_login(&client, &base, FETCH_SECONDS, &timeline)
            .await
            .unwrap();

        let names: Vec<&str> = outcome.events.iter().map(|e| e.name).collect();
        assert_eq!(names, ["login", "fetched"]);
        assert!(outcome.events[0].at <= outcome.events[1].at);

        let url = &outcome.response.url;
        assert!(url.ends_with("/delay/5"), "{url}");
        assert_eq!(
            *url,
            server.url("/delay/5"),
            "the host is the one we addressed"
        );
        assert_eq!(outcome.response.args, serde_json::json!({}));

        let fetch_delay = SECOND * FETCH_SECONDS as u32;
        assert!(outcome.elapsed >= fetch_delay, "{:?}", outcome.elapsed);
        assert_eq!(server.count(DELAY_PREFIX), 1);

        let spans = timeline.spans();
        let [fetch, login] = spans.as_slice() else {
            panic!("expected two spans, got {spans:?}");
        };
        assert_eq!(fetch.label, "fetch_data(5)");
        assert_eq!(login.label, "calculate_last_login()");
        // `join!` polls its first future first on its first poll, so the fetch opens first.
        assert!(
            fetch.start <= login.start && login.end <= fetch.end,
            "the login must lie inside the fetch: {spans:?}"
        );
        assert!(fetch.duration() >= fetch_delay, "{fetch:?}");
        assert!(login.duration() >= LOGIN_DELAY, "{login:?}");
        assert_eq!(fetch.thread, login.thread, "one thread for both");
    }

    #[tokio::test]
    async fn a_body_that_is_not_json_is_a_decode_error_not_a_panic() {
        let server = Server::builder()
            .prefix("GET", DELAY_PREFIX, |_| {
                Reply::text("<html>not json</html>")
            })
            .start()
            .unwrap();
        let base = server.url("/");
        let client = common::client::client_for(&base).unwrap();
        let err = fetch_data(&client, &base, 0).await.unwrap_err();
        assert!(err.is_decode(), "{err:?}");
    }

    #[tokio::test]
    async fn an_error_status_is_reported_as_a_status_error() {
        let server = Server::builder().start().unwrap(); // no routes: 404 for everything
        let base = server.url("/");
        let client = common::client::client_for(&base).unwrap();

        let err = fetch_data(&client, &base, 0).await.unwrap_err();
        assert!(err.is_status(), "{err:?}");
        assert_eq!(err.status(), Some(reqwest::StatusCode::NOT_FOUND));

        // And through the joined version: the login still runs, then the error comes back.
        let timeline = Timeline::new();
        let err = fetch_and_login(&client, &base, 0, &timeline)
            .await
            .unwrap_err();
        assert!(err.is_status(), "{err:?}");
        assert_eq!(timeline.spans().len(), 2);
    }

    #[tokio::test]
    async fn the_base_url_may_end_with_a_slash_or_not() {
        let server = delay_server().unwrap();
        let client = common::client::client_for(&server.url("/")).unwrap();
        let with_slash = server.url("/");
        let without = with_slash.trim_end_matches('/');
        for base in [with_slash.as_str(), without] {
            let response = fetch_data(&client, base, 0).await.unwrap();
            assert_eq!(response.url, server.url("/delay/0"), "base {base}");
        }
        assert_eq!(server.count(DELAY_PREFIX), 2);
    }

    fn request(path: &str, host: Option<&str>) -> Request {
        Request {
            method: "GET".into(),
            path: path.into(),
            headers: host
                .map(|h| vec![("host".to_string(), h.to_string())])
                .unwrap_or_default(),
            ..Request::default()
        }
    }

    #[test]
    fn the_delay_route_answers_like_httpbin_scaled_and_capped() {
        let expected = |url: &str, seconds: u32| {
            let body = serde_json::json!({ "url": url, "args": {} }).to_string();
            Reply::json(body).delay(SECOND * seconds)
        };
        assert_eq!(
            delay_reply(&request("/delay/5", Some("127.0.0.1:8080"))),
            expected("http://127.0.0.1:8080/delay/5", 5)
        );
        assert_eq!(
            delay_reply(&request("/delay/0", Some("example.test"))),
            expected("http://example.test/delay/0", 0)
        );
        // Capped at 10 (book) seconds, like httpbin.
        assert_eq!(
            delay_reply(&request("/delay/99", Some("h"))),
            expected("http://h/delay/99", 10)
        );
        assert_eq!(
            delay_reply(&request("/delay/abc", Some("h"))),
            Reply::text("expected /delay/{seconds}, with a whole number of seconds").status(400)
        );
        assert_eq!(
            delay_reply(&request("/delay/", Some("h"))),
            Reply::text("expected /delay/{seconds}, with a whole number of seconds").status(400)
        );
        assert_eq!(
            delay_reply(&request("/delay/1", None)),
            Reply::text("the request has no Host header").status(400)
        );
        // A hostile Host header is escaped into valid JSON, not spliced in.
        let reply = delay_reply(&request("/delay/0", Some(r#"x", "args": 1, "y":"#)));
        assert_eq!(reply, expected(r#"http://x", "args": 1, "y":/delay/0"#, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn the_login_check_waits_its_delay_without_blocking() {
        // Only tokio timers here, so the paused clock makes this exact and instant.
        let start = tokio::time::Instant::now();
        let ticker = async {
            // Runs while the login check sleeps: the thread is not blocked.
            tokio::time::sleep(LOGIN_DELAY / 2).await;
            tokio::time::Instant::now()
        };
        let ((), ticked) = tokio::join!(calculate_last_login(), ticker);
        assert_eq!(start.elapsed(), LOGIN_DELAY);
        assert_eq!(ticked - start, LOGIN_DELAY / 2);
    }
}
