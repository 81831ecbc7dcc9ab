//! Chapter 4 of *Async Rust*, "Integrating Networking into Our Own Async Runtime": hyper 1.x and
//! mio on chapter 3's runtime (`ch03::runtime`, reused as a dependency).
//!
//! Run every demo with `cargo run -p ch04`, list them with `cargo run -p ch04 -- list`, or run one
//! with `cargo run -p ch04 -- <id> [args…]`.
//!
//! A demo module uses another only for what that one teaches (`hyper-client-fetch` combines the
//! executor, the connector and the IO adapters, which is its lesson); the incidental pieces sit in
//! helper modules:
//!
//! | helper | what | used by |
//! |---|---|---|
//! | [`rt`] | starts chapter 3's runtime with the book's numbers | every demo that spawns |
//! | [`loopback`] | the local server standing in for rust-lang.org | the hyper demos |
//! | [`peer`] | a raw std socket peer (read to end and count, capture a request head, send in chunks) | `hyper-write-adapter`, the adapter and handshake tests |
//! | [`watchdog`] | run a future as a ch03 task, with a time limit | the hyper and mio demos and tests |
//! | [`raw_http`] | a blocking std HTTP/1.1 client that can also send garbage | the mio server demos and tests |
//! | [`signal`] | Ctrl-C (and SIGTERM) for `--serve`, on tokio's signal support | `hyper-tokio-server`, `mio-tcp-server` |
//! | `tls_fixture` (tests only) | a local rustls server with an rcgen certificate | the https tests |
//!
//! | book section | demos |
//! |---|---|
//! | Integrating hyper into Our Async Runtime | [`naive_hyper_client`], [`custom_executor`] |
//! | Building an HTTP Connection | [`custom_connector`] |
//! | Implementing the Tokio AsyncRead Trait | [`hyper_read_adapter`] |
//! | Implementing the Tokio AsyncWrite Trait | [`hyper_write_adapter`] |
//! | Connecting and Running Our Client | [`hyper_client_fetch`] |
//! | Introducing mio ("mio Versus hyper") | [`hyper_tokio_server`] |
//! | Polling Sockets in Futures; Sending Data over the Socket | [`mio_server_future`], [`mio_tcp_server`] |
//! | Extra: hyper's low-level client connection | [`http1_handshake`] |
//! | Extra: mio Unix datagrams | [`mio_unix_datagram`] |

pub mod rt;

pub mod loopback;
pub mod peer;
pub mod raw_http;
pub mod signal;
#[cfg(test)]
pub(crate) mod tls_fixture;
pub mod watchdog;

pub mod custom_connector;
pub mod custom_executor;
pub mod http1_handshake;
pub mod hyper_client_fetch;
pub mod hyper_read_adapter;
pub mod hyper_tokio_server;
pub mod hyper_write_adapter;
pub mod mio_server_future;
pub mod mio_tcp_server;
pub mod mio_unix_datagram;
pub mod naive_hyper_client;
