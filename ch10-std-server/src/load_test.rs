//! `load-test` (Extra: load and idle CPU): correctness under concurrency, and the cost of idling.
//!
//! A server (3 workers, no work delay) and 64 keep-alive clients, all 64 as tasks on one
//! executor thread, each sending 1,000 requests one after another. Every request has a unique
//! `field1` (client × requests + i); a bitmap over `field1` shows that every reply came back
//! once, matched to its request. Then the 64 connections stay open and silent while the process's
//! CPU time is measured, and again after they close: with wakers that only fire on real events
//! (the reactor for sockets, the timer for deadlines) an idle server costs next to nothing. The
//! book's design would burn a core per worker thread here, and one for the client's loop.
//!
//! `cargo run -p ch10 -- load-test [--clients N] [--requests N] [--idle-secs S]`; release
//! numbers (`cargo run --release -p ch10 -- load-test`) are in the README.

pub mod cpu;

use std::io;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use common::demo::{Args, DemoResult};

use crate::async_runtime::Executor;
use crate::client::{Client, check_reply};
use crate::data_layer::data::Data;
use crate::data_layer::{RandomData, XorShift};
use crate::server::{Server, ServerConfig, ServerHandle};

/// What a load run gave.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Requests sent.
    pub sent: u64,
    /// Replies that matched their request, each `field1` once.
    pub matched: u64,
    /// Requests whose reply never came (the client's connection failed first).
    pub lost: u64,
    /// Replies whose `field1` had already been answered.
    pub duplicated: u64,
    /// What went wrong, one line per failed client or wrong reply (at most 20 kept).
    pub failures: Vec<String>,
    /// Wall time of the load phase.
    pub took: Duration,
}

impl LoadReport {
    /// Requests per second over the load phase.
    pub fn per_second(&self) -> f64 {
        self.matched as f64 / self.took.as_secs_f64().max(1e-9)
    }
}

/// Runs `clients` keep-alive clients as tasks on one executor, each sending `requests`
/// requests; returns the report and the still-open connections.
pub fn load(addr: SocketAddr, clients: u32, requests: u32) -> (LoadReport, Vec<Client>) {
    let started = Instant::now();
    let mut executor = Executor::new();
    let handles: Vec<_> = (0..clients)
        .map(|c| executor.spawn(one_client(addr, c, requests)))
        .collect();
    let outcomes = executor.block_on(async {
        let mut outcomes = Vec::with_capacity(handles.len());
        for handle in handles {
            outcomes.push(handle.await);
        }
        outcomes
    });
    let total = u64::from(clients) * u64::from(requests);
    let mut seen = vec![false; total as usize];
    let mut report = LoadReport {
        sent: total,
        took: started.elapsed(),
        ..LoadReport::default()
    };
    let mut open = Vec::new();
    for (c, outcome) in outcomes.into_iter().enumerate() {
        let (replies, client, error) = match outcome {
            Ok(outcome) => outcome,
            Err(e) => (Vec::new(), None, Some(e.to_string())),
        };
        for (field1, result) in replies {
            match result {
                Ok(()) if !seen[field1 as usize] => {
                    seen[field1 as usize] = true;
                    report.matched += 1;
                }
                Ok(()) => report.duplicated += 1,
                Err(why) => note(&mut report.failures, format!("client {c}: {why}")),
            }
        }
        if let Some(e) = error {
            note(&mut report.failures, format!("client {c}: {e}"));
        }
        open.extend(client);
    }
    report.lost = total - report.matched - report.duplicated;
    (report, open)
}

fn note(failures: &mut Vec<String>, line: String) {
    if failures.len() < 20 {
        failures.push(line);
    }
}

type ClientOutcome = (
    Vec<(u32, Result<(), String>)>,
    Option<Client>,
    Option<String>,
);

/// One client: connect, `requests` requests in turn, each checked; keeps the connection.
async fn one_client(addr: SocketAddr, c: u32, requests: u32) -> ClientOutcome {
    let mut replies = Vec::with_capacity(requests as usize);
    let mut client = match Client::connect(addr).await {
        Ok(client) => client,
        Err(e) => return (replies, None, Some(format!("connect: {e}"))),
    };
    let mut rng = XorShift::new(u64::from(c) + 1);
    for i in 0..requests {
        let field1 = c * requests + i;
        let field2 = i as u16;
        let request = Data {
            field1,
            field2,
            field3: rng.text(256),
        };
        match client.request(request).await {
            Ok(reply) => {
                let checked = check_reply(field1, field2, &reply);
                replies.push((reply.field1.min(field1), checked));
            }
            Err(e) => return (replies, None, Some(format!("request {field1}: {e}"))),
        }
    }
    (replies, Some(client), None)
}

/// CPU the whole process used over an idle period.
#[derive(Debug, Clone, Copy)]
pub struct IdleReport {
    /// How long it idled.
    pub wall: Duration,
    /// Process CPU time over that period (`None` where `/proc` is unavailable).
    pub cpu: Option<Duration>,
}

impl IdleReport {
    /// CPU as a share of one core (`None` if not measured).
    pub fn share(&self) -> Option<f64> {
        self.cpu.map(|cpu| cpu::share_of_core(cpu, self.wall))
    }

    /// `0.3 % of a core` or `not measured`.
    pub fn describe(&self) -> String {
        match self.share() {
            Some(share) => format!("{:.2} % of a core", share * 100.0),
            None => "not measured (no /proc)".to_string(),
        }
    }
}

/// Sleeps `wall` on this thread and reports the process's CPU time over it.
pub fn measure_idle(wall: Duration) -> IdleReport {
    let before = cpu::process_cpu(None);
    let started = Instant::now();
    thread::sleep(wall);
    let wall = started.elapsed();
    let cpu = before
        .zip(cpu::process_cpu(None))
        .map(|(a, b)| b.saturating_sub(a));
    IdleReport { wall, cpu }
}

/// The demo's server: 3 workers, no work delay, an idle timeout well past the idle period.
pub fn start_server(idle: Duration) -> io::Result<ServerHandle> {
    Server::bind(
        "127.0.0.1:0",
        ServerConfig {
            work: Duration::ZERO,
            idle_timeout: idle + Duration::from_secs(5),
            ..ServerConfig::default()
        },
    )
}

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let clients = args.value_in("clients", 64u32, 1..=1_000)?;
    let default_requests = if cfg!(debug_assertions) { 250 } else { 1_000 };
    let requests = args.value_in("requests", default_requests, 1..=100_000)?;
    let idle_secs = args.value_in("idle-secs", 1.0f64, 0.1..=60.0)?;
    args.finish()?;
    let idle = Duration::from_secs_f64(idle_secs);

    let server = start_server(idle)?;
    println!(
        "server on {} (3 workers, no work delay); {clients} clients × {requests} requests from one executor thread{}",
        server.local_addr(),
        if cfg!(debug_assertions) {
            " (debug build: --requests 1000 for the full load, or --release)"
        } else {
            ""
        }
    );
    let (report, open) = load(server.local_addr(), clients, requests);
    println!(
        "{}/{} replies matched, {} lost, {} duplicated, {:.0} req/s",
        report.matched,
        report.sent,
        report.lost,
        report.duplicated,
        report.per_second()
    );
    for line in &report.failures {
        println!("  {line}");
    }

    let busy = measure_idle(idle);
    println!(
        "idle with {} open connections for {:.1} s: {}",
        open.len(),
        busy.wall.as_secs_f64(),
        busy.describe()
    );
    drop(open);
    server.wait_until_idle(Duration::from_secs(2));
    let quiet = measure_idle(idle);
    println!(
        "idle with no connections for {:.1} s: {}",
        quiet.wall.as_secs_f64(),
        quiet.describe()
    );
    println!(
        "(the book's design: 100 % of a core per worker thread, and one for the client's loop)"
    );
    server.shutdown();
    if report.matched != report.sent {
        return Err(format!(
            "{} of {} requests not matched",
            report.sent - report.matched,
            report.sent
        )
        .into());
    }
    Ok(())
}
