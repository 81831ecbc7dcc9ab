//! Workers and the router ("Accepting Requests"): the listener deals connections round-robin to
//! worker threads, each running its own [`Executor`] of [`handle_client`] tasks.
//!
//! The wake-up protocol is the lesson. A worker takes every connection waiting in its channel,
//! runs its ready tasks, and parks; the router sends a connection and then *always* unparks that
//! worker. `thread::park` keeps an `unpark` that arrives before the park as a token, so the
//! worst case — the router sends just after the worker found its channel empty and just before
//! it parks — makes the park return at once. Nothing can be lost, and no flag is needed.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::async_runtime::Executor;

use super::handler::{ConnReport, handle_client};
use super::{ServerEvent, Shared};

/// Worker names, in the order connections are dealt to them (the book has One, Two, Three).
pub const WORKER_NAMES: [&str; 8] = [
    "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight",
];

/// Starts a worker thread named `name` that serves every connection arriving on `rx`.
///
/// It returns its counters when the server shuts down (or the router is gone).
// Book: the book's `spawn_worker!` was a macro; nothing in it needs one, so ours is a function.
// Book: the book's worker parked only when it had no task at all, so with pending connections it
// spun through them; ours parks whenever no task is ready and no connection is waiting.
pub fn spawn_worker(
    name: &'static str,
    rx: Receiver<TcpStream>,
    shared: Arc<Shared>,
) -> io::Result<JoinHandle<WorkerStats>> {
    thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let mut executor = Executor::new();
            let mut connections = 0;
            loop {
                // Take every connection the router has sent so far.
                let router_gone = loop {
                    match rx.try_recv() {
                        Ok(stream) => {
                            connections += 1;
                            // Book: the book's `peer_addr().unwrap()` panicked when the peer had
                            // already reset, killing the worker and, through the router's ignored
                            // `send` result, every third connection after it; ours logs `?`.
                            let peer = stream.peer_addr().ok();
                            if shared.config.verbose {
                                println!("[{name}] connection from {}", show_peer(peer));
                            }
                            executor.spawn(serve_connection(
                                stream,
                                peer,
                                name,
                                Arc::clone(&shared),
                            ));
                        }
                        Err(TryRecvError::Empty) => break false,
                        Err(TryRecvError::Disconnected) => break true,
                    }
                };
                if router_gone || shared.shutdown.load(Ordering::SeqCst) {
                    break;
                }
                executor.run_until_stalled();
                // Parks unless a task became ready meanwhile. A connection sent after the
                // `try_recv` above comes with an `unpark`, which makes this return at once.
                // Book: the book's `println!("{}", $name is sleeping)` does not compile (the text
                // needs quotes); our workers report parking through `ServerEvent::Parked`.
                let parks = executor.stats().parks;
                executor.park();
                if executor.stats().parks > parks {
                    shared.emit(|| ServerEvent::Parked { worker: name });
                }
            }
            let stats = executor.stats();
            // Dropping the executor drops every unfinished connection task, closing its socket.
            drop(executor);
            WorkerStats {
                name,
                connections,
                polls: stats.polls,
                parks: stats.parks,
            }
        })
}

/// One connection's task: [`handle_client`] plus the bookkeeping around it.
async fn serve_connection(
    stream: TcpStream,
    peer: Option<SocketAddr>,
    worker: &'static str,
    shared: Arc<Shared>,
) {
    // Counts the connection as live until the task ends or is dropped (at shutdown).
    let _live = LiveGuard(Arc::clone(&shared));
    let end = handle_client(stream, Arc::clone(&shared.config))
        .await
        .map_err(|e| (e.kind(), e.to_string()));
    match &end {
        Ok(stats) => {
            shared.stats.clean.fetch_add(1, Ordering::Relaxed);
            shared
                .stats
                .requests
                .fetch_add(stats.requests, Ordering::Relaxed);
        }
        Err(_) => {
            shared.stats.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
    if shared.config.verbose {
        let report = ConnReport {
            worker,
            peer,
            end: end.clone(),
        };
        println!("[{worker}] {} {}", show_peer(peer), report.describe());
    }
    shared.emit(|| ServerEvent::Closed(ConnReport { worker, peer, end }));
}

struct LiveGuard(Arc<Shared>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.stats.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a worker did, returned when it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerStats {
    /// The worker's name (`One`, `Two`, …).
    pub name: &'static str,
    /// Connections the router gave it.
    pub connections: u64,
    /// Task polls its executor made.
    pub polls: u64,
    /// Times its thread parked with nothing to do.
    pub parks: u64,
}

/// The router (the book's `main` loop): accepts connections and deals them round-robin to
/// `router`'s channels, unparking the worker each time. Returns when the server shuts down.
// Book: the book kept a "parked" flag per worker and unparked only if it was set, which loses a
// wake-up: the worker finds its channel empty, the router sends and sees the flag still false,
// then the worker sets it and parks with a connection waiting. We always unpark after sending.
// Book: the book's `fn main() -> io::Result<>` is a typo for `io::Result<()>`; our accept loop is
// this function, which returns when the server shuts down.
pub fn route_connections(
    listener: &TcpListener,
    router: &[Sender<TcpStream>],
    threads: &[thread::Thread],
    shared: &Shared,
) {
    let mut index: usize = 0;
    let mut count: u64 = 0;
    let mut pause = ACCEPT_PAUSE_START;
    let mut dead = vec![false; router.len()];
    loop {
        let accepted = listener.accept();
        if shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        let stream = match accepted {
            Ok((stream, _)) => {
                pause = ACCEPT_PAUSE_START;
                stream
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // Book: the book printed the error and retried at once, a busy loop while the
                // error lasts (e.g. `EMFILE`, out of file descriptors); ours backs off up to 1 s.
                eprintln!("Connection failed: {e}; pausing {pause:?}");
                thread::sleep(pause);
                pause = (pause * 2).min(ACCEPT_PAUSE_MAX);
                continue;
            }
        };
        let peer = stream.peer_addr().ok();
        if shared.stats.live.load(Ordering::SeqCst) >= shared.config.max_connections {
            shared.stats.rejected.fetch_add(1, Ordering::Relaxed);
            shared.emit(|| ServerEvent::Rejected { peer });
            continue; // dropping the stream closes it
        }
        shared.stats.accepted.fetch_add(1, Ordering::Relaxed);
        shared.stats.live.fetch_add(1, Ordering::SeqCst);
        // Deal to the next live worker; a worker whose channel is closed has died.
        let mut stream = Some(stream);
        for _ in 0..router.len() {
            let worker = index;
            index = (index + 1) % router.len();
            if dead[worker] {
                continue;
            }
            let Some(s) = stream.take() else { break };
            match router[worker].send(s) {
                Ok(()) => {
                    threads[worker].unpark();
                    shared.emit(|| ServerEvent::Routed {
                        index: count,
                        peer,
                        worker: WORKER_NAMES[worker],
                    });
                    count += 1;
                    break;
                }
                Err(returned) => {
                    // Book: the book discarded `send`'s result, silently dropping every
                    // connection dealt to a dead worker; ours reports it and skips the worker.
                    eprintln!("worker {} is gone; skipping it", WORKER_NAMES[worker]);
                    dead[worker] = true;
                    stream = Some(returned.0);
                }
            }
        }
        if stream.is_some() {
            shared.stats.live.fetch_sub(1, Ordering::SeqCst);
            eprintln!("no worker is left to serve connections; the listener stops");
            return;
        }
    }
}

/// The first pause after an accept error.
pub const ACCEPT_PAUSE_START: Duration = Duration::from_millis(10);
/// The longest pause between accept attempts while errors last.
pub const ACCEPT_PAUSE_MAX: Duration = Duration::from_secs(1);

/// Makes the `n` channels, the worker threads and their names; returns the senders and the
/// threads' join handles (the router needs both, as in the book).
#[allow(clippy::type_complexity)]
pub fn spawn_workers(
    n: usize,
    shared: &Arc<Shared>,
) -> io::Result<(Vec<Sender<TcpStream>>, Vec<JoinHandle<WorkerStats>>)> {
    let mut router = Vec::with_capacity(n);
    let mut threads = Vec::with_capacity(n);
    for name in WORKER_NAMES.iter().take(n) {
        let (tx, rx) = channel::<TcpStream>();
        threads.push(spawn_worker(name, rx, Arc::clone(shared))?);
        router.push(tx);
    }
    Ok((router, threads))
}

/// A peer address, or `?` when the socket could no longer tell.
pub fn show_peer(peer: Option<SocketAddr>) -> String {
    peer.map_or_else(|| "?".to_string(), |p| p.to_string())
}
