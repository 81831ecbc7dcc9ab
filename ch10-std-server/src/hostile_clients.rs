//! `hostile-clients` (Extra: robustness): every byte from the network is hostile.
//!
//! A server (3 workers, no work delay, 300 ms idle timeout) faces bad clients of eight kinds —
//! random garbage, a 4 GiB length prefix, a prefix one past the maximum, a header and half a
//! body then silence, half a body then a disconnect, connect-and-close, a slowloris sending one
//! byte every 50 ms, and a client that pipelines requests and never reads a reply — while a good
//! client sends a request every 10 ms on a keep-alive connection. Each bad connection must end
//! (the server closes it: a bad frame at once, silence and trickles at the idle timeout) without
//! the good client noticing. The demo prints, per kind, how the server ended those connections
//! (from its `Closed` events) and the good client's score and worst latency.
//!
//! `cargo run -p ch10 -- hostile-clients [--bad N] [--threads N]`

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};

use crate::client::{blocking_request, check_reply};
use crate::data_layer::XorShift;
use crate::data_layer::data::{Data, MAX_FRAME_LEN};
use crate::server::{Server, ServerConfig, ServerEvent, ServerHandle};

/// The kinds of bad client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BadKind {
    /// 16 to 512 random bytes.
    Garbage,
    /// Length prefix `ff ff ff ff`.
    HugePrefix,
    /// Length prefix 65,537, one past the maximum.
    OverMaxPrefix,
    /// Length prefix 9, below the smallest body (10 bytes).
    TinyPrefix,
    /// A frame whose `field3` length disagrees with its frame length.
    LyingLength,
    /// A frame whose `field3` is not UTF-8.
    BadUtf8,
    /// A header and half a body, then silence.
    HalfThenSilence,
    /// Half a body, then a disconnect.
    HalfThenDisconnect,
    /// Connects and closes at once.
    ConnectClose,
    /// One byte of a frame every 50 ms.
    Slowloris,
    /// Pipelines 1,000 requests and never reads a reply.
    NeverReads,
}

/// The eight kinds the demo sends, in turn.
pub const DEMO_KINDS: [BadKind; 8] = [
    BadKind::Garbage,
    BadKind::HugePrefix,
    BadKind::OverMaxPrefix,
    BadKind::HalfThenSilence,
    BadKind::HalfThenDisconnect,
    BadKind::ConnectClose,
    BadKind::Slowloris,
    BadKind::NeverReads,
];

/// Kinds that each send one malformed frame and need no timeout to end (the test's mix).
pub const MALFORMED_KINDS: [BadKind; 7] = [
    BadKind::Garbage,
    BadKind::HugePrefix,
    BadKind::OverMaxPrefix,
    BadKind::TinyPrefix,
    BadKind::LyingLength,
    BadKind::BadUtf8,
    BadKind::HalfThenDisconnect,
];

/// A valid request frame, for kinds that send part of one.
fn sample_frame() -> Vec<u8> {
    Data {
        field1: 7,
        field2: 7,
        field3: "a perfectly good request".into(),
    }
    .serialize()
    .unwrap_or_default()
}

/// Connects and misbehaves as `kind`, then waits (at most 5 s) for the server to close the
/// connection (`idle` is the server's idle timeout). Returns the connection's local address
/// (the server sees it as the peer).
pub fn bad_client(
    addr: SocketAddr,
    kind: BadKind,
    rng: &mut XorShift,
    idle: Duration,
) -> io::Result<SocketAddr> {
    let mut stream = TcpStream::connect(addr)?;
    let local = stream.local_addr()?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let frame = sample_frame();
    match kind {
        BadKind::Garbage => {
            let len = 16 + rng.below(497) as usize;
            stream.write_all(&rng.bytes(len))?;
        }
        BadKind::HugePrefix => stream.write_all(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1])?,
        BadKind::OverMaxPrefix => {
            let mut bytes = (MAX_FRAME_LEN as u32 + 1).to_be_bytes().to_vec();
            bytes.extend([0u8; 32]);
            stream.write_all(&bytes)?;
        }
        BadKind::TinyPrefix => stream.write_all(&[0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9])?,
        BadKind::LyingLength => {
            let mut bytes = frame.clone();
            bytes[10..14].copy_from_slice(&u32::MAX.to_be_bytes()); // field3's length
            stream.write_all(&bytes)?;
        }
        BadKind::BadUtf8 => {
            let mut bytes = frame.clone();
            let last = bytes.len() - 1;
            bytes[last] = 0xff;
            stream.write_all(&bytes)?;
        }
        BadKind::HalfThenSilence => stream.write_all(&frame[..frame.len() / 2])?,
        BadKind::HalfThenDisconnect => {
            stream.write_all(&frame[..frame.len() / 2])?;
            return Ok(local); // dropping the stream disconnects mid-frame
        }
        BadKind::ConnectClose => return Ok(local),
        BadKind::Slowloris => {
            for byte in &frame {
                if stream.write_all(std::slice::from_ref(byte)).is_err() {
                    return Ok(local); // the server has closed it
                }
                thread::sleep(Duration::from_millis(50));
            }
        }
        BadKind::NeverReads => {
            let mut burst = Vec::with_capacity(frame.len() * 1_000);
            for _ in 0..1_000 {
                burst.extend_from_slice(&frame);
            }
            stream.write_all(&burst)?;
            // Never read a reply; stay connected well past the server's idle timeout.
            thread::sleep(idle * 2);
            return Ok(local);
        }
    }
    wait_for_close(&mut stream);
    Ok(local)
}

/// Reads and discards until the server closes (EOF or reset) or 5 s pass.
fn wait_for_close(stream: &mut TcpStream) {
    let mut sink = [0u8; 1024];
    loop {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// What the good client saw.
#[derive(Debug, Clone, Copy, Default)]
pub struct GoodReport {
    /// Requests sent.
    pub sent: u32,
    /// Replies that matched.
    pub matched: u32,
    /// The slowest reply.
    pub max_latency: Duration,
}

/// A keep-alive client sending a request every `every` until `stop` is set.
pub fn good_client(
    addr: SocketAddr,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> io::Result<GoodReport> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut report = GoodReport::default();
    let mut i = 0u32;
    while !stop.load(Ordering::SeqCst) {
        let request = Data {
            field1: i,
            field2: i as u16,
            field3: format!("good request {i}"),
        };
        let started = Instant::now();
        report.sent += 1;
        let reply = blocking_request(&mut stream, &request)?;
        report.max_latency = report.max_latency.max(started.elapsed());
        if check_reply(i, i as u16, &reply).is_ok() {
            report.matched += 1;
        }
        i += 1;
        thread::sleep(every);
    }
    Ok(report)
}

/// How the server ended connections, keyed by the client's address, until each bad client
/// takes its own entry (local ports are reused, so entries must not linger).
#[derive(Debug, Default)]
pub struct EndingBoard {
    endings: Mutex<HashMap<SocketAddr, String>>,
    posted: Condvar,
}

impl EndingBoard {
    fn post(&self, peer: SocketAddr, how: String) {
        self.endings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(peer, how);
        self.posted.notify_all();
    }

    /// Waits (at most `limit`) for the server's report on the connection from `local`.
    pub fn take(&self, local: SocketAddr, limit: Duration) -> Option<String> {
        let deadline = Instant::now() + limit;
        let mut endings = self.endings.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(how) = endings.remove(&local) {
                return Some(how);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            endings = self
                .posted
                .wait_timeout(endings, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// The board a [`hostile_server`] posts its connections' endings on.
pub type Endings = Arc<EndingBoard>;

/// A server for the attack: no work delay, `idle` timeout, recording every connection's end.
pub fn hostile_server(idle: Duration) -> io::Result<(ServerHandle, Endings)> {
    let endings: Endings = Arc::default();
    let record = Arc::clone(&endings);
    let server = Server::bind(
        "127.0.0.1:0",
        ServerConfig {
            work: Duration::ZERO,
            idle_timeout: idle,
            events: Some(Arc::new(move |event: &ServerEvent| {
                if let ServerEvent::Closed(report) = event
                    && let Some(peer) = report.peer
                {
                    let how = match &report.end {
                        Ok(stats) if stats.requests == 0 => "closed cleanly".to_string(),
                        Ok(_) => "closed cleanly after replies".to_string(),
                        Err((kind, _)) => format!("{kind:?}"),
                    };
                    record.post(peer, how);
                }
            })),
            ..ServerConfig::default()
        },
    )?;
    Ok((server, endings))
}

/// Runs `total` bad clients over `threads` threads, cycling through `kinds`; returns each
/// connection's kind with how the server ended it (from `endings`), and the client-side errors.
pub fn attack(
    addr: SocketAddr,
    kinds: &'static [BadKind],
    total: usize,
    threads: usize,
    idle: Duration,
    endings: &Endings,
) -> (Vec<(BadKind, String)>, Vec<String>) {
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let next = Arc::clone(&next);
            let endings = Arc::clone(endings);
            thread::spawn(move || {
                let mut rng = XorShift::new(t as u64 + 11);
                let mut ended = Vec::new();
                let mut errors = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= total {
                        return (ended, errors);
                    }
                    let kind = kinds[n % kinds.len()];
                    match bad_client(addr, kind, &mut rng, idle) {
                        Ok(local) => {
                            let how = endings
                                .take(local, Duration::from_secs(5))
                                .unwrap_or_else(|| "not seen".into());
                            ended.push((kind, how));
                        }
                        Err(e) => errors.push(format!("{kind:?}: {e}")),
                    }
                }
            })
        })
        .collect();
    let mut ended = Vec::new();
    let mut errors = Vec::new();
    for worker in workers {
        match worker.join() {
            Ok((mine, errs)) => {
                ended.extend(mine);
                errors.extend(errs);
            }
            Err(_) => errors.push("a bad-client thread panicked".into()),
        }
    }
    (ended, errors)
}

/// Per kind: how many ran, and how many the server ended each way.
pub fn tally(ended: &[(BadKind, String)]) -> BTreeMap<BadKind, (usize, BTreeMap<String, usize>)> {
    let mut table: BTreeMap<BadKind, (usize, BTreeMap<String, usize>)> = BTreeMap::new();
    for (kind, how) in ended {
        let row = table.entry(*kind).or_default();
        row.0 += 1;
        *row.1.entry(how.clone()).or_default() += 1;
    }
    table
}

/// Resident memory of this process (`VmRSS`, Linux), in bytes.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let bad = args.value_in("bad", 1_000usize, 0..=100_000)?;
    let threads = args.value_in("threads", 50usize, 1..=500)?;
    args.finish()?;
    let idle = Duration::from_millis(300);
    let (server, endings) = hostile_server(idle)?;
    let addr = server.local_addr();
    println!(
        "server on {addr} (3 workers, idle timeout {idle:?}); {bad} bad connections from {threads} threads, \
         while a good client sends a request every 10 ms"
    );
    let rss_before = resident_bytes();
    let stop = Arc::new(AtomicBool::new(false));
    let good = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || good_client(addr, Duration::from_millis(10), stop))
    };
    let started = Instant::now();
    let (ended, errors) = attack(addr, &DEMO_KINDS, bad, threads, idle, &endings);
    let took = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let good = good.join().map_err(|_| "the good client panicked")??;
    server.wait_until_idle(Duration::from_secs(3));

    println!("{:<20} {:>5}  how the server ended them", "kind", "ran");
    for (kind, (ran, ends)) in tally(&ended) {
        let ends: Vec<String> = ends.iter().map(|(how, n)| format!("{how} {n}")).collect();
        println!("{:<20} {ran:>5}  {}", format!("{kind:?}"), ends.join(", "));
    }
    for e in errors.iter().take(5) {
        println!("client-side error: {e}");
    }
    let stats = server.stats();
    println!(
        "attack took {:.1} s; server: {} connections, {} ended by errors, {} still open",
        took.as_secs_f64(),
        stats.accepted,
        stats.failed,
        stats.live
    );
    if let (Some(a), Some(b)) = (rss_before, resident_bytes()) {
        println!(
            "resident memory: {:.1} MiB before, {:.1} MiB after",
            a as f64 / 1048576.0,
            b as f64 / 1048576.0
        );
    }
    println!(
        "good client: {}/{} replies matched, max latency {:.1} ms",
        good.matched,
        good.sent,
        good.max_latency.as_secs_f64() * 1e3
    );
    server.shutdown();
    if good.matched != good.sent {
        return Err("the good client lost replies".into());
    }
    Ok(())
}
