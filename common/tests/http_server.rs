//! Integration tests for `common::http`, the loopback HTTP/1.1 server (and, with feature `client`,
//! for `common::client` talking to it).
//!
//! The server is what chapters 1, 4 and 9 use instead of the internet, so these tests pin down the
//! behaviour those chapters rely on: requests are served concurrently (64 slow requests take about
//! as long as one), routes match as documented, scripted routes play their script in order, bad
//! input does not take the server down, and dropping the server closes its port promptly.
//!
//! Most tests talk to the server through `get`/`post`/`send` below: a deliberately tiny blocking
//! HTTP/1.1 client on `std::net::TcpStream`, which sends `Connection: close` and reads the whole
//! response. It is test code only; it makes the tests independent of any async runtime and of
//! reqwest.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use common::http::{Reply, Server};

/// How long the test client waits for a response before failing, so a bug fails a test instead
/// of hanging it.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// A response as the test client saw it.
#[derive(Debug)]
struct Response {
    status: u16,
    /// Names in lower case.
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(existing, _)| existing == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Sends `raw` on a new connection and reads until the server closes it.
fn send_raw(addr: SocketAddr, raw: &[u8]) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    stream.write_all(raw)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    Ok(response)
}

/// Parses a complete `Connection: close` response (no chunked encoding: the server always knows
/// its body's length).
fn parse(raw: &[u8]) -> Response {
    let text = String::from_utf8(raw.to_vec()).expect("response is UTF-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("response has a head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(": ").expect("header line");
            (name.to_ascii_lowercase(), value.to_owned())
        })
        .collect();
    Response {
        status,
        headers,
        body: body.to_owned(),
    }
}

fn send(server: &Server, method: &str, path: &str, body: &str) -> Response {
    let raw = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        server.addr(),
        body.len(),
    );
    parse(&send_raw(server.addr(), raw.as_bytes()).unwrap())
}

fn get(server: &Server, path: &str) -> Response {
    send(server, "GET", path, "")
}

fn post(server: &Server, path: &str, body: &str) -> Response {
    send(server, "POST", path, body)
}

#[test]
fn sixty_four_slow_requests_are_served_concurrently() {
    const CLIENTS: usize = 64;
    const DELAY: Duration = Duration::from_millis(200);
    let server = Arc::new(
        Server::builder()
            .route("GET", "/slow", Reply::text("slow answer").delay(DELAY))
            .start()
            .unwrap(),
    );

    // Every client thread, and this one, waits at the barrier, so all requests start together.
    let barrier = Arc::new(Barrier::new(CLIENTS + 1));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (server, barrier) = (Arc::clone(&server), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                get(&server, "/slow")
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let responses: Vec<Response> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let elapsed = start.elapsed();

    assert_eq!(responses.len(), CLIENTS);
    for response in &responses {
        assert_eq!(response.status, 200);
        assert_eq!(response.body, "slow answer");
    }
    assert!(elapsed >= DELAY, "faster than the delay: {elapsed:?}");
    assert!(elapsed < 2 * DELAY, "requests did not overlap: {elapsed:?}");
    assert_eq!(server.count("/slow"), CLIENTS);
    assert_eq!(server.request_count(), CLIENTS);
}

#[test]
fn static_routes_send_their_status_headers_and_body() {
    let server = Server::builder()
        .route("GET", "/text", Reply::text("plain text"))
        .route(
            "GET",
            "/json",
            Reply::json(r#"{"error": "busy"}"#)
                .status(503)
                .header("Retry-After", "1"),
        )
        .route("GET", "/html", Reply::html("<p>hi</p>"))
        .start()
        .unwrap();

    let text = get(&server, "/text");
    assert_eq!(text.status, 200);
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(text.header("content-length"), Some("10"));
    assert_eq!(text.body, "plain text");

    let json = get(&server, "/json");
    assert_eq!(json.status, 503);
    assert_eq!(json.header("content-type"), Some("application/json"));
    assert_eq!(json.header("retry-after"), Some("1"));
    assert_eq!(json.body, r#"{"error": "busy"}"#);

    let html = get(&server, "/html");
    assert_eq!(html.status, 200);
    assert_eq!(
        html.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(html.body, "<p>hi</p>");

    assert_eq!(
        [
            server.count("/text"),
            server.count("/json"),
            server.count("/html")
        ],
        [1, 1, 1]
    );
    assert_eq!(server.request_count(), 3);
}

#[test]
fn prefix_route_sees_the_whole_path_and_exact_routes_win() {
    let server = Server::builder()
        .prefix("GET", "/delay/", |request| {
            Reply::text(format!(
                "prefix {} {:?}",
                request.path,
                request.query.as_deref()
            ))
        })
        .route("GET", "/delay/fixed", Reply::text("exact"))
        .start()
        .unwrap();

    let response = get(&server, "/delay/200?x=1");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, r#"prefix /delay/200 Some("x=1")"#);
    assert_eq!(get(&server, "/delay/").body, "prefix /delay/ None");
    assert_eq!(get(&server, "/delay/fixed").body, "exact");
    // The prefix is matched as given, with its trailing slash.
    assert_eq!(get(&server, "/delay").status, 404);

    assert_eq!(server.count("/delay/"), 2);
    assert_eq!(server.count("/delay/fixed"), 1);
    assert_eq!(server.request_count(), 4);
}

#[test]
fn unknown_paths_and_methods_get_404_counted_only_in_the_total() {
    let server = Server::builder()
        .route("GET", "/known", Reply::text("known"))
        .start()
        .unwrap();

    let missing = get(&server, "/unknown");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body, "no route for GET /unknown\n");
    assert_eq!(post(&server, "/known", "").status, 404); // methods match exactly
    assert_eq!(get(&server, "/known").status, 200);

    assert_eq!(server.request_count(), 3);
    assert_eq!(server.count("/known"), 1);
    assert_eq!(server.count("/unknown"), 0);
}

#[test]
fn post_handler_receives_the_request_body_and_headers() {
    let server = Server::builder()
        .handler("POST", "/echo", |request| {
            let content_length = request.header("content-length").unwrap_or("none");
            Reply::json(request.body_text()).header("x-content-length", content_length)
        })
        .start()
        .unwrap();

    let body = r#"{"name": "Ferris", "legs": 10}"#;
    let response = post(&server, "/echo", body);
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(
        response.header("x-content-length"),
        Some(body.len().to_string().as_str())
    );
    assert_eq!(response.body, body);
    assert_eq!(server.count("/echo"), 1);
}

#[test]
fn scripted_route_plays_its_replies_in_order_then_repeats_the_last() {
    let unavailable = Reply::text("try later").status(503);
    let server = Server::builder()
        .scripted(
            "GET",
            "/flaky",
            vec![
                unavailable.clone(),
                unavailable.clone(),
                unavailable,
                Reply::text("data"),
            ],
        )
        .start()
        .unwrap();

    let statuses: Vec<(u16, String)> = (0..5)
        .map(|_| {
            let response = get(&server, "/flaky");
            (response.status, response.body)
        })
        .collect();
    let expected = [
        (503, "try later"),
        (503, "try later"),
        (503, "try later"),
        (200, "data"),
        (200, "data"),
    ]
    .map(|(status, body)| (status, body.to_owned()));
    assert_eq!(statuses, expected);
    assert_eq!(server.count("/flaky"), 5);
}

#[test]
fn garbage_input_gets_400_and_the_server_keeps_serving() {
    let server = Server::builder()
        .route("GET", "/ok", Reply::text("still here"))
        .start()
        .unwrap();

    let raw = send_raw(server.addr(), b"\x00\x01 this is not HTTP\r\n\r\n").unwrap();
    // hyper answers a request it cannot parse with 400 and closes; either way, no panic, no hang.
    assert!(
        raw.is_empty() || raw.starts_with(b"HTTP/1.1 400 "),
        "unexpected answer to garbage: {:?}",
        String::from_utf8_lossy(&raw)
    );

    let response = get(&server, "/ok");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, "still here");
    // The garbage never became a request.
    assert_eq!(server.request_count(), 1);
}

#[test]
fn arrivals_are_recorded_per_route_in_order_before_the_delay() {
    const CLIENTS: usize = 8;
    const DELAY: Duration = Duration::from_millis(200);
    let server = Arc::new(
        Server::builder()
            .route("GET", "/slow", Reply::text("slow").delay(DELAY))
            .route("POST", "/slow", Reply::new(201))
            .route("GET", "/other", Reply::text("other"))
            .start()
            .unwrap(),
    );

    // Eight clients released together: the server sees all eight arrive before it answers any.
    let barrier = Arc::new(Barrier::new(CLIENTS + 1));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (server, barrier) = (Arc::clone(&server), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                get(&server, "/slow");
                Instant::now()
            })
        })
        .collect();
    let before = Instant::now();
    barrier.wait();
    let answered: Vec<Instant> = clients.into_iter().map(|c| c.join().unwrap()).collect();

    let arrivals = server.arrivals("/slow");
    assert_eq!(arrivals.len(), CLIENTS);
    assert!(arrivals.is_sorted(), "{arrivals:?}");
    let (first, last) = (arrivals[0], arrivals[CLIENTS - 1]);
    assert!(before <= first, "{arrivals:?}");
    assert!(last - first < DELAY, "they arrived together: {arrivals:?}");
    // Each instant is taken on arrival, not when the reply leaves after the delay: every request
    // had arrived before the first answer came back, and that answer took the whole delay.
    let first_answer = *answered.iter().min().unwrap();
    assert!(last < first_answer, "{arrivals:?} {answered:?}");
    assert!(first_answer - first >= DELAY, "{arrivals:?} {answered:?}");

    // Other routes keep their own lists; same path with another method adds to this one; a 404
    // belongs to no route and is in no list.
    assert!(server.arrivals("/other").is_empty());
    get(&server, "/other");
    post(&server, "/slow", "");
    get(&server, "/missing");
    assert_eq!(server.arrivals("/other").len(), 1);
    assert_eq!(server.arrivals("/slow").len(), CLIENTS + 1);
    assert_eq!(server.arrivals("/slow").len(), server.count("/slow"));
    assert!(server.arrivals("/missing").is_empty());
    assert!(server.arrivals("/slow")[CLIENTS] > last);
}

#[test]
fn drop_closes_the_port_promptly_despite_an_idle_keep_alive_connection() {
    let server = Server::builder()
        .route("GET", "/ok", Reply::text("ok"))
        .start()
        .unwrap();
    let addr = server.addr();

    // One request on a keep-alive connection, which then stays open and idle.
    let mut idle = TcpStream::connect(addr).unwrap();
    idle.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
    write!(idle, "GET /ok HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut received = Vec::new();
    let mut buffer = [0; 1024];
    while !received.ends_with(b"\r\n\r\nok") {
        let n = idle.read(&mut buffer).unwrap();
        assert_ne!(n, 0, "connection closed before the response was complete");
        received.extend_from_slice(&buffer[..n]);
    }
    assert!(received.starts_with(b"HTTP/1.1 200 OK\r\n"));

    let start = Instant::now();
    drop(server);
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_secs(1), "drop took {elapsed:?}");

    assert!(TcpStream::connect(addr).is_err(), "port still accepts");
    // The idle connection was closed by the server: end of stream (or a reset), not a timeout.
    match idle.read(&mut buffer) {
        Ok(n) => assert_eq!(n, 0, "unexpected bytes after shutdown"),
        Err(err) => assert_eq!(err.kind(), io::ErrorKind::ConnectionReset),
    }
}

#[cfg(feature = "client")]
#[tokio::test]
async fn reqwest_client_for_a_loopback_url_gets_200() {
    let server = Server::builder()
        .route("GET", "/hello", Reply::text("hello from hyper"))
        .start()
        .unwrap();
    let url = server.url("/hello");

    let client = common::client::client_for(&url).unwrap();
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "hello from hyper");
    assert_eq!(server.count("/hello"), 1);
}

/// The two halves of the paused-clock story: the server's delay is real time (it runs on its own
/// runtime), and the test's virtual clock does not jump (the client has no 90 s idle timer).
#[cfg(feature = "client")]
#[tokio::test(start_paused = true)]
async fn paused_test_clock_neither_skips_server_delays_nor_jumps() {
    const DELAY: Duration = Duration::from_millis(50);
    let server = Server::builder()
        .route("GET", "/slow", Reply::text("slow").delay(DELAY))
        .start()
        .unwrap();
    let client = common::client::client_for(&server.url("/")).unwrap();

    let real = Instant::now();
    let virtual_start = tokio::time::Instant::now();
    for _ in 0..2 {
        let response = client.get(server.url("/slow")).send().await.unwrap();
        assert_eq!(response.text().await.unwrap(), "slow");
    }
    assert!(real.elapsed() >= 2 * DELAY, "server delay was skipped");
    assert!(
        virtual_start.elapsed() < Duration::from_secs(1),
        "the paused clock jumped by {:?}",
        virtual_start.elapsed()
    );
    assert_eq!(server.count("/slow"), 2);
}
