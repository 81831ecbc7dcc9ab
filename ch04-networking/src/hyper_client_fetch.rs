//! `hyper-client-fetch`: hyper's client on chapter 3's runtime, with no tokio anywhere (book
//! section "Connecting and Running Our Client").
//!
//! The pieces of the previous demos come together here. hyper-util's `Client` is generic over
//! the three things that tie an HTTP client to a runtime, and we supply all three:
//!
//! | hyper needs | trait | ours |
//! |---|---|---|
//! | something to run its background futures | `hyper::rt::Executor` | [`CustomExecutor`] (`custom-executor`) |
//! | something that opens connections | `tower_service::Service<Uri>` | [`CustomConnector`] (`custom-connector`) |
//! | a stream it can read, write and ask about | `hyper::rt::Read`, `Write`, `Connection` | [`CustomStream`] (`hyper-read-adapter`, `hyper-write-adapter`, and below) |
//!
//! The last trait, `Connection`, is where a connector reports facts about a connection (was it
//! through a proxy, did TLS negotiate HTTP/2); ours has nothing to report, so `connected` returns
//! the default. Who wakes our tasks, then, when a response arrives? async-io's reactor thread,
//! which owns every `Async` socket: tokio is not involved at all (a test checks that
//! `tokio::runtime::Handle::try_current()` fails inside our task).
//!
//! Run it with `cargo run -p ch04 -- hyper-client-fetch [--url URL]`. Against the loopback server
//! (a small page at `/` standing in for rust-lang.org) it prints the status, content type, length
//! and the start of the page, then sends 8 fetches at once to a route that answers after 100 ms
//! and draws them on a timeline: 8 overlapping bars, about 100 ms in all, on chapter 3's worker
//! threads. `--url URL` fetches a real page instead (`https://` works, through rustls).
//!
//! How we differ from the book: the API is hyper 1.x's (the README has the table); one client is
//! built once and reused, so its connection pool works (the book built a client per `fetch`);
//! errors are returned, not unwrapped, and a non-UTF-8 page is shown lossily.

use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use common::demo::{Args, DemoResult};
use common::timeline::{Timeline, current_thread_name};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, USER_AGENT};
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connected, Connection};

use crate::custom_connector::{CustomConnector, CustomStream};
use crate::custom_executor::CustomExecutor;
use crate::watchdog::run_task;

// Book: `hyper::client::connect::Connection`, which moved to hyper-util with the legacy client.
impl Connection for CustomStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

/// hyper-util's client on our executor and connector, built on first use and then shared.
// Book: `fetch` built a new `Client` on every call, so no connection was ever reused.
static CLIENT: OnceLock<Client<CustomConnector, Empty<Bytes>>> = OnceLock::new();

/// The book's `fetch`: sends `req` through the shared client and returns the response head; the
/// body arrives as it is read.
///
/// Book: `Request<Body>` → `Response<Body>`. hyper 1.x has no single `Body` type: an empty
/// request body is `Empty<Bytes>`, a response body is `Incoming`.
pub async fn fetch(req: Request<Empty<Bytes>>) -> anyhow::Result<Response<Incoming>> {
    let client = CLIENT.get_or_init(|| client_with(CustomConnector::new()));
    Ok(client.request(req).await?)
}

/// A client on our executor with the given connector (the tests pass one that trusts their own
/// certificate authority).
// Book: `Client::builder().executor(CustomExecutor).build::(<_, Body>)(CustomConnector)`, a garbled
// turbofish; hyper-util's builder takes the executor as its argument.
pub fn client_with(connector: CustomConnector) -> Client<CustomConnector, Empty<Bytes>> {
    Client::builder(CustomExecutor).build::<_, Empty<Bytes>>(connector)
}

/// What the demo shows of one response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The status code (`Display` adds the reason: `200 OK`).
    pub status: StatusCode,
    /// The `content-type` header, if any.
    pub content_type: Option<String>,
    /// The whole body.
    pub body: Bytes,
}

/// `GET url` through [`fetch`], body collected.
pub async fn get_page(url: &str) -> anyhow::Result<Page> {
    let req = Request::get(url)
        .header(USER_AGENT, "hyper/1.12 (async-rust-book ch04)")
        .body(Empty::<Bytes>::new())
        .with_context(|| format!("cannot build a request for {url}"))?;
    // Book: `fetch(req).await.unwrap()`, a panic on any network error (offline, DNS, refused);
    // ours is an `Err` the caller can report.
    let response = fetch(req).await?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    // Book: `hyper::body::to_bytes(response.into_body())`, gone in hyper 1.x.
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Page {
        status,
        content_type,
        body,
    })
}

/// How many fetches the demo sends at once.
pub const CONCURRENT: usize = 8;

/// A watchdog for each fetch and each batch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);

/// Sends `n` GETs to `url`, each in a task of its own, and records one span per fetch, labelled
/// `fetch 1`…`fetch n`, on the worker thread that started it. Returns the statuses in order.
pub fn fetch_concurrently(
    n: usize,
    url: &str,
    timeline: &Timeline,
) -> anyhow::Result<Vec<StatusCode>> {
    let _ = crate::rt::start();
    let tasks: Vec<_> = (1..=n)
        .map(|k| {
            let (url, timeline) = (url.to_string(), timeline.clone());
            ch03::spawn_task!(async move {
                let start = timeline.now();
                let thread = current_thread_name();
                let page = get_page(&url).await;
                (k, thread, start, timeline.now(), page)
            })
        })
        .collect();
    // Awaiting them in order is fine: they all run meanwhile, each on its own task.
    let all = run_task(FETCH_TIMEOUT, async move {
        let mut results = Vec::with_capacity(tasks.len());
        for task in tasks {
            results.push(task.await);
        }
        results
    })?;
    let mut statuses = Vec::with_capacity(n);
    for (k, thread, start, end, page) in all {
        // Recorded in order after the fact, so the chart's rows read fetch 1, 2, 3, …
        timeline.record(format!("fetch {k}"), thread, start, end);
        let page = page.with_context(|| format!("fetch {k} failed"))?;
        statuses.push(page.status);
    }
    Ok(statuses)
}

/// At most this many characters of the page are printed.
const SHOWN_CHARS: usize = 300;

/// Runs the demo: `hyper-client-fetch [--url URL]`.
pub fn run(mut args: Args) -> DemoResult {
    let url = args.url()?;
    args.finish()?;
    // The book's numbers: 4 high and 2 low workers.
    crate::rt::start()?;
    // Book: `https://www.rust-lang.org`; the loopback page keeps the demo offline.
    let (url, server) = crate::loopback::url_or_server(url)?;
    println!("GET {url}");
    let spawned_before = CustomExecutor::spawned();
    let task_url = url.clone();
    let page = run_task(FETCH_TIMEOUT, async move { get_page(&task_url).await })
        .with_context(|| format!("no response from {url}"))??;
    print_page(&page);

    let Some(server) = server else {
        return Ok(());
    };
    let slow = server.url(crate::loopback::SLOW_PATH);
    println!(
        "\n{CONCURRENT} fetches at once of {slow}, which answers after {} ms:",
        crate::loopback::SLOW_DELAY.as_millis()
    );
    let timeline = Timeline::new();
    let statuses = fetch_concurrently(CONCURRENT, &slow, &timeline)?;
    print!("{}", timeline.render());
    let total = timeline
        .spans()
        .iter()
        .map(|s| s.end)
        .max()
        .unwrap_or_default();
    println!(
        "statuses: {:?}; all {CONCURRENT} done after {} ms (one at a time would take {} ms)",
        statuses.iter().map(StatusCode::as_u16).collect::<Vec<_>>(),
        total.as_millis(),
        CONCURRENT as u128 * crate::loopback::SLOW_DELAY.as_millis()
    );
    println!(
        "hyper handed CustomExecutor {} background futures: a driver for each connection it \
         opened, and helpers that put a connection back in the pool once it is idle again",
        CustomExecutor::spawned() - spawned_before
    );
    Ok(())
}

fn print_page(page: &Page) {
    println!("Response status: {}", page.status);
    println!(
        "content-type: {}",
        page.content_type.as_deref().unwrap_or("(none)")
    );
    println!("length: {} bytes", page.body.len());
    // Book: `String::from_utf8(..).unwrap()` panics on a page that is not UTF-8; lossy instead.
    let text = String::from_utf8_lossy(&page.body);
    let shown: String = text.chars().take(SHOWN_CHARS).collect();
    // Book: printed the whole page; the first 300 characters make the point.
    println!("first {SHOWN_CHARS} characters:\n{shown}");
    if text.chars().nth(SHOWN_CHARS).is_some() {
        println!("…");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loopback::{PAGE, SLOW_BODY, SLOW_PATH};
    use crate::tls_fixture::{TlsServer, http_ok};
    use common::http::{Reply, Server};

    const WATCHDOG: Duration = Duration::from_secs(15);

    fn get(url: &str) -> anyhow::Result<Page> {
        let url = url.to_string();
        run_task(WATCHDOG, async move { get_page(&url).await }).expect("fetch hung")
    }

    #[test]
    fn fetch_gets_the_routes_status_and_body() {
        let server = crate::loopback::server().unwrap();
        let page = get(&server.url("/")).unwrap();
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(
            page.content_type.as_deref(),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(page.body, PAGE.as_bytes());
        assert_eq!(server.count("/"), 1);
    }

    #[test]
    fn a_missing_route_is_ok_with_status_404() {
        let server = crate::loopback::server().unwrap();
        let page = get(&server.url("/nowhere")).unwrap();
        assert_eq!(page.status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn twenty_concurrent_fetches_all_succeed_and_overlap() {
        // A longer delay than the demo's, so that "all arrived within one delay" leaves a busy
        // two-core machine plenty of time to open twenty connections.
        let delay = Duration::from_millis(300);
        let server = Server::builder()
            .route("GET", SLOW_PATH, Reply::text(SLOW_BODY).delay(delay))
            .start()
            .unwrap();
        let timeline = Timeline::new();
        let statuses = fetch_concurrently(20, &server.url(SLOW_PATH), &timeline).unwrap();
        assert_eq!(statuses, vec![StatusCode::OK; 20]);
        assert_eq!(server.count(SLOW_PATH), 20);
        // All twenty were at the server before the first answer could leave (one delay after the
        // first arrived): none waited for another's response.
        let arrivals = server.arrivals(SLOW_PATH);
        assert!(arrivals[19] - arrivals[0] < delay, "{arrivals:?}");
        let spans = timeline.spans();
        let labels: Vec<String> = spans.iter().map(|s| s.label.clone()).collect();
        let expected: Vec<String> = (1..=20).map(|k| format!("fetch {k}")).collect();
        assert_eq!(labels, expected);
        for span in &spans {
            assert!(span.duration() >= delay, "{span:?}");
            assert!(
                span.thread.starts_with("high-") || span.thread.starts_with("low-"),
                "{span:?}"
            );
        }
    }

    #[test]
    fn a_closed_port_is_an_error_not_a_panic() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let error = get(&format!("http://127.0.0.1:{port}/")).unwrap_err();
        let text = format!("{error:#}");
        assert!(
            text.contains(&format!("cannot connect to 127.0.0.1:{port}")),
            "{text}"
        );
    }

    #[test]
    fn https_to_the_local_tls_server_with_the_test_ca_is_200() {
        let server = TlsServer::start(http_ok(SLOW_BODY));
        let client = client_with(CustomConnector::with_roots(server.roots()));
        let url = server.url("localhost", "/secure");
        let (status, body) = run_task(WATCHDOG, async move {
            let req = Request::get(url.as_str()).body(Empty::<Bytes>::new())?;
            let response = client.request(req).await?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        })
        .expect("https fetch hung")
        .unwrap();
        assert_eq!(status, 200);
        assert_eq!(body, SLOW_BODY.as_bytes());
    }

    #[test]
    fn hyper_used_our_executor_and_no_tokio_runtime_exists() {
        let server = crate::loopback::server().unwrap();
        let before = CustomExecutor::spawned();
        let url = server.url("/");
        let (in_tokio, page) = run_task(WATCHDOG, async move {
            let in_tokio = tokio::runtime::Handle::try_current().is_ok();
            (in_tokio, get_page(&url).await)
        })
        .unwrap();
        assert_eq!(page.unwrap().status, StatusCode::OK);
        assert!(!in_tokio, "a tokio runtime was found inside our task");
        // A new connection (the server is new) means a new connection driver for our executor.
        assert!(CustomExecutor::spawned() > before);
    }
}
