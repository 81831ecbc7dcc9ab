//! Test helper: a TLS server on `127.0.0.1` with a certificate minted for the test.
//!
//! The https tests cannot reach a real site, and a real site's certificate would not help a test
//! that must also see a certificate being *rejected*. So each [`TlsServer`] makes a fresh
//! self-signed certificate with rcgen (subject alternative names `localhost` and `127.0.0.1`),
//! serves rustls on a std listener (blocking sockets, a thread per connection), and hands the
//! certificate to the client side through [`TlsServer::roots`], for
//! `CustomConnector::with_roots`. A connector with the public roots rejects it: unknown issuer.
//!
//! After the handshake the connection goes to the test's handler (any of [`crate::peer`]'s
//! behaviours works, since a rustls stream is `Read + Write`); afterwards the server sends TLS's
//! `close_notify`, so the client sees a clean end of stream.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};

use futures_rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use futures_rustls::rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};

use crate::peer::IO_TIMEOUT;

/// One accepted TLS connection, after its handshake.
pub(crate) type TlsConn = StreamOwned<ServerConnection, TcpStream>;

type Handler = dyn Fn(&mut TlsConn) -> io::Result<()> + Send + Sync;

/// A running TLS server; dropping it stops accepting (connections in progress finish).
pub(crate) struct TlsServer {
    addr: SocketAddr,
    cert: CertificateDer<'static>,
    stop: Arc<AtomicBool>,
    accept_loop: Option<JoinHandle<()>>,
}

impl TlsServer {
    /// Starts the server; every connection, once its handshake is done, goes to `handler`.
    pub(crate) fn start(
        handler: impl Fn(&mut TlsConn) -> io::Result<()> + Send + Sync + 'static,
    ) -> TlsServer {
        let minted = rcgen::generate_simple_self_signed(["localhost".into(), "127.0.0.1".into()])
            .expect("rcgen makes a certificate");
        let cert = minted.cert.der().clone();
        let key =
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(minted.signing_key.serialize_der()));
        let provider = Arc::new(futures_rustls::rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .expect("rustls accepts rcgen's certificate");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);

        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let accept_loop = {
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (config, handler) = (Arc::clone(&config), Arc::clone(&handler));
                    thread::spawn(move || {
                        // A failed handshake (the client rejected our certificate) or a client
                        // that went away only ends this connection.
                        let _ = serve(stream, config, &*handler);
                    });
                }
            })
        };
        TlsServer {
            addr,
            cert,
            stop,
            accept_loop: Some(accept_loop),
        }
    }

    /// Where the server listens.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://{host}:PORT{path}`; `host` is `localhost` or `127.0.0.1` (the certificate's names).
    pub(crate) fn url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.addr.port())
    }

    /// A root store trusting exactly this server's certificate.
    pub(crate) fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.cert.clone())
            .expect("rcgen's certificate is a valid trust anchor");
        roots
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking `accept` so the loop sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept_loop) = self.accept_loop.take() {
            let _ = accept_loop.join();
        }
    }
}

/// Handshake, hand over, then close the TLS session cleanly.
fn serve(tcp: TcpStream, config: Arc<ServerConfig>, handler: &Handler) -> io::Result<()> {
    tcp.set_read_timeout(Some(IO_TIMEOUT))?;
    tcp.set_write_timeout(Some(IO_TIMEOUT))?;
    let session = ServerConnection::new(config).map_err(io::Error::other)?;
    let mut conn = StreamOwned::new(session, tcp);
    while conn.conn.is_handshaking() {
        conn.conn.complete_io(&mut conn.sock)?;
    }
    handler(&mut conn)?;
    conn.conn.send_close_notify();
    conn.flush()
}

/// A handler that answers one HTTP request with `200 OK`, `body` and `Connection: close`.
pub(crate) fn http_ok(body: &'static str) -> impl Fn(&mut TlsConn) -> io::Result<()> {
    move |conn| {
        crate::peer::read_head(conn)?;
        write!(
            conn,
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )?;
        conn.flush()
    }
}
