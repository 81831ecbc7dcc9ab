//! `custom-connector`: a connector that opens plain or TLS TCP streams without tokio (book section
//! "Building an HTTP Connection").
//!
//! A connector is what an HTTP client calls to get a transport: given a URI, it returns a future
//! of a connected stream. hyper-util's client asks for it through the `tower_service::Service<Uri>`
//! trait. Ours makes [`CustomStream::Plain`] for `http://` and [`CustomStream::Tls`] for
//! `https://`, which is the same TCP stream with TLS layered on top (the book's Figure 4-1).
//!
//! The stream is smol's `Async<TcpStream>`: a std socket in non-blocking mode, registered with
//! async-io's reactor. That reactor runs on a thread of its own (named `async-io`), so a task
//! waiting on the socket is woken through its waker whatever executor polls it; that is why this
//! connector works on chapter 3's runtime, which has no reactor, where tokio's `TcpStream` panics
//! (`naive-hyper-client`). Resolving a host name is a blocking system call, so it runs on smol's
//! blocking thread pool (`smol::unblock`) and the task awaits it.
//!
//! Run it with `cargo run -p ch04 -- custom-connector [--url URL]`: it connects to the loopback
//! server and prints the variant and the peer, then shows the error for an `ftp://` URL. With
//! `--url https://…` it also prints the negotiated TLS version and ALPN protocol.
//!
//! How we differ from the book: TLS is rustls (through `futures-rustls`, with the `ring` crypto
//! provider) instead of `async-native-tls`, which needs OpenSSL's headers to build; every resolved
//! address is tried, not only the first; IPv6 brackets are stripped from the host; and hyper 1's
//! client wants `tower_service::Service`, not `hyper::service::Service`.

use std::fmt;
use std::future::Future;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::{Context as _, Error, Result, bail};
use common::demo::{Args, DemoResult};
use futures_rustls::TlsConnector;
use futures_rustls::client::TlsStream;
use futures_rustls::pki_types::ServerName;
use futures_rustls::rustls::{ClientConfig, RootCertStore};
use hyper::Uri;
use smol::Async;

use crate::watchdog::run_task;

/// The stream our connector hands to hyper: plain TCP for `http`, TLS over TCP for `https`.
///
/// `hyper-read-adapter` and `hyper-write-adapter` implement `hyper::rt::Read` and `Write` for it,
/// `hyper-client-fetch` implements hyper-util's `Connection`.
pub enum CustomStream {
    /// An async TCP stream (smol's `Async` over a std `TcpStream`).
    Plain(Async<TcpStream>),
    /// A TLS session over the same kind of stream.
    // Book: `async_native_tls::TlsStream`; ours is rustls's, boxed because a rustls session is a
    // few kilobytes and would otherwise make every `Plain` that large too.
    Tls(Box<TlsStream<Async<TcpStream>>>),
}

/// The book's connector: `http` and `https` URIs to [`CustomStream`]s.
///
/// Book: a unit struct; ours carries the TLS configuration (which roots to trust), shared behind
/// an `Arc`, so cloning it per connection, as hyper does, stays cheap.
#[derive(Clone)]
pub struct CustomConnector {
    tls: TlsConnector,
}

// Book: `impl hyper::service::Service<Uri>`. hyper 1's own `Service` has no `poll_ready` and takes
// `&self`; hyper-util's client wants the tower trait, whose shape is the book's.
impl tower_service::Service<Uri> for CustomConnector {
    type Response = CustomStream;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    /// Always ready: a connector has no queue to fill and nothing to wait for before a call.
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let tls = self.tls.clone();
        Box::pin(async move {
            let host = uri.host().context("cannot parse host")?;
            // Book: `uri.host()` of `http://[::1]:8080/` is `[::1]`, which neither the resolver
            // nor TLS accepts; strip the brackets.
            let host = host.trim_start_matches('[').trim_end_matches(']');

            match uri.scheme_str() {
                Some("http") => {
                    let stream = connect_tcp(host, uri.port_u16().unwrap_or(80)).await?;
                    Ok(CustomStream::Plain(stream))
                }
                Some("https") => {
                    let stream = connect_tcp(host, uri.port_u16().unwrap_or(443)).await?;
                    // Book: `async_native_tls::connect(host, stream)`. rustls checks the server's
                    // certificate against this name (a DNS name or an IP address).
                    let name = ServerName::try_from(host.to_string())
                        .with_context(|| format!("not a valid TLS server name: {host}"))?;
                    let stream = tls
                        .connect(name, stream)
                        .await
                        .with_context(|| format!("TLS handshake with {host} failed"))?;
                    Ok(CustomStream::Tls(Box::new(stream)))
                }
                scheme => bail!("unsupported scheme: {:?}", scheme),
            }
        })
    }
}

/// Resolves `host:port` on smol's blocking pool, then connects to each address in turn.
///
/// Book: took only the first resolved address. `localhost` often resolves to `::1` first, and a
/// server listening on `127.0.0.1` only would then be unreachable; we try them all and report the
/// last error.
async fn connect_tcp(host: &str, port: u16) -> Result<Async<TcpStream>> {
    let addrs: Vec<SocketAddr> = {
        let host = host.to_string();
        // Name resolution blocks in the C library: run it on a thread pool and await the result.
        smol::unblock(move || (host.as_str(), port).to_socket_addrs().map(Vec::from_iter)).await
    }
    .with_context(|| format!("cannot resolve address {host}:{port}"))?;
    if addrs.is_empty() {
        bail!("cannot resolve address {host}:{port}: no addresses");
    }
    connect_any(&addrs)
        .await
        .with_context(|| format!("cannot connect to {host}:{port}"))
}

/// Connects to the first of `addrs` that accepts; if none does, the last error.
async fn connect_any(addrs: &[SocketAddr]) -> std::io::Result<Async<TcpStream>> {
    let mut last_error = std::io::Error::other("no address to connect to");
    for addr in addrs {
        // Book: `Async::::connect` lacks its type, `Async::<TcpStream>::connect`.
        match Async::<TcpStream>::connect(*addr).await {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = error,
        }
    }
    Err(last_error)
}

impl CustomConnector {
    /// A connector that trusts the public web's roots (Mozilla's list, compiled in by
    /// `webpki-roots`), for real `https://` sites.
    pub fn new() -> Self {
        CustomConnector::with_roots(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        })
    }

    /// A connector that trusts exactly `roots`, e.g. a test's own certificate authority.
    pub fn with_roots(roots: RootCertStore) -> Self {
        let provider = Arc::new(futures_rustls::rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            // Only a provider without TLS 1.2 and 1.3 cipher suites fails here; ring has both.
            .expect("the ring provider supports TLS 1.2 and 1.3")
            .with_root_certificates(roots)
            .with_no_client_auth();
        // We speak HTTP/1.1 only (hyper's `http1` feature); say so during the handshake.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        CustomConnector {
            tls: TlsConnector::from(Arc::new(config)),
        }
    }

    /// Connects to `uri`: the [`tower_service::Service::call`] a client would make.
    pub async fn connect(&self, uri: Uri) -> Result<CustomStream> {
        tower_service::Service::call(&mut self.clone(), uri).await
    }
}

impl Default for CustomConnector {
    fn default() -> Self {
        CustomConnector::new()
    }
}

impl fmt::Debug for CustomConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomConnector").finish_non_exhaustive()
    }
}

impl CustomStream {
    /// The address of the other end.
    pub fn peer_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp().peer_addr()
    }

    /// The TCP socket under the stream, TLS or not.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            CustomStream::Plain(s) => s.get_ref(),
            CustomStream::Tls(s) => s.get_ref().0.get_ref(),
        }
    }

    /// `Plain` or `Tls`.
    pub fn variant(&self) -> &'static str {
        match self {
            CustomStream::Plain(_) => "Plain",
            CustomStream::Tls(_) => "Tls",
        }
    }

    /// For `Tls`: the negotiated protocol version and ALPN protocol, e.g. `("TLSv1_3", "http/1.1")`.
    pub fn tls_details(&self) -> Option<(String, String)> {
        let CustomStream::Tls(s) = self else {
            return None;
        };
        let session = s.get_ref().1;
        let version = session
            .protocol_version()
            .map_or_else(|| "unknown".to_string(), |v| format!("{v:?}"));
        let alpn = session.alpn_protocol().map_or_else(
            || "none".to_string(),
            |p| String::from_utf8_lossy(p).into_owned(),
        );
        Some((version, alpn))
    }
}

impl fmt::Debug for CustomStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomStream")
            .field("variant", &self.variant())
            .field("peer", &self.peer_addr().ok())
            .finish()
    }
}

/// A watchdog for every connection the demo makes: a silent server cannot hang it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects on a task of chapter 3's runtime and describes what came back.
fn connect_and_describe(connector: &CustomConnector, url: &str) -> Result<String> {
    let uri: Uri = url.parse().with_context(|| format!("not a URI: {url}"))?;
    let connector = connector.clone();
    let stream = run_task(CONNECT_TIMEOUT, async move { connector.connect(uri).await })
        .with_context(|| format!("no connection to {url}"))??;
    let mut line = format!("{} stream to {}", stream.variant(), stream.peer_addr()?);
    if let Some((version, alpn)) = stream.tls_details() {
        line += &format!(" ({version}, ALPN {alpn})");
    }
    Ok(line)
}

/// Runs the demo: `custom-connector [--url URL]`.
pub fn run(mut args: Args) -> DemoResult {
    let url = args.url()?;
    args.finish()?;
    crate::rt::start()?;
    let connector = CustomConnector::new();

    match url {
        Some(url) => {
            println!("connecting to {url}");
            println!("{}", connect_and_describe(&connector, &url)?);
        }
        None => {
            let server = crate::loopback::server()?;
            let url = server.url("/");
            println!("connecting to {url} (the loopback server)");
            println!("{}", connect_and_describe(&connector, &url)?);
        }
    }
    let url = "ftp://example.com/";
    println!("connecting to {url}");
    match connect_and_describe(&connector, url) {
        Ok(line) => println!("unexpected: {line}"),
        Err(error) => println!("error: {error:#}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls_fixture::TlsServer;
    use futures_lite::future;

    const WATCHDOG: Duration = Duration::from_secs(10);

    /// `connector.connect(uri)` on a ch03 task, under a watchdog.
    fn connect(connector: &CustomConnector, url: &str) -> Result<CustomStream> {
        let uri: Uri = url.parse().unwrap();
        let connector = connector.clone();
        run_task(WATCHDOG, async move { connector.connect(uri).await }).expect("connect hung")
    }

    #[test]
    fn an_http_url_gives_a_plain_stream_to_the_server() {
        let server = crate::loopback::server().unwrap();
        let stream = connect(&CustomConnector::new(), &server.url("/")).unwrap();
        assert!(matches!(stream, CustomStream::Plain(_)));
        assert_eq!(stream.peer_addr().unwrap(), server.addr());
        assert_eq!(stream.tls_details(), None);
    }

    #[test]
    fn localhost_connects_even_if_it_resolves_to_ipv6_first() {
        // The loopback server listens on 127.0.0.1 only; `localhost` may resolve to `::1` first.
        let server = crate::loopback::server().unwrap();
        let url = format!("http://localhost:{}/", server.addr().port());
        let stream = connect(&CustomConnector::new(), &url).unwrap();
        assert_eq!(stream.peer_addr().unwrap(), server.addr());
    }

    #[test]
    fn every_resolved_address_is_tried_until_one_accepts() {
        // What happens when `localhost` resolves to `::1` first and the server is on 127.0.0.1
        // only (this machine's resolver may list just one, so the list is made by hand).
        let server = crate::loopback::server().unwrap();
        let closed = closed_port();
        let addrs = [
            SocketAddr::from(([127, 0, 0, 1], closed)),
            SocketAddr::from(([127, 0, 0, 1], closed)),
            server.addr(),
        ];
        let stream = future::block_on(connect_any(&addrs)).unwrap();
        assert_eq!(stream.get_ref().peer_addr().unwrap(), server.addr());
        let error = future::block_on(connect_any(&addrs[..2])).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
    }

    /// A port nothing listens on: bind one, note it, close it.
    fn closed_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[test]
    fn an_unsupported_scheme_and_a_hostless_uri_are_errors() {
        let connector = CustomConnector::new();
        let error = connect(&connector, "ftp://example.com/").unwrap_err();
        assert_eq!(error.to_string(), r#"unsupported scheme: Some("ftp")"#);
        let error = connect(&connector, "/just/a/path").unwrap_err();
        assert_eq!(error.to_string(), "cannot parse host");
    }

    #[test]
    fn a_closed_port_is_an_error_not_a_panic() {
        let port = closed_port();
        let error = connect(
            &CustomConnector::new(),
            &format!("http://127.0.0.1:{port}/"),
        )
        .unwrap_err();
        let text = format!("{error:#}");
        assert!(
            text.starts_with(&format!("cannot connect to 127.0.0.1:{port}")),
            "{text}"
        );
    }

    #[test]
    fn without_a_port_http_means_80_and_https_means_443() {
        // Whatever the machine runs on those ports, the connector must pick them: either it
        // connects there, or its error names them.
        for (url, port) in [("http://127.0.0.1/", 80), ("https://127.0.0.1/", 443)] {
            match connect(&CustomConnector::new(), url) {
                Ok(stream) => assert_eq!(stream.peer_addr().unwrap().port(), port),
                Err(error) => {
                    let text = format!("{error:#}");
                    assert!(
                        text.contains(&format!("127.0.0.1:{port}"))
                            || text.starts_with("TLS handshake with 127.0.0.1 failed"),
                        "{text}"
                    );
                }
            }
        }
    }

    #[test]
    fn https_with_the_test_ca_gives_a_tls_stream_speaking_http_1_1() {
        let server = TlsServer::start(|_conn| Ok(()));
        let connector = CustomConnector::with_roots(server.roots());
        for host in ["localhost", "127.0.0.1"] {
            let stream = connect(&connector, &server.url(host, "/")).unwrap();
            assert!(matches!(stream, CustomStream::Tls(_)), "{host}");
            assert_eq!(stream.peer_addr().unwrap(), server.addr());
            let (version, alpn) = stream.tls_details().unwrap();
            assert!(version.starts_with("TLSv1_"), "{version}");
            assert_eq!(alpn, "http/1.1");
        }
    }

    #[test]
    fn https_with_the_default_roots_rejects_the_unknown_issuer() {
        let server = TlsServer::start(|_conn| Ok(()));
        let error = connect(&CustomConnector::new(), &server.url("localhost", "/")).unwrap_err();
        let text = format!("{error:#}");
        assert!(text.contains("UnknownIssuer"), "{text}");
        assert!(
            text.starts_with("TLS handshake with localhost failed"),
            "{text}"
        );
    }

    #[test]
    fn a_bracketed_ipv6_host_is_resolved_without_its_brackets() {
        // `[::1]` must reach the resolver as `::1`: the error (or success) names the port, and
        // never "cannot resolve" (the machine may have no IPv6 loopback, hence no assert on Ok).
        let port = closed_port();
        if let Err(error) = connect(&CustomConnector::new(), &format!("http://[::1]:{port}/")) {
            let text = format!("{error:#}");
            assert!(
                text.starts_with(&format!("cannot connect to ::1:{port}")),
                "{text}"
            );
        }
    }

    #[test]
    fn the_demo_rejects_bad_arguments() {
        let error = run(Args::from_iter(["--url", "ftp://x"])).unwrap_err();
        assert!(error.is::<common::demo::UsageError>());
    }
}
