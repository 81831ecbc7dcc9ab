//! `hyper-tokio-server` (book section "Introducing mio", sidebar "mio Versus hyper"): the server a
//! production program should write instead of polling sockets by hand.
//!
//! An accept loop on tokio's `TcpListener` hands each connection to a task of its own, where
//! hyper's `http1::Builder` speaks HTTP/1.1 and calls `hello` for every request. Underneath, tokio
//! registers each socket with mio, just as the chapter's mio demos do by hand, and its reactor
//! wakes the task whose socket is ready.
//!
//! Run it with `cargo run -p ch04 -- hyper-tokio-server`: the server starts on a free port, a
//! hyper client sends three GETs (each prints `Hello, World!`), then a shutdown signal ends the
//! accept loop. `cargo run -p ch04 -- hyper-tokio-server --serve 127.0.0.1:3000` serves until
//! Ctrl-C; try `curl http://127.0.0.1:3000/`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::demo::{Args, DemoResult};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

/// The handler the book's listing calls but does not show (hyper's own example answers
/// `Hello, World!` to every request).
// Book: this sidebar's listing is hyper 1.x code (`TokioIo` from hyper-util,
// `server::conn::http1`) while the chapter's Cargo.toml pins hyper 0.14, so it cannot build with
// the book's dependencies; ours builds on hyper 1.12 and hyper-util 0.1.21 as printed.
pub async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from("Hello, World!"))))
}

/// The book's accept loop, until `shutdown` completes. Returns what it counted.
pub async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()>) -> ServeStats {
    // Book: an endless `loop` in `main` on a fixed port (3000); ours runs on whatever listener it
    // is given and ends when `shutdown` does, so the demo and the tests can stop it.
    let mut shutdown = pin!(shutdown);
    let requests = Arc::new(AtomicU64::new(0));
    let mut stats = ServeStats::default();
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        // Book: `accept().await?` ends the whole server on one failed accept (for example when
        // the process runs out of file descriptors); ours reports it, rests, and goes on.
        let (stream, _) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}; retrying in {ACCEPT_BACKOFF:?}");
                stats.accept_errors += 1;
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        stats.connections += 1;
        let io = TokioIo::new(stream);
        let requests = Arc::clone(&requests);
        tokio::task::spawn(async move {
            let service = service_fn(|request| {
                requests.fetch_add(1, Ordering::Relaxed);
                hello(request)
            });
            if let Err(err) = http1::Builder::new().serve_connection(io, service).await {
                println!("Error serving connection: {err:?}");
            }
        });
    }
    stats.requests = requests.load(Ordering::Relaxed);
    stats
}

/// How long the accept loop rests after a failed `accept`, so a lasting failure is not a busy loop.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What [`serve`] counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServeStats {
    /// Connections accepted.
    pub connections: u64,
    /// Requests handed to `hello` (as of the end of the accept loop).
    pub requests: u64,
    /// Failed `accept` calls.
    pub accept_errors: u64,
}

/// Runs the demo: `[--serve ADDR]`.
pub fn run(mut args: Args) -> DemoResult {
    let serve_at: Option<SocketAddr> = args.value("serve")?;
    args.finish()?;
    // Book: `#[tokio::main]` on `main`; the chapter's `main` is the demo runner, so the demo
    // builds the runtime itself (current-thread: one thread is plenty here).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match serve_at {
        Some(addr) => runtime.block_on(serve_until_interrupted(addr)),
        None => runtime.block_on(tour()),
    }
}

async fn serve_until_interrupted(addr: SocketAddr) -> DemoResult {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let interrupted = crate::signal::interrupted()?;
    println!(
        "hyper server listening on http://{}/; Ctrl-C stops it",
        listener.local_addr()?
    );
    let stats = serve(listener, interrupted).await;
    println!(
        "interrupted: the accept loop ended after {} connection(s), {} request(s)",
        stats.connections, stats.requests
    );
    Ok(())
}

/// The default run: the server on a free port, three GETs from hyper's client, then shutdown.
async fn tour() -> DemoResult {
    // Book: a fixed port, 127.0.0.1:3000; port 0 lets the system pick a free one.
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    println!("hyper server listening on http://{addr}/");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, async {
        let _ = stopped.await;
    }));

    let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .build_http::<Empty<Bytes>>();
    let uri: hyper::Uri = format!("http://{addr}/").parse()?;
    for i in 1..=3 {
        let response = client.get(uri.clone()).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        println!("GET {i}: {status}: {}", String::from_utf8_lossy(&body));
    }
    drop(client); // closes the pooled keep-alive connection

    let asked = Instant::now();
    let _ = stop.send(());
    let stats = server.await?;
    println!(
        "shutdown signal sent: the accept loop ended after {} µs; {} request(s) over {} connection(s) (hyper's client keeps its connection alive)",
        asked.elapsed().as_micros(),
        stats.requests,
        stats.connections
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raw_http;
    use std::sync::mpsc;
    use std::thread;

    /// The server on a current-thread runtime of its own thread, so the test can use blocking
    /// std clients. `stop` sends the shutdown signal and returns the stats and when the loop ended.
    struct Running {
        addr: SocketAddr,
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        done: mpsc::Receiver<(ServeStats, Instant)>,
    }

    fn start() -> Running {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (done_tx, done) = mpsc::channel();
        thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::from_std(std_listener).unwrap();
                let stats = serve(listener, async {
                    let _ = stopped.await;
                })
                .await;
                let _ = done_tx.send((stats, Instant::now()));
            });
        });
        Running {
            addr,
            stop: Some(stop),
            done,
        }
    }

    impl Running {
        fn stop(mut self) -> (ServeStats, Duration) {
            let asked = Instant::now();
            let _ = self.stop.take().unwrap().send(());
            let (stats, ended) = self.done.recv_timeout(Duration::from_secs(5)).unwrap();
            (stats, ended.saturating_duration_since(asked))
        }
    }

    #[test]
    fn ten_concurrent_gets_all_get_hello_world() {
        let server = start();
        let addr = server.addr;
        let clients: Vec<_> = (0..10)
            .map(|_| thread::spawn(move || raw_http::get(addr, "/")))
            .collect();
        for client in clients {
            let response = client.join().unwrap().unwrap();
            assert_eq!(response.status, 200);
            assert_eq!(response.body_text(), "Hello, World!");
        }
        let (stats, _) = server.stop();
        assert_eq!(stats.connections, 10);
        assert_eq!(stats.requests, 10);
    }

    #[test]
    fn garbage_gets_a_400_or_a_closed_connection_and_the_next_request_gets_200() {
        let server = start();
        match raw_http::exchange(server.addr, b"\x16\x03\x01 not http\r\n\r\n") {
            Ok(response) => assert_eq!(response.status, 400),
            Err(e) => assert!(
                matches!(
                    e.kind(),
                    std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                ),
                "{e}"
            ),
        }
        let good = raw_http::get(server.addr, "/").unwrap();
        assert_eq!(
            (good.status, good.body_text().as_str()),
            (200, "Hello, World!")
        );
        server.stop();
    }

    #[test]
    fn after_the_shutdown_signal_the_accept_loop_ends_within_100_ms() {
        let server = start();
        assert_eq!(raw_http::get(server.addr, "/").unwrap().status, 200);
        let addr = server.addr;
        let (stats, took) = server.stop();
        assert!(took < Duration::from_millis(100), "{took:?}");
        assert_eq!(stats.connections, 1);
        // The listener is gone with the loop: nobody accepts any more.
        thread::sleep(Duration::from_millis(20));
        assert!(raw_http::get(addr, "/").is_err());
    }

    #[test]
    fn a_bad_serve_address_is_a_usage_error() {
        let err = run(Args::from_iter(["--serve", "localhost"])).unwrap_err();
        assert!(err.is::<common::demo::UsageError>(), "{err}");
    }
}
