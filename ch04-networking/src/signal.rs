//! Helper: Ctrl-C for the `--serve` modes of `hyper-tokio-server` and `mio-tcp-server`, with
//! tokio's own signal support (feature `signal`) and no extra crate.
//!
//! A server started with `--serve ADDR` runs until the reader presses Ctrl-C (SIGINT; on Unix
//! SIGTERM too, what a plain `kill` sends), then stops cleanly: it closes its connections, prints
//! its statistics and exits with code 0. The handlers are installed *before* the servers print
//! their address, so a signal sent as soon as the address appears is never missed.

use std::future::Future;
use std::io;
use std::thread;

/// A future that completes at the first Ctrl-C (or SIGTERM on Unix).
///
/// The signal handlers are installed when this function returns, not when the future is first
/// polled. Call it inside a tokio runtime (it needs the runtime's signal driver).
pub fn interrupted() -> io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// Calls `on_signal` on a thread of its own (named `ctrl-c`) at the first Ctrl-C (or SIGTERM on
/// Unix), for programs that do not run on tokio. Returns once the handlers are installed.
///
/// The thread runs a tiny current-thread tokio runtime that does nothing but wait for the signal.
pub fn on_interrupt(on_signal: impl FnOnce() + Send + 'static) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let signal = {
        let _context = runtime.enter();
        interrupted()?
    };
    thread::Builder::new()
        .name("ctrl-c".into())
        .spawn(move || {
            runtime.block_on(signal);
            on_signal();
        })?;
    Ok(())
}
