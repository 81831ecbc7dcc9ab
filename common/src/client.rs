//! The one place the book's reqwest clients are built (feature `client`).
//!
//! Chapters 1 and 9 fetch URLs with [reqwest]. They do not call `reqwest::Client::new()` directly
//! but [`client_for`] (or [`builder`], to add settings of their own), because a client built
//! for this workspace needs three things that are easy to forget and confusing when forgotten:
//!
//! 1. **A TLS crypto provider.** The workspace builds reqwest with `rustls-no-provider`: TLS by
//!    rustls, with the cryptography left to us, and we choose `ring`. Without a provider installed
//!    first, building a client *panics*; [`install_crypto_provider`] installs ring's, once, and
//!    [`builder`] calls it for you. Why rustls over ring: it needs nothing but a C compiler to
//!    build, where `native-tls` needs OpenSSL headers and `pkg-config` that a fresh machine often
//!    lacks; it still serves any `https://` URL a reader passes to a demo; and chapter 4's
//!    `futures-rustls` uses ring too, so the tree has one crypto crate rather than two.
//! 2. **No idle-connection timer.** reqwest closes pooled connections after 90 idle seconds, and
//!    keeps a timer for it. Under tokio's paused clock (`#[tokio::test(start_paused = true)]`),
//!    a runtime with nothing else to do jumps its clock straight to the next timer, so while a
//!    request waited for the real network, that timer moved the test's virtual clock 90 s ahead
//!    (measured; `tests/http_server.rs` checks it stays put) and wrecked any timing assertion. [`builder`] turns the timeout off with `pool_idle_timeout(None)`: the loopback
//!    server lives no longer than the test, so idle connections cost nothing.
//! 3. **No proxy for loopback URLs.** A reader with `HTTP_PROXY` set would otherwise send requests
//!    for `http://127.0.0.1:PORT/` — the [`crate::http`] server — to their proxy, which cannot
//!    reach it. [`client_for`] turns proxies off for loopback URLs only; other URLs keep the
//!    environment's proxy settings.
//!
//! ```
//! # #[cfg(feature = "http")] {
//! use common::http::{Reply, Server};
//!
//! let server = Server::builder().route("GET", "/hello", Reply::text("hello")).start()?;
//! let url = server.url("/hello");
//! let client = common::client::client_for(&url)?;
//!
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! let body = runtime.block_on(async { client.get(&url).send().await?.text().await })?;
//! assert_eq!(body, "hello");
//! assert_eq!(server.count("/hello"), 1);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [reqwest]: https://docs.rs/reqwest

use std::net::IpAddr;
use std::sync::Once;

/// Installs rustls's `ring` crypto provider as the process default, if none is installed yet.
///
/// reqwest (built with `rustls-no-provider`) panics when it builds a client before a provider is
/// installed. Calling this first is enough; [`builder`] and [`client_for`] do it for you. It is
/// cheap to call again, from any thread. If another provider was installed first (by a
/// dependency, say), that one stays: any provider will do.
///
/// ```
/// common::client::install_crypto_provider();
/// common::client::install_crypto_provider(); // harmless
/// assert!(rustls::crypto::CryptoProvider::get_default().is_some());
///
/// // Now even a client built without `builder()` works:
/// let client = reqwest::Client::builder().build();
/// assert!(client.is_ok());
/// ```
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // `Err` means a provider is already installed, which is all we need.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A [`reqwest::ClientBuilder`] with the crypto provider installed and the pool's idle timeout
/// turned off, for a chapter that wants to add settings of its own before `build()`.
///
/// The idle timeout is off because of tokio's paused clock: see the [module docs](self). Prefer
/// [`client_for`] when the client will talk to one known URL, so that loopback URLs bypass proxies.
///
/// ```
/// use std::time::Duration;
///
/// let client = common::client::builder()
///     .timeout(Duration::from_secs(5))
///     .user_agent("async-rust-book")
///     .build();
/// assert!(client.is_ok());
/// ```
pub fn builder() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder().pool_idle_timeout(None)
}

/// A client for requests to `url`: [`builder`]'s settings, plus no proxy if `url`'s host is a
/// loopback address (`127.0.0.0/8`, `[::1]` or `localhost`).
///
/// Only the host of `url` matters; the client can then fetch any URL, including other paths on
/// the same server. A URL that does not parse gets no special treatment: the request made with it
/// will report the error.
///
/// # Errors
///
/// Whatever [`reqwest::ClientBuilder::build`] fails with (in practice, a broken TLS backend).
///
/// ```
/// let client = common::client::client_for("http://127.0.0.1:1/");
/// assert!(client.is_ok());
/// ```
///
/// With the loopback server of [`crate::http`], on any tokio runtime:
///
/// ```
/// # #[cfg(feature = "http")] {
/// use common::http::{Reply, Server};
///
/// let server = Server::builder()
///     .route("GET", "/status", Reply::json(r#"{"ok": true}"#))
///     .start()?;
/// let client = common::client::client_for(&server.url("/"))?;
///
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// let response = runtime.block_on(client.get(server.url("/status")).send())?;
/// assert_eq!(response.status(), 200);
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn client_for(url: &str) -> reqwest::Result<reqwest::Client> {
    let builder = builder();
    let builder = if is_loopback(url) {
        builder.no_proxy()
    } else {
        builder
    };
    builder.build()
}

/// Whether `url` parses and names a loopback host.
fn is_loopback(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else {
        return false;
    };
    let Some(host) = url.host_str() else {
        return false;
    };
    // `host_str` writes IPv6 addresses in brackets (`[::1]`) and domain names in lower case.
    let ip = host
        .strip_prefix('[')
        .and_then(|host| host.strip_suffix(']'))
        .unwrap_or(host);
    host == "localhost" || ip.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_hosts_are_recognised() {
        for url in [
            "http://127.0.0.1:8080/",
            "http://127.1.2.3/x",
            "http://localhost/",
            "http://LOCALHOST:3000/a?b",
            "http://[::1]:8080/",
            "https://127.0.0.1/",
        ] {
            assert!(is_loopback(url), "{url} should be loopback");
        }
    }

    #[test]
    fn other_hosts_and_bad_urls_are_not() {
        for url in [
            "http://example.com/",
            "http://10.0.0.1/",
            "http://[2001:db8::1]/",
            "http://localhost.example.com/",
            "not a url",
            "",
            "127.0.0.1:8080",
        ] {
            assert!(!is_loopback(url), "{url} should not be loopback");
        }
    }
}
