//! `handle-client` ("Handling Requests"): one connection's loop, and every way it can end.
//!
//! The code is [`crate::server::handler::handle_client`]: receive a frame (within the idle
//! timeout), do the simulated work, send a reply that echoes the request's numbers, repeat; end
//! cleanly when the peer closes between frames, and on any error end only this connection.
//!
//! The demo runs the handler on this thread's executor against a loopback peer: three requests
//! on one connection (the second split across two writes), then four bad peers — garbage, an
//! oversized length prefix, silence, and a disconnect in the middle of a frame — each with the
//! reason the handler gave.
//!
//! `cargo run -p ch10 -- handle-client [--work-ms MS] [--idle-ms MS]`

pub use crate::server::handler::{ConnStats, REPLY_TEXT, handle_client};

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};

use crate::async_runtime::Executor;
use crate::client::read_frame_blocking;
use crate::data_layer::data::Data;
use crate::server::ServerConfig;

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let work_ms = args.value_in("work-ms", 100u64, 0..=5_000)?;
    let idle_ms = args.value_in("idle-ms", 200u64, 10..=10_000)?;
    args.finish()?;
    let config = ServerConfig {
        work: Duration::from_millis(work_ms),
        idle_timeout: Duration::from_millis(idle_ms),
        verbose: true,
        ..ServerConfig::default()
    };

    println!("one connection, three requests (the second split across two writes):");
    let started = Instant::now();
    let (ended, replies) = serve_one(&config, good_peer)?;
    for reply in &replies {
        println!("  reply {reply:?}");
    }
    println!(
        "  handler ended: {} after {:.0} ms (the three run one after another on one connection)",
        describe(&ended),
        started.elapsed().as_secs_f64() * 1e3
    );

    println!("bad peers (idle timeout {idle_ms} ms):");
    for (name, peer) in BAD_PEERS {
        let (ended, _) = serve_one(&config, *peer)?;
        println!("  {name:<22} -> {}", describe(&ended));
    }
    Ok(())
}

fn describe(ended: &io::Result<ConnStats>) -> String {
    match ended {
        Ok(stats) => format!("clean end after {} requests", stats.requests),
        Err(e) => format!("{:?}: {e}", e.kind()),
    }
}

/// A client side for [`serve_one`]: gets the connected stream, returns the replies it read.
pub type Peer = fn(TcpStream) -> io::Result<Vec<Data>>;

/// The bad peers of the demo and tests, by name.
pub const BAD_PEERS: &[(&str, Peer)] = &[
    ("garbage", garbage_peer),
    ("oversized prefix", oversized_peer),
    ("silence", silent_peer),
    ("disconnect mid-frame", half_frame_peer),
];

/// Accepts one connection from `peer` (run on a thread) and serves it with [`handle_client`] on
/// this thread's executor; returns how the handler ended and what the peer read.
pub fn serve_one(
    config: &ServerConfig,
    peer: Peer,
) -> io::Result<(io::Result<ConnStats>, Vec<Data>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let client =
        thread::Builder::new()
            .name("peer".into())
            .spawn(move || -> io::Result<Vec<Data>> {
                let stream = TcpStream::connect(addr)?;
                stream.set_read_timeout(Some(Duration::from_secs(10)))?;
                peer(stream)
            })?;
    let (stream, _) = listener.accept()?;
    let mut executor = Executor::new();
    let ended = executor.block_on(handle_client(stream, Arc::new(config.clone())));
    let replies = client
        .join()
        .map_err(|_| io::Error::other("the peer thread panicked"))??;
    Ok((ended, replies))
}

/// The requests the good peer sends.
pub fn good_requests() -> Vec<Data> {
    (1..=3)
        .map(|i| Data {
            field1: i,
            field2: 100 + i as u16,
            field3: format!("Hello, server! {i}"),
        })
        .collect()
}

/// Three requests, one at a time; the second written in two pieces. Reads each reply.
pub fn good_peer(mut stream: TcpStream) -> io::Result<Vec<Data>> {
    stream.set_nodelay(true)?;
    let mut replies = Vec::new();
    for (i, request) in good_requests().iter().enumerate() {
        let bytes = request.serialize()?;
        if i == 1 {
            stream.write_all(&bytes[..7])?;
            thread::sleep(Duration::from_millis(20));
            stream.write_all(&bytes[7..])?;
        } else {
            stream.write_all(&bytes)?;
        }
        match read_frame_blocking(&mut stream)? {
            Some(reply) => replies.push(reply),
            None => break,
        }
    }
    Ok(replies) // closing the stream ends the handler cleanly
}

/// Random-looking bytes that happen to start with a length prefix of `0x47 45 54 20`
/// (`"GET "`, 1.2 billion), then waits for the server to close.
pub fn garbage_peer(mut stream: TcpStream) -> io::Result<Vec<Data>> {
    stream.write_all(b"GET / HTTP/1.1\r\nHost: nowhere\r\n\r\n")?;
    expect_eof(stream)
}

/// A length prefix of `ff ff ff ff` (4 GiB) and a few bytes.
pub fn oversized_peer(mut stream: TcpStream) -> io::Result<Vec<Data>> {
    stream.write_all(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3])?;
    expect_eof(stream)
}

/// Connects and sends nothing until the server gives up.
pub fn silent_peer(stream: TcpStream) -> io::Result<Vec<Data>> {
    expect_eof(stream)
}

/// Half of a frame, then closes.
pub fn half_frame_peer(mut stream: TcpStream) -> io::Result<Vec<Data>> {
    let bytes = good_requests()[0].serialize()?;
    stream.write_all(&bytes[..bytes.len() / 2])?;
    Ok(Vec::new())
}

/// Waits until the server closes the connection (a read returns 0 or a reset).
fn expect_eof(mut stream: TcpStream) -> io::Result<Vec<Data>> {
    let mut sink = [0u8; 256];
    loop {
        match stream.read(&mut sink) {
            Ok(0) => return Ok(Vec::new()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(Vec::new()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::async_runtime::test_support::within;
    use common::timeline::CountPolls;

    fn config(work_ms: u64, idle_ms: u64) -> ServerConfig {
        ServerConfig {
            work: Duration::from_millis(work_ms),
            idle_timeout: Duration::from_millis(idle_ms),
            ..ServerConfig::default()
        }
    }

    #[test]
    fn replies_match_their_requests_in_order() {
        let (ended, replies) = within(Duration::from_secs(10), || {
            serve_one(&config(10, 2_000), good_peer).unwrap()
        });
        assert_eq!(ended.unwrap(), ConnStats { requests: 3 });
        let requests = good_requests();
        assert_eq!(replies.len(), 3);
        for (request, reply) in requests.iter().zip(&replies) {
            assert_eq!(reply.field1, request.field1);
            assert_eq!(reply.field2, request.field2);
            assert_eq!(reply.field3, REPLY_TEXT);
        }
    }

    #[test]
    fn ten_connections_with_100_ms_of_work_overlap() {
        within(Duration::from_secs(10), || {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let cfg = Arc::new(config(100, 2_000));
            let started = Instant::now();
            let clients: Vec<_> = (0..10u32)
                .map(|i| {
                    thread::spawn(move || {
                        let mut stream = TcpStream::connect(addr).unwrap();
                        let request = Data {
                            field1: i,
                            field2: i as u16,
                            field3: "x".into(),
                        };
                        crate::client::blocking_request(&mut stream, &request).unwrap()
                    })
                })
                .collect();
            let mut executor = Executor::new();
            let handlers: Vec<_> = (0..10)
                .map(|_| {
                    let (stream, _) = listener.accept().unwrap();
                    executor.spawn(handle_client(stream, Arc::clone(&cfg)))
                })
                .collect();
            let ends = executor.block_on(async {
                let mut ends = Vec::new();
                for h in handlers {
                    ends.push(h.await.unwrap());
                }
                ends
            });
            for (i, client) in clients.into_iter().enumerate() {
                assert_eq!(client.join().unwrap().field1, i as u32);
            }
            assert!(
                ends.iter()
                    .all(|e| matches!(e, Ok(ConnStats { requests: 1 })))
            );
            let took = started.elapsed();
            assert!(took < Duration::from_millis(600), "took {took:?}");
        });
    }

    #[test]
    fn each_bad_peer_ends_only_its_connection_with_the_right_kind() {
        let expected = [
            io::ErrorKind::InvalidData,
            io::ErrorKind::InvalidData,
            io::ErrorKind::TimedOut,
            io::ErrorKind::UnexpectedEof,
        ];
        for ((name, peer), kind) in BAD_PEERS.iter().zip(expected) {
            // The peers that wait return only once the handler has closed the connection.
            let (ended, replies) = within(Duration::from_secs(10), move || {
                serve_one(&config(0, 150), *peer).unwrap()
            });
            let err = ended.expect_err(name);
            assert_eq!(err.kind(), kind, "{name}: {err}");
            assert!(replies.is_empty());
        }
    }

    #[test]
    fn a_reset_connection_stops_its_handler_quickly() {
        within(Duration::from_secs(10), || {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let peer = thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).unwrap();
                let request = good_requests().remove(0);
                stream.write_all(&request.serialize().unwrap()).unwrap();
                // Wait until the reply is here, then close without reading it: the kernel
                // answers unread data with a reset.
                thread::sleep(Duration::from_millis(50));
                drop(stream);
            });
            let (stream, _) = listener.accept().unwrap();
            let handler = CountPolls::new(handle_client(stream, Arc::new(config(0, 5_000))));
            let polls = handler.counter();
            let ended = Executor::new().block_on(handler);
            peer.join().unwrap();
            let err = ended.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
            assert!(polls.get() < 50, "{} polls", polls.get());
        });
    }
}
