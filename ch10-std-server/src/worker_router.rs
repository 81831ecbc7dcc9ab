//! `worker-router` ("Accepting Requests"): connections dealt round-robin to parked workers.
//!
//! The code is [`crate::server::worker`]: [`spawn_worker`] runs one executor per thread and
//! parks it whenever nothing is ready; [`route_connections`] (the book's accept loop) sends each
//! connection to the next worker and then always unparks it. The book guarded the unpark with a
//! per-worker "parked" flag, which can lose a wake-up (see the `// Book:` note on
//! `route_connections`); `thread::park` already keeps an early `unpark` as a token, so sending
//! and then unparking unconditionally needs no flag and loses nothing.
//!
//! The demo connects 9 clients one after another (each sends one request and waits for its
//! reply) and prints which worker the router picked and when each worker parked.
//!
//! `cargo run -p ch10 -- worker-router [--connections N]`

pub use crate::server::worker::{WorkerStats, route_connections, spawn_worker};

use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use common::demo::{Args, DemoResult};

use crate::client::{blocking_request, check_reply};
use crate::data_layer::data::Data;
use crate::server::{Server, ServerConfig, ServerEvent, ServerHandle};

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let connections = args.value_in("connections", 9u32, 1..=1_000)?;
    args.finish()?;
    let server = Server::bind(
        "127.0.0.1:0",
        ServerConfig {
            work: Duration::ZERO,
            events: Some(Arc::new(|event: &ServerEvent| match event {
                ServerEvent::Routed { index, worker, .. } => println!("conn {index} -> {worker}"),
                ServerEvent::Parked { worker } => println!("        {worker} parked, then woke"),
                _ => {}
            })),
            ..ServerConfig::default()
        },
    )?;
    let addr = server.local_addr();
    for i in 0..connections {
        one_round(addr, i)?;
    }
    server.wait_until_idle(Duration::from_secs(1));
    for worker in server.shutdown() {
        println!(
            "{}: {} connections, parked {} times, {} polls",
            worker.name, worker.connections, worker.parks, worker.polls
        );
    }
    Ok(())
}

/// One client: connect, one request, check the reply, close.
pub fn one_round(addr: SocketAddr, i: u32) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let reply = blocking_request(
        &mut stream,
        &Data {
            field1: i,
            field2: i as u16,
            field3: format!("round {i}"),
        },
    )?;
    check_reply(i, i as u16, &reply).map_err(std::io::Error::other)
}

/// A server with no work delay that records which worker got each connection.
pub fn recording_server() -> std::io::Result<(ServerHandle, Arc<Mutex<Vec<&'static str>>>)> {
    let routed = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&routed);
    let server = Server::bind(
        "127.0.0.1:0",
        ServerConfig {
            work: Duration::ZERO,
            events: Some(Arc::new(move |event: &ServerEvent| {
                if let ServerEvent::Routed { worker, .. } = event {
                    record
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(*worker);
                }
            })),
            ..ServerConfig::default()
        },
    )?;
    Ok((server, routed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::async_runtime::test_support::within;
    use crate::server::worker::WORKER_NAMES;

    /// The routing record once it holds `n` entries: the router notes a connection just after
    /// handing it over, so the reply can reach the client a moment before the note is written.
    fn routed_at_least(routed: &Mutex<Vec<&'static str>>, n: usize) -> Vec<&'static str> {
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        loop {
            let now = routed.lock().unwrap().clone();
            if now.len() >= n || std::time::Instant::now() > deadline {
                return now;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn connection_i_goes_to_worker_i_mod_3() {
        within(Duration::from_secs(20), || {
            let (server, routed) = recording_server().unwrap();
            for i in 0..9 {
                one_round(server.local_addr(), i).unwrap();
            }
            let routed = routed_at_least(&routed, 9);
            let expected: Vec<_> = (0..9).map(|i| WORKER_NAMES[i % 3]).collect();
            assert_eq!(routed, expected);
            server.wait_until_idle(Duration::from_secs(2));
            let workers = server.shutdown();
            assert_eq!(workers.len(), 3);
            assert!(workers.iter().all(|w| w.connections == 3), "{workers:?}");
        });
    }

    #[test]
    fn five_hundred_rounds_with_idle_workers_all_get_replies() {
        // A lost wake-up would leave one of these waiting for the 2 s read timeout.
        within(Duration::from_secs(60), || {
            let (server, _) = recording_server().unwrap();
            for i in 0..500 {
                one_round(server.local_addr(), i).unwrap_or_else(|e| panic!("round {i}: {e}"));
            }
            server.wait_until_idle(Duration::from_secs(2));
            let workers = server.shutdown();
            let parks: u64 = workers.iter().map(|w| w.parks).sum();
            assert!(
                parks >= 500,
                "workers idle between rounds park: {workers:?}"
            );
        });
    }

    #[test]
    fn connect_and_close_clients_neither_kill_workers_nor_shift_the_rotation() {
        within(Duration::from_secs(30), || {
            let (server, routed) = recording_server().unwrap();
            for _ in 0..100 {
                drop(TcpStream::connect(server.local_addr()).unwrap());
            }
            // Connection 100 goes to worker 100 mod 3 = Two, and is served.
            one_round(server.local_addr(), 100).unwrap();
            let routed = routed_at_least(&routed, 101);
            assert_eq!(routed.len(), 101);
            assert_eq!(routed[100], WORKER_NAMES[100 % 3]);
            for i in 0..3 {
                one_round(server.local_addr(), 200 + i).unwrap();
            }
            assert!(server.wait_until_idle(Duration::from_secs(2)));
            let stats = server.stats();
            assert_eq!(stats.accepted, 104);
            assert_eq!(stats.clean, 104, "{stats:?}");
            let workers = server.shutdown();
            assert_eq!(workers.len(), 3, "every worker is alive and joined");
        });
    }
}
