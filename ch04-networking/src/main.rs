//! `cargo run -p ch04 [-- list | -- <id> [args…]]`: the demos of chapter 4, in book order.
//!
//! This file is only the table of contents; each demo lives in the library module named after
//! its id, and `common::demo::run_chapter` does the dispatching.

use std::process::ExitCode;

use ch04::*;
use common::demo::{Demo, run_chapter};

const DEMOS: &[Demo] = &[
    Demo::new(
        "naive-hyper-client",
        "Integrating hyper into Our Async Runtime",
        naive_hyper_client::run,
    )
    .with_usage("[--url URL]"),
    Demo::new(
        "custom-executor",
        "Integrating hyper into Our Async Runtime",
        custom_executor::run,
    ),
    Demo::new(
        "custom-connector",
        "Building an HTTP Connection",
        custom_connector::run,
    )
    .with_usage("[--url URL]"),
    Demo::new(
        "hyper-read-adapter",
        "Implementing the Tokio AsyncRead Trait",
        hyper_read_adapter::run,
    )
    .with_usage("[--url URL]"),
    Demo::new(
        "hyper-write-adapter",
        "Implementing the Tokio AsyncWrite Trait",
        hyper_write_adapter::run,
    )
    .with_usage("[--url URL]"),
    Demo::new(
        "hyper-client-fetch",
        "Connecting and Running Our Client",
        hyper_client_fetch::run,
    )
    .with_usage("[--url URL]"),
    Demo::new(
        "hyper-tokio-server",
        "Introducing mio",
        hyper_tokio_server::run,
    )
    .with_usage("[--serve ADDR]"),
    Demo::new(
        "mio-server-future",
        "Polling Sockets in Futures; Sending Data over the Socket",
        mio_server_future::run,
    ),
    Demo::new(
        "mio-tcp-server",
        "Polling Sockets in Futures",
        mio_tcp_server::run,
    )
    .with_usage("[--serve ADDR]"),
    Demo::new(
        "http1-handshake",
        "Extra: hyper's low-level client connection",
        http1_handshake::run,
    )
    .with_usage("[--url URL]"),
    Demo::new(
        "mio-unix-datagram",
        "Extra: mio Unix datagrams",
        mio_unix_datagram::run,
    ),
];

fn main() -> ExitCode {
    run_chapter("ch04", DEMOS)
}
