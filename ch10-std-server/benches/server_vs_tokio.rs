//! `cargo bench -p ch10`: our std-only server and executor against tokio (chapter 10 Extras).
//!
//! Two measurements, one run:
//!
//! 1. **Server.** The same load against two servers, each in a child process of its own (this
//!    binary, started again with `--serve ours` or `--serve tokio`), so each one's CPU time can
//!    be read from `/proc/<pid>` without counting the load generator. Ours is `ch10::server`
//!    (3 worker executors, the `poll(2)` reactor, the timer thread); tokio's is a multi-thread
//!    runtime with 3 workers running a handler with the same framing (`ch10::data_layer`), the
//!    same reply, and the same idle timeout. The load: 64 std threads with blocking sockets,
//!    one keep-alive connection each, 2,000 requests each, no work delay, every reply checked.
//!    Three rounds, alternating which server goes first; medians are reported.
//! 2. **Executor.** 100,000 tasks that return their index, spawned and then joined, on our
//!    `Executor` and on tokio's `current_thread` runtime; median of 5.
//!
//! It prints a table, then three ratio lines. A plain `main` (`harness = false`): no criterion.
//! `--quick` uses a tenth of the requests (for a fast look, not for the README).

use std::io::{self, BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use ch10::async_runtime::Executor;
use ch10::client::{blocking_request, check_reply};
use ch10::data_layer::data::{Data, decode_frame};
use ch10::load_test::cpu;
use ch10::server::handler::REPLY_TEXT;
use ch10::server::{Server, ServerConfig};

/// Keep-alive clients of the load.
const CLIENTS: u32 = 64;
/// Requests per client.
const REQUESTS: u32 = 2_000;
/// Measured rounds of the server comparison (each runs both servers).
const ROUNDS: usize = 3;
/// Tasks in the spawn benchmark.
const TASKS: usize = 100_000;
/// Runs of the spawn benchmark per executor.
const SPAWN_RUNS: usize = 5;
/// Both servers close a connection that sends no whole frame for this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(5);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = args.iter().position(|a| a == "--serve") {
        let kind = args.get(at + 1).map(String::as_str).unwrap_or("");
        if let Err(e) = serve(kind) {
            eprintln!("server child ({kind}): {e}");
            std::process::exit(1);
        }
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let requests = if quick { REQUESTS / 10 } else { REQUESTS };
    if let Err(e) = compare(requests) {
        eprintln!("benchmark failed: {e}");
        std::process::exit(1);
    }
}

/// One server measurement.
#[derive(Debug, Clone, Copy)]
struct Sample {
    per_second: f64,
    /// Server CPU-seconds per 1,000 requests.
    cpu_per_1000: f64,
}

fn compare(requests: u32) -> io::Result<()> {
    let cores = thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "ch10 server vs tokio: {CLIENTS} keep-alive clients × {requests} requests, no work delay, \
         {ROUNDS} alternating rounds; {cores} cores; release build"
    );
    let mut ours = Vec::new();
    let mut tokio = Vec::new();
    for round in 0..ROUNDS {
        let order: [&str; 2] = if round % 2 == 0 {
            ["ours", "tokio"]
        } else {
            ["tokio", "ours"]
        };
        for kind in order {
            let sample = measure_server(kind, requests)?;
            println!(
                "  round {} {kind:<5}: {:>8.0} req/s, {:.3} CPU-s per 1,000 requests",
                round + 1,
                sample.per_second,
                sample.cpu_per_1000
            );
            if kind == "ours" {
                ours.push(sample);
            } else {
                tokio.push(sample);
            }
        }
    }
    let ours_rps = median(ours.iter().map(|s| s.per_second).collect());
    let tokio_rps = median(tokio.iter().map(|s| s.per_second).collect());
    let ours_cpu = median(ours.iter().map(|s| s.cpu_per_1000).collect());
    let tokio_cpu = median(tokio.iter().map(|s| s.cpu_per_1000).collect());

    let ours_spawn = median((0..SPAWN_RUNS).map(|_| spawn_ours()).collect());
    let tokio_spawn = median((0..SPAWN_RUNS).map(|_| spawn_tokio()).collect());

    println!();
    println!("| measurement | ch10 (std only) | tokio | ours/tokio |");
    println!("|---|---|---|---|");
    println!(
        "| server requests/s (median of {ROUNDS}) | {ours_rps:.0} | {tokio_rps:.0} | {} |",
        two_digits(ours_rps / tokio_rps)
    );
    println!(
        "| server CPU-seconds per 1,000 requests | {ours_cpu:.3} | {tokio_cpu:.3} | {} |",
        two_digits(ours_cpu / tokio_cpu)
    );
    println!(
        "| {TASKS} tasks spawned and joined (median of {SPAWN_RUNS}) | {:.1} ms | {:.1} ms | {} |",
        ours_spawn * 1e3,
        tokio_spawn * 1e3,
        two_digits(ours_spawn / tokio_spawn)
    );
    println!();
    println!(
        "server req/s ours/tokio {}",
        two_digits(ours_rps / tokio_rps)
    );
    println!(
        "server cpu per request ours/tokio {}",
        two_digits(ours_cpu / tokio_cpu)
    );
    println!(
        "executor time ours/tokio {}",
        two_digits(ours_spawn / tokio_spawn)
    );
    Ok(())
}

/// A ratio with two significant digits: `0.85`, `1.4`, `12`.
fn two_digits(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".to_string();
    }
    if x >= 10.0 {
        format!("{x:.0}")
    } else if x >= 1.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// A server child process; killed (after closing its stdin) when dropped.
struct ServerChild {
    child: Child,
    addr: SocketAddr,
}

impl ServerChild {
    fn start(kind: &str) -> io::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["--serve", kind])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| io::Error::other(format!("the {kind} server said {line:?}")))?;
        Ok(ServerChild { child, addr })
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        drop(self.child.stdin.take()); // end of stdin: the child stops
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a server child, warms it up, and measures one load run against it.
fn measure_server(kind: &str, requests: u32) -> io::Result<Sample> {
    let server = ServerChild::start(kind)?;
    let pid = server.child.id();
    run_load(server.addr, 8, requests / 10)?; // warm-up
    let cpu_before = cpu::process_cpu(Some(pid));
    let took = run_load(server.addr, CLIENTS, requests)?;
    let cpu_after = cpu::process_cpu(Some(pid));
    let total = f64::from(CLIENTS) * f64::from(requests);
    let cpu_used = cpu_before
        .zip(cpu_after)
        .map_or(f64::NAN, |(a, b)| b.saturating_sub(a).as_secs_f64());
    Ok(Sample {
        per_second: total / took.as_secs_f64(),
        cpu_per_1000: cpu_used / total * 1_000.0,
    })
}

/// `clients` threads, each with one blocking keep-alive connection sending `requests` checked
/// requests, released together; returns the wall time from release to the last reply.
fn run_load(addr: SocketAddr, clients: u32, requests: u32) -> io::Result<Duration> {
    let start = Arc::new(Barrier::new(clients as usize + 1));
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let start = Arc::clone(&start);
            thread::spawn(move || -> io::Result<()> {
                let mut stream = TcpStream::connect(addr)?;
                stream.set_nodelay(true)?;
                stream.set_read_timeout(Some(Duration::from_secs(20)))?;
                start.wait();
                for i in 0..requests {
                    let field1 = c * requests + i;
                    let request = Data {
                        field1,
                        field2: i as u16,
                        field3: format!("request {field1}"),
                    };
                    let reply = blocking_request(&mut stream, &request)?;
                    check_reply(field1, i as u16, &reply).map_err(io::Error::other)?;
                }
                Ok(())
            })
        })
        .collect();
    start.wait();
    let started = Instant::now();
    for t in threads {
        t.join()
            .map_err(|_| io::Error::other("a load thread panicked"))??;
    }
    Ok(started.elapsed())
}

/// The child: serves on a free port until its stdin ends.
fn serve(kind: &str) -> io::Result<()> {
    match kind {
        "ours" => {
            let server = Server::bind(
                "127.0.0.1:0",
                ServerConfig {
                    workers: 3,
                    work: Duration::ZERO,
                    idle_timeout: IDLE_TIMEOUT,
                    ..ServerConfig::default()
                },
            )?;
            println!("listening on {}", server.local_addr());
            wait_for_stdin_eof();
            server.shutdown();
            Ok(())
        }
        "tokio" => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(3)
                .enable_all()
                .build()?;
            let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
            println!("listening on {}", listener.local_addr()?);
            runtime.spawn(async move {
                loop {
                    match listener.accept().await {
                        Ok((stream, _)) => {
                            tokio::spawn(async move {
                                let _ = handle_tokio(stream).await;
                            });
                        }
                        Err(e) => {
                            eprintln!("tokio accept: {e}");
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
            });
            wait_for_stdin_eof();
            runtime.shutdown_timeout(Duration::from_secs(1));
            Ok(())
        }
        other => Err(io::Error::other(format!("unknown server kind {other:?}"))),
    }
}

fn wait_for_stdin_eof() {
    let mut sink = Vec::new();
    let _ = io::stdin().read_to_end(&mut sink);
}

/// The tokio twin of `handle_client`: the same frames, reply and idle timeout.
async fn handle_tokio(mut stream: tokio::net::TcpStream) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.set_nodelay(true)?;
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let request = loop {
            if let Some((request, used)) = decode_frame(&buf)? {
                buf.drain(..used);
                break request;
            }
            let n = tokio::time::timeout(IDLE_TIMEOUT, stream.read(&mut chunk))
                .await
                .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
            if n == 0 {
                return if buf.is_empty() {
                    Ok(())
                } else {
                    Err(io::ErrorKind::UnexpectedEof.into())
                };
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let reply = Data {
            field1: request.field1,
            field2: request.field2,
            field3: REPLY_TEXT.to_string(),
        };
        tokio::time::timeout(IDLE_TIMEOUT, stream.write_all(&reply.serialize()?))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    }
}

/// Seconds to spawn `TASKS` tasks on our executor and join them all.
fn spawn_ours() -> f64 {
    let mut executor = Executor::new();
    let started = Instant::now();
    let handles: Vec<_> = (0..TASKS)
        .map(|i| executor.spawn(async move { i }))
        .collect();
    let sum = executor.block_on(async {
        let mut sum = 0usize;
        for handle in handles {
            sum += handle.await.unwrap_or(0);
        }
        sum
    });
    let took = started.elapsed().as_secs_f64();
    assert_eq!(sum, TASKS * (TASKS - 1) / 2);
    took
}

/// Seconds to spawn `TASKS` tasks on tokio's current-thread runtime and join them all.
fn spawn_tokio() -> f64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    let started = Instant::now();
    let sum = runtime.block_on(async {
        let handles: Vec<_> = (0..TASKS).map(|i| tokio::spawn(async move { i })).collect();
        let mut sum = 0usize;
        for handle in handles {
            sum += handle.await.unwrap_or(0);
        }
        sum
    });
    let took = started.elapsed().as_secs_f64();
    assert_eq!(sum, TASKS * (TASKS - 1) / 2);
    took
}
