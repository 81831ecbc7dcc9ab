//! A loopback HTTP/1.1 server for demos and tests, so that no chapter needs the internet.
//!
//! Chapters 1, 4 and 9 make HTTP requests: many at once to show what concurrency buys, a slow one
//! to show a timeout, a failing one to show a retry. Pointing those demos at a public website would
//! make them slow, flaky and rude, so they point at a [`Server`] instead. It binds `127.0.0.1` on a
//! port the operating system picks, answers from a table of routes, and counts every request, so a
//! test can assert not only *what* came back but *how many* requests arrived, and *when*
//! ([`Server::arrivals`]):
//!
//! ```
//! use common::http::{Reply, Server};
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use std::time::Duration;
//!
//! let server = Server::builder()
//!     .route("GET", "/hello", Reply::text("hello, reader"))
//!     .route("GET", "/slow", Reply::text("finally").delay(Duration::from_millis(50)))
//!     .start()?;
//!
//! // Any client will do; here it is a raw socket and a hand-written request.
//! let mut stream = TcpStream::connect(server.addr())?;
//! stream.write_all(b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
//! let mut response = String::new();
//! stream.read_to_string(&mut response)?;
//!
//! assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(response.ends_with("\r\n\r\nhello, reader"));
//! assert_eq!(server.count("/hello"), 1);
//! assert_eq!(server.count("/slow"), 0);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # How it works
//!
//! The HTTP itself is [hyper]'s: each accepted connection is handed to
//! `hyper::server::conn::http1`, which parses requests, keeps connections alive and writes
//! responses; this module only decides *which* [`Reply`] a request gets. Every connection is its
//! own tokio task, so a hundred clients waiting on a route with a one-second [`Reply::delay`] all
//! get their answer after about one second, not a hundred.
//!
//! The server runs on a tokio runtime of its own, on a thread of its own named `loopback-http`.
//! That makes it independent of whatever the *client* runs on: a blocking `std` program, tokio,
//! smol or the hand-made executors of later chapters can all talk to it. It also keeps the server's
//! delays in real time when a test pauses *its* tokio clock (`#[tokio::test(start_paused = true)]`):
//! the paused clock belongs to the test's runtime, not to the server's.
//!
//! Dropping the [`Server`] stops it: the accept loop is told to end, the thread is joined, and the
//! runtime goes down with every connection task on it, so the port is closed when `drop` returns,
//! even if a client still holds an idle keep-alive connection.
//!
//! The examples in this module talk to the server through `std::net::TcpStream`, usually through a
//! hidden helper `get(&server, path)` that sends a `GET` with `Connection: close` and returns the
//! whole raw response as a string: status line, headers and body.
//!
//! [hyper]: https://docs.rs/hyper

use std::convert::Infallible;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// How long the accept loop rests after a failed `accept` (for example when the process is out of
/// file descriptors) before it tries again. Resting, rather than retrying at once, keeps a
/// persistent error from turning the loop into a busy loop.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// The name of the server's thread, as seen in debuggers and panic messages.
const THREAD_NAME: &str = "loopback-http";

const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";
const HTML: &str = "text/html; charset=utf-8";

/// A response the server sends: status, headers, body, and how long to wait before sending it.
///
/// Build one with [`Reply::new`], [`Reply::text`], [`Reply::json`] or [`Reply::html`], then adjust
/// it with the builder-style setters [`status`](Reply::status), [`header`](Reply::header) and
/// [`delay`](Reply::delay). A `Reply` is cheap to clone: the body is shared, not copied.
///
/// ```
/// # use std::io::{Read, Write};
/// # fn get(server: &common::http::Server, path: &str) -> String {
/// #     let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
/// #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
/// #     let mut response = String::new();
/// #     stream.read_to_string(&mut response).unwrap();
/// #     response
/// # }
/// use common::http::{Reply, Server};
///
/// let teapot = Reply::text("short and stout").status(418).header("x-kind", "teapot");
/// let server = Server::builder().route("GET", "/tea", teapot).start()?;
///
/// let response = get(&server, "/tea");
/// assert!(response.starts_with("HTTP/1.1 418 I'm a teapot\r\n"));
/// assert!(response.contains("x-kind: teapot\r\n"));
/// assert!(response.ends_with("short and stout"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
    delay: Duration,
}

impl Reply {
    /// A reply with the given status code, no headers and an empty body.
    ///
    /// A status hyper cannot send (outside `100..=999`) makes the server answer `500` with an
    /// explanation instead, rather than panic on its own thread.
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # fn get(server: &common::http::Server, path: &str) -> String {
    /// #     let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    /// #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    /// #     let mut response = String::new();
    /// #     stream.read_to_string(&mut response).unwrap();
    /// #     response
    /// # }
    /// use common::http::{Reply, Server};
    ///
    /// let server = Server::builder().route("PUT", "/item", Reply::new(204)).start()?;
    /// # let mut stream = std::net::TcpStream::connect(server.addr())?;
    /// # stream.write_all(b"PUT /item HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
    /// # let mut response = String::new();
    /// # stream.read_to_string(&mut response)?;
    /// // A PUT request, sent over a TcpStream as in the module example, gets:
    /// assert!(response.starts_with("HTTP/1.1 204 No Content\r\n"));
    /// assert!(response.ends_with("\r\n\r\n")); // and no body
    /// // A GET does not match the PUT route:
    /// assert!(get(&server, "/item").starts_with("HTTP/1.1 404 Not Found\r\n"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            delay: Duration::ZERO,
        }
    }

    /// A `200 OK` reply with a plain-text body (`content-type: text/plain; charset=utf-8`).
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # fn get(server: &common::http::Server, path: &str) -> String {
    /// #     let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    /// #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    /// #     let mut response = String::new();
    /// #     stream.read_to_string(&mut response).unwrap();
    /// #     response
    /// # }
    /// use common::http::{Reply, Server};
    ///
    /// let server = Server::builder().route("GET", "/", Reply::text("plain")).start()?;
    /// let response = get(&server, "/");
    /// assert!(response.contains("content-type: text/plain; charset=utf-8\r\n"));
    /// assert!(response.ends_with("\r\n\r\nplain"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn text(body: impl Into<String>) -> Reply {
        Reply::with_body(TEXT, body.into())
    }

    /// A `200 OK` reply with a JSON body (`content-type: application/json`).
    ///
    /// The body is sent as given; it is not checked to be valid JSON, so a test can also serve
    /// broken JSON on purpose.
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # fn get(server: &common::http::Server, path: &str) -> String {
    /// #     let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    /// #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    /// #     let mut response = String::new();
    /// #     stream.read_to_string(&mut response).unwrap();
    /// #     response
    /// # }
    /// use common::http::{Reply, Server};
    ///
    /// let server = Server::builder()
    ///     .route("GET", "/user", Reply::json(r#"{"id": 1, "name": "Ada"}"#))
    ///     .start()?;
    /// let response = get(&server, "/user");
    /// assert!(response.contains("content-type: application/json\r\n"));
    /// assert!(response.ends_with(r#"{"id": 1, "name": "Ada"}"#));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn json(body: impl Into<String>) -> Reply {
        Reply::with_body(JSON, body.into())
    }

    /// A `200 OK` reply with an HTML body (`content-type: text/html; charset=utf-8`).
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # fn get(server: &common::http::Server, path: &str) -> String {
    /// #     let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    /// #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    /// #     let mut response = String::new();
    /// #     stream.read_to_string(&mut response).unwrap();
    /// #     response
    /// # }
    /// use common::http::{Reply, Server};
    ///
    /// let server = Server::builder()
    ///     .route("GET", "/", Reply::html("<h1>Async Rust</h1>"))
    ///     .start()?;
    /// let response = get(&server, "/");
    /// assert!(response.contains("content-type: text/html; charset=utf-8\r\n"));
    /// assert!(response.ends_with("<h1>Async Rust</h1>"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn html(body: impl Into<String>) -> Reply {
        Reply::with_body(HTML, body.into())
    }

    /// Replaces the status code, keeping headers, body and delay.
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # fn get(server: &common::http::Server, path: &str) -> String {
    /// #     let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    /// #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    /// #     let mut response = String::new();
    /// #     stream.read_to_string(&mut response).unwrap();
    /// #     response
    /// # }
    /// use common::http::{Reply, Server};
    ///
    /// let server = Server::builder()
    ///     .route("GET", "/busy", Reply::text("try again later").status(503))
    ///     .start()?;
    /// let response = get(&server, "/busy");
    /// assert!(response.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
    /// assert!(response.ends_with("try again later"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn status(mut self, status: u16) -> Reply {
        self.status = status;
        self
    }

    /// Sets a response header, replacing any earlier header of the same name (names compare
    /// case-insensitively), so `Reply::json(..).header("content-type", "application/problem+json")`
    /// changes the content type rather than sending two.
    ///
    /// A name or value that HTTP does not allow (a space in the name, a newline in the value) makes
    /// the server answer `500` with an explanation instead.
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # fn get(server: &common::http::Server, path: &str) -> String {
    /// #     let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    /// #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    /// #     let mut response = String::new();
    /// #     stream.read_to_string(&mut response).unwrap();
    /// #     response
    /// # }
    /// use common::http::{Reply, Server};
    ///
    /// let moved = Reply::new(301).header("Location", "/new");
    /// let server = Server::builder().route("GET", "/old", moved).start()?;
    /// let response = get(&server, "/old");
    /// assert!(response.starts_with("HTTP/1.1 301 Moved Permanently\r\n"));
    /// assert!(response.contains("location: /new\r\n")); // hyper sends names in lower case
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers
            .retain(|(existing, _)| !existing.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Makes the server wait `delay` before it sends this reply.
    ///
    /// The wait is a `tokio::time::sleep` on the server's own runtime: it costs no thread, so many
    /// requests can wait at once, and it runs in real time even when the client's tokio clock is
    /// paused. The request is counted when it arrives, before the wait.
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # fn get(server: &common::http::Server, path: &str) -> String {
    /// #     let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    /// #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    /// #     let mut response = String::new();
    /// #     stream.read_to_string(&mut response).unwrap();
    /// #     response
    /// # }
    /// use common::http::{Reply, Server};
    /// use std::time::{Duration, Instant};
    ///
    /// let slow = Reply::text("worth the wait").delay(Duration::from_millis(100));
    /// let server = Server::builder().route("GET", "/slow", slow).start()?;
    ///
    /// let start = Instant::now();
    /// assert!(get(&server, "/slow").ends_with("worth the wait"));
    /// assert!(start.elapsed() >= Duration::from_millis(100));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// A `200 OK` reply with `body` and one `content-type` header.
    fn with_body(content_type: &str, body: String) -> Reply {
        Reply {
            body: Bytes::from(body),
            ..Reply::new(200)
        }
        .header(CONTENT_TYPE.as_str(), content_type)
    }

    /// The hyper response for this reply, or a `500` naming the problem if the reply holds a
    /// status or header that HTTP cannot carry.
    fn to_response(&self) -> Response<Full<Bytes>> {
        let mut builder = Response::builder().status(self.status);
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder
            .body(Full::new(self.body.clone()))
            .unwrap_or_else(|err| {
                plain_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("invalid reply {self:?}: {err}\n"),
                )
            })
    }
}

/// A request as a handler sees it: everything already read, nothing left to await.
///
/// Handlers registered with [`ServerBuilder::handler`] and [`ServerBuilder::prefix`] receive one.
/// The body has been read in full before the handler runs, so a handler is a plain function.
///
/// ```
/// # use std::io::{Read, Write};
/// use common::http::{Reply, Server};
///
/// let server = Server::builder()
///     .handler("POST", "/echo", |request| {
///         assert_eq!(request.method, "POST");
///         assert_eq!(request.path, "/echo");
///         assert_eq!(request.query.as_deref(), Some("loud=yes"));
///         assert_eq!(request.header("content-type"), Some("application/json"));
///         Reply::json(request.body_text())
///     })
///     .start()?;
///
/// let body = r#"{"greeting": "hi"}"#;
/// let mut stream = std::net::TcpStream::connect(server.addr())?;
/// write!(
///     stream,
///     "POST /echo?loud=yes HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
///      Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
///     body.len(),
/// )?;
/// let mut response = String::new();
/// stream.read_to_string(&mut response)?;
/// assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
/// assert!(response.ends_with(body));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// The method, as sent: `"GET"`, `"POST"`, ….
    pub method: String,
    /// The path, without the query string: `"/delay/200"`.
    pub path: String,
    /// The query string without its `?` (`"page=2&size=10"`), or `None` if the URL had none.
    pub query: Option<String>,
    /// The headers in the order they arrived; names are lower case, values are decoded as UTF-8
    /// (lossily, so a stray byte cannot make the request unreadable).
    pub headers: Vec<(String, String)>,
    /// The whole body, as raw bytes.
    pub body: Vec<u8>,
}

impl Request {
    /// The body as text; bytes that are not valid UTF-8 become `U+FFFD` (`�`) rather than an error.
    ///
    /// ```
    /// use common::http::Request;
    ///
    /// let request = Request { body: b"caf\xC3\xA9 \xFF".to_vec(), ..Request::default() };
    /// assert_eq!(request.body_text(), "café \u{FFFD}");
    /// ```
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The value of the first header called `name` (compared case-insensitively), if any.
    ///
    /// ```
    /// use common::http::Request;
    ///
    /// let request = Request {
    ///     headers: vec![("accept".into(), "text/plain".into())],
    ///     ..Request::default()
    /// };
    /// assert_eq!(request.header("Accept"), Some("text/plain"));
    /// assert_eq!(request.header("cookie"), None);
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(existing, _)| existing.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Collects the routes of a [`Server`]; made by [`Server::builder`], finished by
/// [`start`](ServerBuilder::start).
///
/// A request is answered by the first route that matches its method (case-sensitively, as given:
/// `"GET"`, not `"get"`) and its path:
///
/// 1. an exact route ([`route`](ServerBuilder::route), [`handler`](ServerBuilder::handler),
///    [`scripted`](ServerBuilder::scripted)) whose path equals the request's path;
/// 2. otherwise the [`prefix`](ServerBuilder::prefix) route with the longest prefix of the path;
/// 3. otherwise `404 Not Found`.
///
/// The query string takes no part in matching. Registering the same method and path (or prefix)
/// twice keeps the later registration.
///
/// ```
/// # use std::io::{Read, Write};
/// # fn get(server: &common::http::Server, path: &str) -> String {
/// #     let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
/// #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
/// #     let mut response = String::new();
/// #     stream.read_to_string(&mut response).unwrap();
/// #     response
/// # }
/// use common::http::{Reply, Server};
///
/// let server = Server::builder()
///     .prefix("GET", "/files/", |_| Reply::text("some file"))
///     .prefix("GET", "/files/secret/", |_| Reply::new(403))
///     .route("GET", "/files/secret/readme", Reply::text("you may read this"))
///     .start()?;
///
/// assert!(get(&server, "/files/a.txt").ends_with("some file"));
/// assert!(get(&server, "/files/secret/key").starts_with("HTTP/1.1 403"));
/// assert!(get(&server, "/files/secret/readme").ends_with("you may read this"));
/// assert!(get(&server, "/elsewhere").starts_with("HTTP/1.1 404"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Default)]
pub struct ServerBuilder {
    routes: Vec<Route>,
}

impl ServerBuilder {
    /// Answers `method` requests for exactly `path` with a clone of `reply`, every time.
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # fn get(server: &common::http::Server, path: &str) -> String {
    /// #     let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    /// #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    /// #     let mut response = String::new();
    /// #     stream.read_to_string(&mut response).unwrap();
    /// #     response
    /// # }
    /// use common::http::{Reply, Server};
    ///
    /// let server = Server::builder().route("GET", "/ping", Reply::text("pong")).start()?;
    /// assert!(get(&server, "/ping").ends_with("pong"));
    /// assert!(get(&server, "/ping?twice=yes").ends_with("pong")); // the query is ignored
    /// assert!(get(&server, "/ping/").starts_with("HTTP/1.1 404")); // the path is exact
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn route(self, method: &str, path: &str, reply: Reply) -> Self {
        self.add(method, path, Match::Exact, Responder::Fixed(reply))
    }

    /// Answers `method` requests for exactly `path` with whatever `f` returns for the request.
    ///
    /// `f` runs on the server's thread and should return quickly: to answer slowly, return a
    /// reply with a [`delay`](Reply::delay) rather than sleeping in `f`. If `f` panics, the client
    /// gets `500 Internal Server Error` and the server keeps serving.
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # fn get(server: &common::http::Server, path: &str) -> String {
    /// #     let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    /// #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    /// #     let mut response = String::new();
    /// #     stream.read_to_string(&mut response).unwrap();
    /// #     response
    /// # }
    /// use common::http::{Reply, Server};
    ///
    /// let server = Server::builder()
    ///     .handler("GET", "/greet", |request| {
    ///         let name = request.query.as_deref().and_then(|q| q.strip_prefix("name="));
    ///         Reply::text(format!("hello, {}", name.unwrap_or("stranger")))
    ///     })
    ///     .start()?;
    /// assert!(get(&server, "/greet?name=Ferris").ends_with("hello, Ferris"));
    /// assert!(get(&server, "/greet").ends_with("hello, stranger"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn handler(
        self,
        method: &str,
        path: &str,
        f: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Self {
        self.add(method, path, Match::Exact, Responder::Handler(Box::new(f)))
    }

    /// Answers `method` requests for any path that starts with `prefix` with whatever `f` returns.
    ///
    /// This is how a route takes a parameter from its path, as in `/delay/{ms}` below. An exact
    /// route for the same path wins over a prefix, and a longer prefix wins over a shorter one; the
    /// prefix `""` matches every path, which makes a catch-all. [`Server::count`] counts the
    /// requests of a prefix route under the prefix itself (`server.count("/delay/")`).
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # fn get(server: &common::http::Server, path: &str) -> String {
    /// #     let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    /// #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    /// #     let mut response = String::new();
    /// #     stream.read_to_string(&mut response).unwrap();
    /// #     response
    /// # }
    /// use common::http::{Reply, Server};
    /// use std::time::Duration;
    ///
    /// let server = Server::builder()
    ///     .prefix("GET", "/delay/", |request| {
    ///         // The path comes from outside: a bad number is the client's error, not a panic.
    ///         match request.path["/delay/".len()..].parse::<u64>() {
    ///             Ok(ms) => Reply::text(format!("waited {ms} ms")).delay(Duration::from_millis(ms)),
    ///             Err(_) => Reply::text("expected /delay/{milliseconds}").status(400),
    ///         }
    ///     })
    ///     .start()?;
    ///
    /// assert!(get(&server, "/delay/20").ends_with("waited 20 ms"));
    /// assert!(get(&server, "/delay/soon").starts_with("HTTP/1.1 400"));
    /// assert_eq!(server.count("/delay/"), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn prefix(
        self,
        method: &str,
        prefix: &str,
        f: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Self {
        self.add(
            method,
            prefix,
            Match::Prefix,
            Responder::Handler(Box::new(f)),
        )
    }

    /// Answers `method` requests for exactly `path` with `replies` in order, the last one
    /// repeating forever: the first request gets `replies[0]`, the second `replies[1]`, and every
    /// request from the `replies.len()`-th on gets the last reply.
    ///
    /// This is the route for retry demos: three `503`s and then a `200`. The position is taken
    /// from an atomic counter as each request arrives, so concurrent requests each get a different
    /// reply and none is skipped or repeated.
    ///
    /// # Panics
    ///
    /// If `replies` is empty: there would be nothing to answer with.
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # fn get(server: &common::http::Server, path: &str) -> String {
    /// #     let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    /// #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    /// #     let mut response = String::new();
    /// #     stream.read_to_string(&mut response).unwrap();
    /// #     response
    /// # }
    /// use common::http::{Reply, Server};
    ///
    /// let server = Server::builder()
    ///     .scripted("GET", "/flaky", vec![Reply::new(503), Reply::text("ok")])
    ///     .start()?;
    /// assert!(get(&server, "/flaky").starts_with("HTTP/1.1 503"));
    /// assert!(get(&server, "/flaky").ends_with("ok"));
    /// assert!(get(&server, "/flaky").ends_with("ok"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn scripted(self, method: &str, path: &str, replies: Vec<Reply>) -> Self {
        assert!(
            !replies.is_empty(),
            "scripted route {method} {path} needs at least one reply"
        );
        self.add(method, path, Match::Exact, Responder::Script(replies))
    }

    /// Binds `127.0.0.1` on a free port, starts the server's thread and returns once the server is
    /// listening: a connection made right after `start` returns is accepted.
    ///
    /// # Errors
    ///
    /// Whatever binding the socket, building the runtime or spawning the thread fails with.
    ///
    /// ```
    /// use common::http::Server;
    ///
    /// let server = Server::builder().start()?; // no routes: every request gets a 404
    /// assert!(server.addr().ip().is_loopback());
    /// assert_ne!(server.addr().port(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start(mut self) -> io::Result<Server> {
        // Exact routes first, then prefixes from longest to shortest: the first route that
        // matches a request is then the one the rules in the type's docs choose. The sort is
        // stable, so equally long prefixes keep their registration order (they cannot both match
        // one path unless they are equal, and `add` keeps no duplicates).
        self.routes.sort_by_key(|route| match route.matching {
            Match::Exact => (0, 0),
            Match::Prefix => (1, usize::MAX - route.pattern.len()),
        });
        let shared = Arc::new(Shared {
            routes: self.routes,
            requests: AtomicUsize::new(0),
        });

        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // Registering the socket with tokio needs the runtime's context; entering it here, rather
        // than on the new thread, lets a failure reach our caller as an `io::Error`.
        let listener = {
            let _context = runtime.enter();
            TcpListener::from_std(listener)?
        };

        let (shutdown, shutdown_signal) = oneshot::channel();
        let thread = thread::Builder::new().name(THREAD_NAME.to_owned()).spawn({
            let shared = Arc::clone(&shared);
            move || {
                runtime.block_on(accept_loop(listener, shared, shutdown_signal));
                // `runtime` is dropped here, cancelling every connection task still running:
                // idle keep-alive connections are closed instead of keeping the thread alive.
            }
        })?;

        Ok(Server {
            addr,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// Adds a route, replacing an earlier one with the same method, pattern and kind of match.
    fn add(mut self, method: &str, pattern: &str, matching: Match, responder: Responder) -> Self {
        self.routes.retain(|route| {
            !(route.method == method && route.pattern == pattern && route.matching == matching)
        });
        self.routes.push(Route {
            method: method.to_owned(),
            pattern: pattern.to_owned(),
            matching,
            responder,
            served: AtomicUsize::new(0),
            arrivals: Mutex::new(Vec::new()),
        });
        self
    }
}

impl fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("routes", &self.routes)
            .finish()
    }
}

/// A running loopback HTTP/1.1 server; dropping it shuts the server down.
///
/// Made by [`Server::builder`] and [`ServerBuilder::start`]. Besides its address, it reports how
/// many requests arrived in total ([`request_count`](Server::request_count)) and per route
/// ([`count`](Server::count)), which lets a test check that a client retried exactly three times or
/// that a cache saved a request.
///
/// ```
/// # use std::io::{Read, Write};
/// # fn get(server: &common::http::Server, path: &str) -> String {
/// #     let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
/// #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
/// #     let mut response = String::new();
/// #     stream.read_to_string(&mut response).unwrap();
/// #     response
/// # }
/// use common::http::{Reply, Server};
/// use std::net::TcpStream;
///
/// let server = Server::builder().route("GET", "/", Reply::text("up")).start()?;
/// let addr = server.addr();
/// assert!(get(&server, "/").ends_with("up"));
///
/// drop(server); // stops the server and closes its port
/// assert!(TcpStream::connect(addr).is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// Sending on (or dropping) this ends the accept loop; `None` once `drop` has used it.
    shutdown: Option<oneshot::Sender<()>>,
    /// The `loopback-http` thread; `None` once `drop` has joined it.
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// A builder with no routes yet.
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # fn get(server: &common::http::Server, path: &str) -> String {
    /// #     let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    /// #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    /// #     let mut response = String::new();
    /// #     stream.read_to_string(&mut response).unwrap();
    /// #     response
    /// # }
    /// use common::http::{Reply, Server};
    ///
    /// let server = Server::builder()
    ///     .route("GET", "/", Reply::html("<p>home</p>"))
    ///     .route("GET", "/api", Reply::json("[]"))
    ///     .start()?;
    /// assert!(get(&server, "/api").ends_with("[]"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// The address the server listens on: `127.0.0.1` and the port the operating system chose.
    ///
    /// ```
    /// use common::http::Server;
    /// use std::net::TcpStream;
    ///
    /// let server = Server::builder().start()?;
    /// assert!(server.addr().ip().is_loopback());
    /// let stream = TcpStream::connect(server.addr())?;
    /// # drop(stream);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of `path` on this server, such as `http://127.0.0.1:38517/users/1`, ready for an
    /// HTTP client. `path` should start with `/`; one is added if it does not.
    ///
    /// ```
    /// use common::http::Server;
    ///
    /// let server = Server::builder().start()?;
    /// let port = server.addr().port();
    /// assert_eq!(server.url("/users/1"), format!("http://127.0.0.1:{port}/users/1"));
    /// assert_eq!(server.url("users/1"), format!("http://127.0.0.1:{port}/users/1"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn url(&self, path: &str) -> String {
        let slash = if path.starts_with('/') { "" } else { "/" };
        format!("http://{}{slash}{path}", self.addr)
    }

    /// How many requests the server has received, whatever their route, including those answered
    /// `404`. A request is counted as soon as it arrives, before any delay.
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # fn get(server: &common::http::Server, path: &str) -> String {
    /// #     let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    /// #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    /// #     let mut response = String::new();
    /// #     stream.read_to_string(&mut response).unwrap();
    /// #     response
    /// # }
    /// use common::http::{Reply, Server};
    ///
    /// let server = Server::builder().route("GET", "/a", Reply::text("a")).start()?;
    /// get(&server, "/a");
    /// get(&server, "/nowhere");
    /// assert_eq!(server.request_count(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn request_count(&self) -> usize {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// How many requests were routed to the route(s) registered with exactly this `path` or
    /// prefix, the string given to [`route`](ServerBuilder::route),
    /// [`handler`](ServerBuilder::handler), [`prefix`](ServerBuilder::prefix) or
    /// [`scripted`](ServerBuilder::scripted); `0` if there is no such route. Routes with the
    /// same path but different methods are added together.
    ///
    /// Like [`request_count`](Server::request_count), it counts requests when they arrive, so it
    /// includes requests that are still waiting out a delay.
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # fn get(server: &common::http::Server, path: &str) -> String {
    /// #     let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    /// #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    /// #     let mut response = String::new();
    /// #     stream.read_to_string(&mut response).unwrap();
    /// #     response
    /// # }
    /// use common::http::{Reply, Server};
    ///
    /// let server = Server::builder()
    ///     .route("GET", "/a", Reply::text("a"))
    ///     .prefix("GET", "/items/", |request| Reply::text(request.path.clone()))
    ///     .start()?;
    /// get(&server, "/a");
    /// get(&server, "/items/1");
    /// get(&server, "/items/2");
    /// assert_eq!(server.count("/a"), 1);
    /// assert_eq!(server.count("/items/"), 2);
    /// assert_eq!(server.count("/items/1"), 0); // no route was registered as "/items/1"
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn count(&self, path: &str) -> usize {
        self.shared
            .routes
            .iter()
            .filter(|route| route.pattern == path)
            .map(|route| route.served.load(Ordering::Relaxed))
            .sum()
    }

    /// When each request routed to the route(s) registered as `path` arrived, earliest first: one
    /// [`Instant`] per request counted by [`count`](Server::count), so
    /// `server.arrivals(path).len() == server.count(path)`. Empty if there is no such route.
    ///
    /// This is the server's side of a timing story: when a request really reached the server,
    /// whatever the client's own clock or spans say. An instant is taken as the request's head
    /// has been read, before its body and before any [`Reply::delay`]. Instants come from the real
    /// clock (`std::time::Instant`), so they compare with a client's `Instant::now()` even when
    /// the client's tokio clock is paused.
    ///
    /// Two requests answered after a delay `D` show the difference: sent one after the other they
    /// arrive at least `D` apart, sent together they arrive within a few milliseconds.
    ///
    /// ```
    /// # use std::io::{Read, Write};
    /// # fn get(server: &common::http::Server, path: &str) -> String {
    /// #     let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    /// #     write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    /// #     let mut response = String::new();
    /// #     stream.read_to_string(&mut response).unwrap();
    /// #     response
    /// # }
    /// use common::http::{Reply, Server};
    /// use std::time::{Duration, Instant};
    ///
    /// let delay = Duration::from_millis(50);
    /// let server = Server::builder()
    ///     .route("GET", "/slow", Reply::text("done").delay(delay))
    ///     .start()?;
    /// let before = Instant::now();
    /// get(&server, "/slow"); // the second request leaves only once the first is answered
    /// get(&server, "/slow");
    ///
    /// let arrivals = server.arrivals("/slow");
    /// assert_eq!(arrivals.len(), 2);
    /// assert!(before <= arrivals[0]);
    /// assert!(arrivals[1] - arrivals[0] >= delay);
    /// assert!(server.arrivals("/elsewhere").is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn arrivals(&self, path: &str) -> Vec<Instant> {
        let mut arrivals: Vec<Instant> = self
            .shared
            .routes
            .iter()
            .filter(|route| route.pattern == path)
            .flat_map(|route| {
                let list = route
                    .arrivals
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                list.clone()
            })
            .collect();
        // Routes with the same path and different methods each keep their own ordered list.
        arrivals.sort_unstable();
        arrivals
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("routes", &self.shared.routes)
            .field("request_count", &self.request_count())
            .finish()
    }
}

impl Drop for Server {
    /// Ends the accept loop, then waits for the server's thread, which drops the runtime and with
    /// it every open connection. Returns promptly even if clients keep idle connections open.
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // An error means the loop has already ended, which is what we want anyway.
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            // The thread only fails if the accept loop panicked; there is nothing left to clean
            // up then, and panicking inside `drop` would only make things worse.
            let _ = thread.join();
        }
    }
}

/// What the server's thread and the [`Server`] handle share.
struct Shared {
    /// Sorted by [`ServerBuilder::start`]: exact routes, then prefixes from longest to shortest.
    routes: Vec<Route>,
    /// Every request received.
    ///
    /// Counters use `Ordering::Relaxed`: each increment is one atomic read-modify-write, so no
    /// count is ever lost, and nothing else is published through them.
    requests: AtomicUsize,
}

impl Shared {
    /// The route that answers `method path`, if any.
    fn find(&self, method: &str, path: &str) -> Option<&Route> {
        self.routes.iter().find(|route| route.matches(method, path))
    }
}

/// One entry of the routing table.
struct Route {
    method: String,
    /// The exact path, or the prefix.
    pattern: String,
    matching: Match,
    responder: Responder,
    /// Requests routed here so far; for a scripted route, also the position in its script.
    served: AtomicUsize,
    /// When each request routed here arrived, in order of arrival.
    arrivals: Mutex<Vec<Instant>>,
}

impl Route {
    /// Records that a request routed here has just arrived. The clock is read while the lock is
    /// held, so the list stays in order of arrival even when requests arrive together.
    fn note_arrival(&self) {
        // A poisoned lock means a thread panicked while pushing; the list itself is still whole.
        let mut arrivals = self.arrivals.lock().unwrap_or_else(PoisonError::into_inner);
        arrivals.push(Instant::now());
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method == method
            && match self.matching {
                Match::Exact => path == self.pattern,
                Match::Prefix => path.starts_with(&self.pattern),
            }
    }
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match (&self.matching, &self.responder) {
            (Match::Prefix, _) => "prefix",
            (Match::Exact, Responder::Fixed(_)) => "route",
            (Match::Exact, Responder::Handler(_)) => "handler",
            (Match::Exact, Responder::Script(_)) => "scripted",
        };
        write!(f, "{kind} {} {}", self.method, self.pattern)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    Exact,
    Prefix,
}

/// How a route produces its reply.
enum Responder {
    Fixed(Reply),
    Handler(Box<dyn Fn(&Request) -> Reply + Send + Sync>),
    Script(Vec<Reply>),
}

impl Responder {
    /// The reply to `request`, the `nth` (from 0) request routed here.
    fn reply(&self, request: &Request, nth: usize) -> Reply {
        match self {
            Responder::Fixed(reply) => reply.clone(),
            Responder::Handler(f) => {
                // A panicking handler (a failed assertion in a test's handler, say) becomes a
                // `500` for this one request; the panic message has already been printed.
                panic::catch_unwind(AssertUnwindSafe(|| f(request))).unwrap_or_else(|_| {
                    Reply::text(format!(
                        "the handler for {} {} panicked\n",
                        request.method, request.path
                    ))
                    .status(500)
                })
            }
            Responder::Script(replies) => {
                // `scripted` refuses an empty script, so `last` always exists.
                let reply = replies.get(nth).or(replies.last());
                reply.cloned().unwrap_or_else(|| Reply::new(500))
            }
        }
    }
}

/// Accepts connections until `shutdown` fires (or its sender is dropped), each into its own task.
async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _peer)) => {
                tokio::spawn(serve_connection(stream, Arc::clone(&shared)));
            }
            // Errors such as "too many open files" or a connection reset before it was accepted
            // concern one connection, not the server: rest briefly, then keep accepting.
            Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
        }
    }
}

/// Serves every request on one connection, for as long as the client keeps it open.
async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    // Small responses should leave at once rather than wait for Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| respond(Arc::clone(&shared), request));
    // An error here is the client's doing (bytes that are not HTTP, a hang-up mid-request) and
    // ends only this connection; hyper has already answered `400` where it could.
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// Answers one request: count it, route it, read its body, ask the route, wait out the delay.
async fn respond(
    shared: Arc<Shared>,
    request: hyper::Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let method = request.method().as_str();
    let path = request.uri().path();
    let Some(route) = shared.find(method, path) else {
        let message = format!("no route for {method} {path}\n");
        return Ok(plain_response(StatusCode::NOT_FOUND, message));
    };
    let nth = route.served.fetch_add(1, Ordering::Relaxed);
    route.note_arrival();

    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(err) => {
            let message = format!("could not read the request body: {err}\n");
            return Ok(plain_response(StatusCode::BAD_REQUEST, message));
        }
    };
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let request = Request {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers,
        body,
    };

    let reply = route.responder.reply(&request, nth);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    Ok(reply.to_response())
}

/// A plain-text response built only from values known to be valid, so it cannot fail.
fn plain_response(status: StatusCode, message: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(TEXT));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str) -> Request {
        Request {
            method: "GET".into(),
            path: path.into(),
            ..Request::default()
        }
    }

    #[test]
    fn header_replaces_same_name_case_insensitively() {
        let reply = Reply::json("{}").header("Content-Type", "application/problem+json");
        assert_eq!(
            reply.headers,
            vec![(
                "Content-Type".to_owned(),
                "application/problem+json".to_owned()
            )]
        );
    }

    #[test]
    fn invalid_reply_becomes_500() {
        let response = Reply::new(42).to_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let response = Reply::new(200).header("bad name", "x").to_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn script_repeats_its_last_reply() {
        let script = Responder::Script(vec![Reply::new(503), Reply::new(200)]);
        let statuses: Vec<u16> = (0..4)
            .map(|nth| script.reply(&request("/"), nth).status)
            .collect();
        assert_eq!(statuses, [503, 200, 200, 200]);
    }

    #[test]
    fn panicking_handler_becomes_500() {
        let handler = Responder::Handler(Box::new(|_| panic!("handler bug (expected in test)")));
        assert_eq!(handler.reply(&request("/boom"), 0).status, 500);
    }

    #[test]
    fn routing_prefers_exact_then_longest_prefix() {
        let builder = Server::builder()
            .prefix("GET", "/a/", |_| Reply::new(201))
            .prefix("GET", "/a/b/", |_| Reply::new(202))
            .route("GET", "/a/b/c", Reply::new(203))
            .route("GET", "/a/b/c", Reply::new(204)); // replaces the previous one
        let server = builder.start().unwrap();
        let status = |method: &str, path: &str| {
            server
                .shared
                .find(method, path)
                .map(|route| route.responder.reply(&request(path), 0).status)
        };
        assert_eq!(status("GET", "/a/x"), Some(201));
        assert_eq!(status("GET", "/a/b/x"), Some(202));
        assert_eq!(status("GET", "/a/b/c"), Some(204));
        assert_eq!(status("POST", "/a/b/c"), None);
        assert_eq!(status("GET", "/b"), None);
        assert_eq!(server.shared.routes.len(), 3);
    }
}
