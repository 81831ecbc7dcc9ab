//! `server` ("Building Our Server"): the book's server crate, assembled from the runtime.
//!
//! A listener thread accepts connections and deals them round-robin to three worker threads
//! (`One`, `Two`, `Three`), each running its own [`Executor`] of
//! [`handle_client`](handler::handle_client) tasks; see [`worker`] for the dealing and
//! [`handler`] for one connection's loop. [`Server::bind`] starts it all and returns a
//! [`ServerHandle`] that can serve forever ([`ServerHandle::wait`]) or stop it, joining every
//! thread ([`ServerHandle::shutdown`]).
//!
//! The demo, `cargo run -p ch10 -- server`, starts a server on a free port, sends it 12 requests
//! at once from an in-process client, and stops it. With `--addr 127.0.0.1:7878` it serves until
//! interrupted (Ctrl-C: the default SIGINT action ends the process; std has no signal handler,
//! and a server with no state to save needs none); `cargo run -p ch10 -- client --addr …` in
//! another terminal talks to it.

pub mod handler;
pub mod worker;

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};

use crate::async_runtime::Executor;
use crate::client::{check_reply, send_data};
use handler::ConnReport;
use worker::{WorkerStats, route_connections, spawn_workers};

/// The server: [`Server::bind`] starts the listener and the workers.
// Book: the book put `[profile.release] opt-level = 'z'` beside the server's dependencies; Cargo
// ignores profiles in a member's manifest (they belong to the workspace root), and 'z' trades
// speed for size, so we set no profile.
#[derive(Debug)]
pub struct Server;

impl Server {
    /// Binds `addr`, starts `config.workers` worker threads and the listener thread, and
    /// returns at once. Port 0 picks a free port: see [`ServerHandle::local_addr`].
    // Book: the book bound the fixed address `127.0.0.1:7878` and had no way to stop the server.
    pub fn bind(addr: impl ToSocketAddrs, config: ServerConfig) -> io::Result<ServerHandle> {
        if !(1..=worker::WORKER_NAMES.len()).contains(&config.workers) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("workers must be 1 to {}", worker::WORKER_NAMES.len()),
            ));
        }
        let listener = TcpListener::bind(addr)?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            config: Arc::new(config),
            shutdown: AtomicBool::new(false),
            stats: Counters::default(),
        });
        let (router, workers) = spawn_workers(shared.config.workers, &shared)?;
        let threads: Vec<thread::Thread> = workers.iter().map(|w| w.thread().clone()).collect();
        let listener_shared = Arc::clone(&shared);
        let listener_thread =
            thread::Builder::new()
                .name("ch10-listener".into())
                .spawn(move || {
                    route_connections(&listener, &router, &threads, &listener_shared);
                    // Closing the channels and unparking tells every worker to stop.
                    drop(router);
                    for thread in &threads {
                        thread.unpark();
                    }
                })?;
        Ok(ServerHandle {
            local_addr,
            shared,
            listener: Some(listener_thread),
            workers,
        })
    }
}

/// How the server behaves.
#[derive(Clone)]
pub struct ServerConfig {
    /// Worker threads, each with its own executor (1 to 8; the book has 3).
    pub workers: usize,
    /// Simulated work per request (the book sleeps 1 s; our demos 100 ms).
    pub work: Duration,
    /// How long a connection may take to deliver a whole frame, or to read a reply.
    pub idle_timeout: Duration,
    /// Connections beyond this many live ones are accepted and closed at once.
    pub max_connections: usize,
    /// Print the book-like log: each connection, request and close.
    pub verbose: bool,
    /// Called for every [`ServerEvent`] (tests and demos watch the server through it).
    pub events: Option<EventHook>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            workers: 3,
            work: Duration::from_millis(100),
            idle_timeout: Duration::from_secs(5),
            max_connections: 1024,
            verbose: false,
            events: None,
        }
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("workers", &self.workers)
            .field("work", &self.work)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_connections", &self.max_connections)
            .field("verbose", &self.verbose)
            .field("events", &self.events.is_some())
            .finish()
    }
}

/// A function the server calls for every [`ServerEvent`], from its own threads.
pub type EventHook = Arc<dyn Fn(&ServerEvent) + Send + Sync>;

/// What the server reports to [`ServerConfig::events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// The router dealt connection number `index` (counting from 0) to `worker`.
    Routed {
        /// Position in accept order.
        index: u64,
        /// The client's address, if the socket could still tell.
        peer: Option<SocketAddr>,
        /// The worker it went to.
        worker: &'static str,
    },
    /// A worker's thread parked with nothing to do and has woken again.
    Parked {
        /// The worker.
        worker: &'static str,
    },
    /// Over `max_connections`: accepted and closed at once.
    Rejected {
        /// The client's address, if known.
        peer: Option<SocketAddr>,
    },
    /// A connection's task ended.
    Closed(ConnReport),
}

/// State the listener, the workers and the handle share.
#[derive(Debug)]
pub struct Shared {
    config: Arc<ServerConfig>,
    shutdown: AtomicBool,
    stats: Counters,
}

impl Shared {
    /// Reports an event, building it only if someone listens.
    fn emit(&self, event: impl FnOnce() -> ServerEvent) {
        if let Some(hook) = &self.config.events {
            hook(&event());
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    rejected: AtomicU64,
    live: AtomicUsize,
    requests: AtomicU64,
    clean: AtomicU64,
    failed: AtomicU64,
}

/// A snapshot of the server's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerStats {
    /// Connections accepted and dealt to a worker.
    pub accepted: u64,
    /// Connections closed at once because `max_connections` were live.
    pub rejected: u64,
    /// Connections currently open.
    pub live: usize,
    /// Requests answered on connections that have ended cleanly.
    pub requests: u64,
    /// Connections the peer closed cleanly between frames.
    pub clean: u64,
    /// Connections the server closed because of an error (bad frame, timeout, reset, …).
    pub failed: u64,
}

/// A running server: its address, its counters, and the way to stop it.
///
/// Dropping the handle shuts the server down too.
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    listener: Option<JoinHandle<()>>,
    workers: Vec<JoinHandle<WorkerStats>>,
}

impl ServerHandle {
    /// The address the server listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The counters now.
    pub fn stats(&self) -> ServerStats {
        let c = &self.shared.stats;
        ServerStats {
            accepted: c.accepted.load(Ordering::SeqCst),
            rejected: c.rejected.load(Ordering::SeqCst),
            live: c.live.load(Ordering::SeqCst),
            requests: c.requests.load(Ordering::SeqCst),
            clean: c.clean.load(Ordering::SeqCst),
            failed: c.failed.load(Ordering::SeqCst),
        }
    }

    /// Waits (sleeping 1 ms at a time) until no connection is open, at most `limit`; returns
    /// whether that happened. For demos and tests that want every close counted.
    pub fn wait_until_idle(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while self.shared.stats.live.load(Ordering::SeqCst) > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(1));
        }
        true
    }

    /// Serves until the listener stops (which, for a healthy server, is never: end the process
    /// to stop it).
    pub fn wait(mut self) {
        if let Some(listener) = self.listener.take() {
            let _ = listener.join();
        }
        self.stop();
    }

    /// Stops accepting, drops every open connection and joins every thread; returns what each
    /// worker did.
    pub fn shutdown(mut self) -> Vec<WorkerStats> {
        self.stop()
    }

    fn stop(&mut self) -> Vec<WorkerStats> {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        if let Some(listener) = self.listener.take() {
            // `accept` blocks: a connection of our own makes it return and see the flag.
            let mut wake = self.local_addr;
            if wake.ip().is_unspecified() {
                wake.set_ip(if wake.is_ipv4() {
                    [127, 0, 0, 1].into()
                } else {
                    std::net::Ipv6Addr::LOCALHOST.into()
                });
            }
            match TcpStream::connect_timeout(&wake, Duration::from_secs(1)) {
                Ok(_) => {
                    let _ = listener.join();
                }
                // Unreachable listener: leave its thread behind rather than hang here.
                Err(e) => eprintln!("server shutdown: cannot reach the listener ({e})"),
            }
        }
        for worker in &self.workers {
            worker.thread().unpark();
        }
        self.workers
            .drain(..)
            .filter_map(|w| w.join().ok())
            .collect()
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        if self.listener.is_some() || !self.workers.is_empty() {
            self.stop();
        }
    }
}

/// Runs the demo: `server [--addr ADDR] [--workers N] [--work-ms MS] [--max-conns N]
/// [--idle-ms MS] [--quiet]`.
pub fn run(mut args: Args) -> DemoResult {
    let addr: Option<SocketAddr> = args.value("addr")?;
    let workers = args.value_in("workers", 3usize, 1..=worker::WORKER_NAMES.len())?;
    let work_ms = args.value_in("work-ms", 100u64, 0..=10_000)?;
    let max_connections = args.value_in("max-conns", 1024usize, 1..=1_000_000)?;
    let idle_ms = args.value_in("idle-ms", 5_000u64, 10..=3_600_000)?;
    let quiet = args.flag("quiet")?;
    args.finish()?;
    let config = ServerConfig {
        workers,
        work: Duration::from_millis(work_ms),
        max_connections,
        idle_timeout: Duration::from_millis(idle_ms),
        verbose: !quiet,
        ..ServerConfig::default()
    };
    match addr {
        Some(addr) => serve(addr, config),
        None => self_test(config),
    }
}

/// `server --addr ADDR`: serves until the process is interrupted.
fn serve(addr: SocketAddr, config: ServerConfig) -> DemoResult {
    let server = Server::bind(addr, config).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    // Tests and scripts wait for this line (and read the port from it when bound to port 0).
    println!("Server listening on {}", server.local_addr());
    println!("serving until interrupted (Ctrl-C)");
    server.wait();
    Ok(())
}

/// `server` with no address: a server on a free port, 12 requests at once, then a clean stop.
fn self_test(config: ServerConfig) -> DemoResult {
    const REQUESTS: u32 = 12;
    let work = config.work;
    let workers = config.workers;
    let server = Server::bind("127.0.0.1:0", config)?;
    let addr = server.local_addr();
    println!("Server listening on {addr} ({workers} workers, {work:?} of work per request)");

    let started = Instant::now();
    let mut executor = Executor::new();
    let handles: Vec<_> = (0..REQUESTS)
        .map(|i| executor.spawn(send_data(addr, i, i as u16, format!("Hello, server! {i}"))))
        .collect();
    let replies = executor.block_on(async {
        let mut replies = Vec::new();
        for handle in handles {
            replies.push(handle.await);
        }
        replies
    });
    let took = started.elapsed();

    let mut matched = 0;
    for (i, reply) in (0..REQUESTS).zip(replies) {
        match reply {
            Ok(Ok(reply)) => match check_reply(i, i as u16, &reply) {
                Ok(()) => {
                    matched += 1;
                    println!("reply {i}: {reply:?}");
                }
                Err(why) => println!("reply {i}: MISMATCH {why}"),
            },
            Ok(Err(e)) => println!("reply {i}: error {e}"),
            Err(e) => println!("reply {i}: task failed: {e}"),
        }
    }
    println!(
        "{matched}/{REQUESTS} replies in {:.2} s ({work:?} of work each, overlapped; one at a time: {:.1} s)",
        took.as_secs_f64(),
        (work * REQUESTS).as_secs_f64()
    );
    server.wait_until_idle(Duration::from_secs(1));
    let stats = server.stats();
    let workers = server.shutdown();
    for w in &workers {
        println!(
            "worker {:<5}: {} connections, {} polls, parked {} times",
            w.name, w.connections, w.polls, w.parks
        );
    }
    println!(
        "server: {} connections accepted, {} closed cleanly, {} ended by errors; shut down, every thread joined",
        stats.accepted, stats.clean, stats.failed
    );
    if matched != REQUESTS {
        return Err(format!("only {matched} of {REQUESTS} replies matched").into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::async_runtime::test_support::within;
    use crate::client::blocking_request;
    use crate::data_layer::data::Data;

    fn quick_server() -> ServerHandle {
        Server::bind(
            "127.0.0.1:0",
            ServerConfig {
                work: Duration::from_millis(5),
                ..ServerConfig::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn thirty_requests_from_three_threads_all_match() {
        within(Duration::from_secs(20), || {
            let server = quick_server();
            let addr = server.local_addr();
            let clients: Vec<_> = (0..3u32)
                .map(|t| {
                    thread::spawn(move || {
                        let mut stream = TcpStream::connect(addr).unwrap();
                        for i in 0..10 {
                            let field1 = t * 100 + i;
                            let request = Data {
                                field1,
                                field2: i as u16,
                                field3: format!("thread {t} request {i}"),
                            };
                            let reply = blocking_request(&mut stream, &request).unwrap();
                            check_reply(field1, i as u16, &reply).unwrap();
                        }
                    })
                })
                .collect();
            for c in clients {
                c.join().unwrap();
            }
            assert!(server.wait_until_idle(Duration::from_secs(2)));
            let stats = server.stats();
            assert_eq!((stats.accepted, stats.requests, stats.clean), (3, 30, 3));
        });
    }

    #[test]
    fn shutdown_joins_every_thread_within_a_second() {
        within(Duration::from_secs(20), || {
            let server = quick_server();
            // An open, silent connection: shutdown must not wait for it.
            let idle = TcpStream::connect(server.local_addr()).unwrap();
            let mut talker = TcpStream::connect(server.local_addr()).unwrap();
            let request = Data {
                field1: 1,
                field2: 2,
                field3: "hi".into(),
            };
            blocking_request(&mut talker, &request).unwrap();
            let started = Instant::now();
            let workers = server.shutdown();
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{:?}",
                started.elapsed()
            );
            assert_eq!(workers.len(), 3);
            // Both connections were dropped with the workers' executors.
            idle.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut byte = [0u8; 1];
            use std::io::Read;
            assert_eq!((&idle).read(&mut byte).unwrap_or(0), 0);
        });
    }

    #[test]
    fn binding_an_address_in_use_is_an_error() {
        let first = quick_server();
        let err = Server::bind(first.local_addr(), ServerConfig::default()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        let err = Server::bind(
            "127.0.0.1:0",
            ServerConfig {
                workers: 0,
                ..ServerConfig::default()
            },
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn connections_over_the_cap_are_closed_at_once() {
        within(Duration::from_secs(20), || {
            let server = Server::bind(
                "127.0.0.1:0",
                ServerConfig {
                    work: Duration::ZERO,
                    max_connections: 2,
                    ..ServerConfig::default()
                },
            )
            .unwrap();
            let addr = server.local_addr();
            let mut held: Vec<TcpStream> =
                (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
            let request = Data {
                field1: 5,
                field2: 5,
                field3: String::new(),
            };
            for stream in &mut held {
                blocking_request(stream, &request).unwrap();
            }
            let mut extra = TcpStream::connect(addr).unwrap();
            extra
                .set_read_timeout(Some(Duration::from_secs(2)))
                .unwrap();
            assert!(blocking_request(&mut extra, &request).is_err());
            assert_eq!(server.stats().rejected, 1);
            drop(held);
            assert!(server.wait_until_idle(Duration::from_secs(2)));
            let mut again = TcpStream::connect(addr).unwrap();
            blocking_request(&mut again, &request).unwrap();
        });
    }
}
