//! Waiting for a socket without spinning: [`Readiness`], backed by a `poll(2)` reactor thread.
//!
//! A non-blocking read or write that returns `WouldBlock` must not simply wake its own task
//! again (that is a busy loop with extra steps, as in the book's sender and receiver). The task
//! needs something that calls its waker once the socket is ready. `std` has no readiness API —
//! that is what `mio` (epoll, kqueue, IOCP) gives tokio — so this file picks one of three
//! std-only designs:
//!
//! - **a `poll(2)` reactor** (used on Unix): one thread blocks in the C library's `poll` over
//!   every registered socket plus a wake-up socket, and wakes the tasks whose sockets became
//!   ready. An idle server costs nothing and a wake is immediate. The price: one small
//!   `unsafe` FFI declaration, a wake-up write and a context switch per registration, and
//!   `poll` rescans the whole list each time (fine for thousands of sockets, not a million).
//! - **a bounded back-off** (used elsewhere, or if the reactor cannot start): after a
//!   `WouldBlock` the task sleeps on the timer for 50 µs, doubling to a 50 ms cap, then tries
//!   again. Portable and simple, but every idle socket is re-checked up to 20 times a second
//!   and a reply can wait up to 50 ms after a quiet spell.
//! - **helper threads** doing blocking reads: instant wakes and no idle cost, but a thread per
//!   connection, and since `try_clone` shares `O_NONBLOCK`, writes would need helpers too.
//!
//! Use: after an operation returned `WouldBlock`, call [`Readiness::poll_ready`]; on `Pending`
//! return `Pending`, on `Ready` retry the operation. `poll(2)` is level-triggered, so a socket
//! that became ready between the `WouldBlock` and the registration is reported at once: no
//! wake-up is lost.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::sleep::Sleep;

/// What a task waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interest {
    /// Data to read, or a peer that closed (a read will not block).
    Readable,
    /// Room in the send buffer (a write will not block).
    Writable,
}

/// Something [`Readiness`] can wait on: any socket (`TcpStream`, `TcpListener`, …).
#[cfg(unix)]
pub trait Source: std::os::fd::AsRawFd {}
#[cfg(unix)]
impl<T: std::os::fd::AsRawFd + ?Sized> Source for T {}

/// Something [`Readiness`] can wait on (without a reactor every socket uses the back-off).
#[cfg(not(unix))]
pub trait Source {}
#[cfg(not(unix))]
impl<T: ?Sized> Source for T {}

/// How long the back-off waits first, and at most.
pub const BACKOFF_START: Duration = Duration::from_micros(50);
/// The back-off's cap: an idle socket is re-checked at most 20 times a second.
pub const BACKOFF_CAP: Duration = Duration::from_millis(50);

/// One wait for a socket to become readable or writable. Reusable: after it reported
/// `Ready`, the next [`poll_ready`](Readiness::poll_ready) starts a new wait.
///
/// It stores only the socket's descriptor, not a borrow: if the socket closes while
/// registered, the reactor sees an invalid descriptor and wakes the task (harmless).
#[derive(Debug)]
pub struct Readiness {
    #[cfg(unix)]
    fd: std::os::fd::RawFd,
    #[cfg_attr(not(unix), allow(dead_code))] // only the reactor needs it
    interest: Interest,
    state: State,
    /// The next back-off sleep (only used without a reactor).
    backoff: Duration,
}

#[derive(Debug)]
enum State {
    Idle,
    #[cfg(unix)]
    Registered(u64),
    Backoff(Sleep),
}

impl Readiness {
    /// A wait for `interest` on `source`; nothing is registered until the first poll.
    pub fn new<S: Source + ?Sized>(source: &S, interest: Interest) -> Self {
        #[cfg(not(unix))]
        let _ = source;
        Readiness {
            #[cfg(unix)]
            fd: source.as_raw_fd(),
            interest,
            state: State::Idle,
            backoff: BACKOFF_START,
        }
    }

    /// `Pending` (with the waker registered) until the socket is ready; then `Ready` once,
    /// after which the wait is reset. Call it only after the operation returned `WouldBlock`.
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.state {
            State::Idle => {
                #[cfg(unix)]
                if let Some(key) = sys::register(self.fd, self.interest, cx.waker()) {
                    self.state = State::Registered(key);
                    return Poll::Pending;
                }
                let mut sleep = Sleep::new(self.backoff);
                let _ = Pin::new(&mut sleep).poll(cx); // registers with the timer
                self.state = State::Backoff(sleep);
                Poll::Pending
            }
            #[cfg(unix)]
            State::Registered(key) => {
                if sys::check(*key, cx.waker()) {
                    self.state = State::Idle;
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            }
            State::Backoff(sleep) => match Pin::new(&mut *sleep).poll(cx) {
                Poll::Ready(()) => {
                    // The next wait of this `Readiness` waits twice as long, up to the cap.
                    self.backoff = (self.backoff * 2).min(BACKOFF_CAP);
                    self.state = State::Idle;
                    Poll::Ready(())
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    /// Starts the back-off again from [`BACKOFF_START`] (call it after the operation made
    /// progress). Without a reactor, the waits of one `Readiness` double until this is called.
    pub fn reset(&mut self) {
        self.backoff = BACKOFF_START;
    }

    /// Which mechanism a wait on this platform uses: `"poll(2) reactor"` or `"back-off"`.
    pub fn mechanism() -> &'static str {
        #[cfg(unix)]
        if sys::available() {
            return "poll(2) reactor";
        }
        "back-off"
    }
}

impl Future for Readiness {
    type Output = ();

    /// Awaiting a fresh `Readiness` waits for the socket (it registers on the first poll).
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().poll_ready(cx)
    }
}

impl Drop for Readiness {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let State::Registered(key) = self.state {
            sys::deregister(key);
        }
    }
}

/// Waits until `source` is readable (`Readiness::new(source, Interest::Readable).await`).
pub fn readable<S: Source + ?Sized>(source: &S) -> Readiness {
    Readiness::new(source, Interest::Readable)
}

/// Waits until `source` is writable (`Readiness::new(source, Interest::Writable).await`).
pub fn writable<S: Source + ?Sized>(source: &S) -> Readiness {
    Readiness::new(source, Interest::Writable)
}

/// Counters of the reactor thread, for tests and demos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReactorStats {
    /// Waits registered so far.
    pub registrations: u64,
    /// Tasks woken because their socket became ready.
    pub wakes: u64,
    /// Times the reactor thread returned from `poll(2)`.
    pub loops: u64,
    /// Registrations currently waiting.
    pub waiting: usize,
}

/// The reactor's counters (all zero where there is no reactor).
pub fn stats() -> ReactorStats {
    #[cfg(unix)]
    return sys::stats();
    #[cfg(not(unix))]
    ReactorStats::default()
}

#[cfg(unix)]
mod sys {
    //! The `poll(2)` reactor: a registry of waits and the thread that polls them.

    use std::collections::HashMap;
    use std::ffi::{c_int, c_short};
    use std::io::{self, Read, Write};
    use std::os::fd::{AsRawFd, RawFd};
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
    use std::task::Waker;
    use std::thread;
    use std::time::Duration;

    use super::{Interest, ReactorStats};

    /// `struct pollfd` from `<poll.h>`: the same layout on every Unix.
    #[repr(C)]
    struct PollFd {
        fd: c_int,
        events: c_short,
        revents: c_short,
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    type NfdsT = std::ffi::c_ulong;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    type NfdsT = std::ffi::c_uint;

    const POLLIN: c_short = 0x1;
    const POLLOUT: c_short = 0x4;

    // SAFETY: this is the C library's `int poll(struct pollfd *fds, nfds_t nfds, int timeout)`,
    // which std already links on every Unix; `PollFd` and `NfdsT` match its C types.
    unsafe extern "C" {
        fn poll(fds: *mut PollFd, nfds: NfdsT, timeout: c_int) -> c_int;
    }

    struct Reactor {
        state: Mutex<Registry>,
        /// A wake-up byte is in flight (so registrations do not write one each).
        notified: AtomicBool,
        /// Writing here makes the reactor's `poll` return, so it picks up new registrations.
        wake_tx: UnixStream,
    }

    #[derive(Default)]
    struct Registry {
        waits: HashMap<u64, Wait>,
        next_key: u64,
        registrations: u64,
        wakes: u64,
        loops: u64,
    }

    struct Wait {
        fd: RawFd,
        events: c_short,
        waker: Option<Waker>,
        fired: bool,
    }

    impl Reactor {
        fn lock(&self) -> MutexGuard<'_, Registry> {
            // Wakers run outside this lock, so a poisoned lock still holds a consistent map.
            self.state.lock().unwrap_or_else(PoisonError::into_inner)
        }
    }

    static REACTOR: OnceLock<Option<Reactor>> = OnceLock::new();

    /// The reactor, started on first use; `None` if it could not start (then waits back off).
    fn reactor() -> Option<&'static Reactor> {
        REACTOR.get_or_init(start).as_ref()
    }

    fn start() -> Option<Reactor> {
        let (wake_tx, wake_rx) = UnixStream::pair().ok()?;
        wake_tx.set_nonblocking(true).ok()?;
        wake_rx.set_nonblocking(true).ok()?;
        thread::Builder::new()
            .name("ch10-reactor".into())
            .spawn(move || {
                // Runs once `start` has returned and the `OnceLock` holds the reactor.
                if let Some(reactor) = REACTOR.wait() {
                    reactor_loop(reactor, &wake_rx);
                }
            })
            .ok()?;
        Some(Reactor {
            state: Mutex::new(Registry::default()),
            notified: AtomicBool::new(false),
            wake_tx,
        })
    }

    pub(super) fn available() -> bool {
        reactor().is_some()
    }

    fn reactor_loop(reactor: &'static Reactor, wake_rx: &UnixStream) {
        let mut fds: Vec<PollFd> = Vec::new();
        let mut keys: Vec<u64> = Vec::new();
        let mut wakers: Vec<Waker> = Vec::new();
        let mut sink = [0u8; 64];
        loop {
            // Clear the flag before draining: a registration after this point writes a new byte.
            reactor.notified.store(false, Ordering::SeqCst);
            while let Ok(n) = (&*wake_rx).read(&mut sink) {
                if n == 0 {
                    break;
                }
            }
            fds.clear();
            keys.clear();
            fds.push(PollFd {
                fd: wake_rx.as_raw_fd(),
                events: POLLIN,
                revents: 0,
            });
            for (key, wait) in &reactor.lock().waits {
                if !wait.fired {
                    fds.push(PollFd {
                        fd: wait.fd,
                        events: wait.events,
                        revents: 0,
                    });
                    keys.push(*key);
                }
            }
            // SAFETY: `fds` is a live, exclusively borrowed array of `fds.len()` `PollFd`s laid
            // out as C's `struct pollfd`; `poll` only writes their `revents` fields. A
            // descriptor closed meanwhile is reported as POLLNVAL, never undefined behaviour.
            let n = unsafe { poll(fds.as_mut_ptr(), fds.len() as NfdsT, -1) };
            if n < 0 {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    eprintln!("ch10 reactor: poll failed: {err}; retrying in 10 ms");
                    thread::sleep(Duration::from_millis(10));
                }
                continue;
            }
            {
                let mut registry = reactor.lock();
                registry.loops += 1;
                for (pfd, key) in fds[1..].iter().zip(&keys) {
                    if pfd.revents == 0 {
                        continue;
                    }
                    // Any event (ready, error, hang-up, invalid) ends the wait: the retried
                    // operation then reports what happened.
                    if let Some(wait) = registry.waits.get_mut(key)
                        && !wait.fired
                    {
                        wait.fired = true;
                        wakers.extend(wait.waker.take());
                    }
                }
                registry.wakes += wakers.len() as u64;
            }
            for waker in wakers.drain(..) {
                waker.wake();
            }
        }
    }

    pub(super) fn register(fd: RawFd, interest: Interest, waker: &Waker) -> Option<u64> {
        let reactor = reactor()?;
        let key = {
            let mut registry = reactor.lock();
            let key = registry.next_key;
            registry.next_key += 1;
            registry.registrations += 1;
            let events = match interest {
                Interest::Readable => POLLIN,
                Interest::Writable => POLLOUT,
            };
            registry.waits.insert(
                key,
                Wait {
                    fd,
                    events,
                    waker: Some(waker.clone()),
                    fired: false,
                },
            );
            key
        };
        if !reactor.notified.swap(true, Ordering::SeqCst) {
            // A full wake-up socket already holds bytes the reactor will see: ignore errors.
            let _ = (&reactor.wake_tx).write(&[1]);
        }
        Some(key)
    }

    /// True (and the wait removed) if it fired; otherwise stores the newest waker.
    pub(super) fn check(key: u64, waker: &Waker) -> bool {
        let Some(reactor) = reactor() else {
            return true;
        };
        let mut registry = reactor.lock();
        match registry.waits.get_mut(&key) {
            Some(wait) if !wait.fired => {
                match &mut wait.waker {
                    Some(stored) if stored.will_wake(waker) => {}
                    slot => *slot = Some(waker.clone()),
                }
                false
            }
            _ => {
                let removed = registry.waits.remove(&key);
                drop(registry);
                drop(removed);
                true
            }
        }
    }

    pub(super) fn deregister(key: u64) {
        if let Some(reactor) = reactor() {
            let removed = reactor.lock().waits.remove(&key);
            // A wait that has not fired is in the set the reactor is blocked on, and `poll(2)`
            // holds a reference to every file it polls until it returns: a socket closed now
            // would stay open (no FIN sent) until some other event. Make the reactor rebuild
            // its set without it. (Added by the part-2 helper: a timed-out connection was never
            // closed on an idle server.)
            if removed.as_ref().is_some_and(|wait| !wait.fired)
                && !reactor.notified.swap(true, Ordering::SeqCst)
            {
                let _ = (&reactor.wake_tx).write(&[1]);
            }
            drop(removed); // its waker is dropped outside the lock
        }
    }

    pub(super) fn stats() -> ReactorStats {
        match reactor() {
            Some(reactor) => {
                let registry = reactor.lock();
                ReactorStats {
                    registrations: registry.registrations,
                    wakes: registry.wakes,
                    loops: registry.loops,
                    waiting: registry.waits.len(),
                }
            }
            None => ReactorStats::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{self, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::mpsc;
    use std::task::Poll;
    use std::thread;
    use std::time::{Duration, Instant};

    use common::timeline::CountPolls;

    use super::*;
    use crate::async_runtime::Executor;
    use crate::async_runtime::test_support::within;

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    /// Reads until `n` bytes arrived, waiting on `Readiness` after each `WouldBlock`; sends a
    /// note on `waiting` each time it returns `Pending`.
    async fn read_n(
        stream: TcpStream,
        n: usize,
        waiting: Option<mpsc::Sender<()>>,
    ) -> io::Result<Vec<u8>> {
        stream.set_nonblocking(true)?;
        let mut wait = Readiness::new(&stream, Interest::Readable);
        let mut got = Vec::new();
        let mut chunk = [0u8; 1024];
        std::future::poll_fn(|cx| {
            loop {
                match (&stream).read(&mut chunk) {
                    Ok(0) => return Poll::Ready(Ok(())),
                    Ok(k) => {
                        got.extend_from_slice(&chunk[..k]);
                        if got.len() >= n {
                            return Poll::Ready(Ok(()));
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        if wait.poll_ready(cx).is_pending() {
                            if let Some(tx) = &waiting {
                                let _ = tx.send(());
                            }
                            return Poll::Pending;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
        })
        .await?;
        Ok(got)
    }

    #[test]
    fn a_read_waits_without_spinning_and_wakes_when_bytes_arrive() {
        let (client, server) = pair();
        let (got, polls, elapsed) = within(Duration::from_secs(10), move || {
            let (tx, waiting) = mpsc::channel();
            let mut executor = Executor::new();
            let reader = CountPolls::new(read_n(server, 10, Some(tx)));
            let polls = reader.counter();
            let handle = executor.spawn(reader);
            let started = Instant::now();
            // Each write happens only once the reader is registered and waiting.
            let writer = thread::spawn(move || {
                waiting.recv().unwrap();
                thread::sleep(Duration::from_millis(50));
                (&client).write_all(b"hello").unwrap();
                waiting.recv().unwrap();
                thread::sleep(Duration::from_millis(50));
                (&client).write_all(b"world").unwrap();
                client
            });
            executor.run();
            let _client = writer.join().unwrap();
            let got = handle.join().unwrap().unwrap();
            (got, polls.get(), started.elapsed())
        });
        assert_eq!(got, b"helloworld");
        assert!(elapsed >= Duration::from_millis(100), "{elapsed:?}");
        // One poll to start and one per write: 100 ms of waiting cost no polls at all.
        assert_eq!(polls, 3);
        assert_eq!(Readiness::mechanism(), "poll(2) reactor");
    }

    #[test]
    fn a_closed_peer_wakes_the_reader_with_eof() {
        let (client, server) = pair();
        let got = within(Duration::from_secs(10), move || {
            let mut executor = Executor::new();
            let handle = executor.spawn(read_n(server, 10, None));
            let closer = thread::spawn(move || {
                thread::sleep(Duration::from_millis(30));
                drop(client);
            });
            executor.run();
            closer.join().unwrap();
            handle.join().unwrap().unwrap()
        });
        assert!(got.is_empty());
    }

    #[test]
    fn an_abandoned_wait_ends_cleanly() {
        let (_client, server) = pair();
        server.set_nonblocking(true).unwrap();
        let waiting = within(Duration::from_secs(10), move || {
            let mut executor = Executor::new();
            let handle = executor.spawn(async move {
                let wait = readable(&server);
                // Give up after 20 ms: the readiness wait is dropped unfinished.
                let mut wait = std::pin::pin!(wait);
                let mut timeout =
                    std::pin::pin!(crate::async_runtime::Sleep::new(Duration::from_millis(20)));
                std::future::poll_fn(|cx| {
                    if wait.as_mut().poll(cx).is_ready() {
                        return Poll::Ready("ready");
                    }
                    timeout.as_mut().poll(cx).map(|()| "timed out")
                })
                .await
            });
            executor.run();
            handle.join().unwrap()
        });
        assert_eq!(waiting, "timed out");
    }
}
