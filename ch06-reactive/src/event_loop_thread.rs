//! `event-loop-thread`: callbacks that do not block the caller, run by an event-loop thread
//! (book section "Getting User Input via Callbacks", Figure 6-3; the book has no listing here).
//!
//! A callback called directly runs on the caller's thread (`callback-basics`). An *event loop* is a
//! thread that waits for events, here the callbacks themselves, and runs each one in turn, so
//! whoever submits a callback gets its thread back at once. When the caller wants a result, the
//! callback carries a channel back to it: the shape the book describes for Node.js.
//!
//! Run it with `cargo run -p ch06 -- event-loop-thread [--work-ms 50]`: main submits three
//! callbacks, prints `main keeps going` at once, then receives the three results, each computed on
//! the thread `event-loop`; a timeline chart shows main's submit and the three callbacks running
//! one after another on the loop thread.
//!
//! One loop thread runs callbacks one at a time and in the order submitted (FIFO). A callback that
//! takes long delays every callback behind it: that is why Node hands slow work to a thread pool.

use std::error::Error;
use std::fmt;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use common::Timeline;
use common::demo::{Args, DemoResult};
use common::timeline::current_thread_name;

/// One event for the loop: a callback to run once, from any thread.
pub type Callback = Box<dyn FnOnce() + Send + 'static>;

/// An event-loop thread: [`EventLoop::submit`] queues a callback, the thread `event-loop` runs the
/// callbacks one by one. Dropping the `EventLoop` lets it finish what is queued, then joins it.
pub struct EventLoop {
    events: Option<mpsc::Sender<Callback>>,
    thread: Option<JoinHandle<()>>,
}

impl EventLoop {
    /// Starts the loop thread, named `event-loop`.
    pub fn start() -> std::io::Result<EventLoop> {
        let (events, incoming) = mpsc::channel::<Callback>();
        let thread = thread::Builder::new()
            .name("event-loop".into())
            .spawn(move || {
                // Parked inside `recv` while there is nothing to do; ends once every sender is gone
                // and the queue is empty.
                for callback in incoming {
                    callback();
                }
            })?;
        Ok(EventLoop {
            events: Some(events),
            thread: Some(thread),
        })
    }

    /// Queues `callback` and returns at once; the loop thread runs it after those queued before it.
    /// Fails only if the loop thread has died (a callback panicked).
    pub fn submit(&self, callback: impl FnOnce() + Send + 'static) -> Result<(), LoopStopped> {
        let events = self.events.as_ref().ok_or(LoopStopped)?;
        events.send(Box::new(callback)).map_err(|_| LoopStopped)
    }

    /// Closes the queue and waits until the loop has run everything queued. An error if a callback
    /// panicked (the loop thread died with it).
    pub fn stop(mut self) -> Result<(), LoopStopped> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<(), LoopStopped> {
        drop(self.events.take()); // the loop's `for` ends once the queue is drained
        match self.thread.take() {
            Some(thread) => thread.join().map_err(|_| LoopStopped),
            None => Ok(()),
        }
    }
}

impl Drop for EventLoop {
    fn drop(&mut self) {
        // A panic in a callback was already reported on stderr by the loop thread; nothing to add.
        let _ = self.shut_down();
    }
}

/// The event loop is no longer running: a callback panicked and took the loop thread with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopStopped;

impl fmt::Display for LoopStopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the event loop has stopped (a callback panicked)")
    }
}

impl Error for LoopStopped {}

/// A result a callback sends back to whoever submitted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Which callback (0, 1, 2).
    pub index: u32,
    /// What it computed: `42 + index`.
    pub value: u32,
    /// The thread it ran on.
    pub thread: String,
}

/// A callback's work: `work` of pretend effort, then `42 + index` sent back on `replies`.
pub fn callback_for(
    index: u32,
    work: Duration,
    replies: mpsc::Sender<Reply>,
    timeline: Timeline,
) -> impl FnOnce() + Send + 'static {
    move || {
        let _running = timeline.span(format!("callback {index}"));
        thread::sleep(work); // stands in for real work; it occupies only the loop thread
        // The receiver is gone only if the submitter stopped listening: nothing to report to.
        let _ = replies.send(Reply {
            index,
            value: 42 + index,
            thread: current_thread_name(),
        });
    }
}

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let work = Duration::from_millis(args.value_in("work-ms", 50, 0..=2_000)?);
    args.finish()?;

    let timeline = Timeline::new();
    let event_loop = EventLoop::start()?;
    let (replies, results) = mpsc::channel();
    timeline.time("main: submit", || {
        (0..3).try_for_each(|index| {
            event_loop.submit(callback_for(index, work, replies.clone(), timeline.clone()))
        })
    })?;
    drop(replies);
    timeline.time("main: keeps going", || println!("main keeps going"));

    let _waiting = timeline.span("main: waits for replies");
    for reply in results.iter().take(3) {
        println!(
            "callback {} sent back {} from thread `{}`",
            reply.index, reply.value, reply.thread
        );
    }
    drop(_waiting);
    event_loop.stop()?;
    println!("\nwho ran when:");
    print!("{}", timeline.render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Barrier, Mutex};

    /// Runs `test` on a thread and fails if it takes longer than 10 s (a deadlock would hang).
    fn with_watchdog(test: impl FnOnce() + Send + 'static) {
        let (done, finished) = mpsc::channel();
        let runner = thread::spawn(move || {
            test();
            let _ = done.send(());
        });
        match finished.recv_timeout(Duration::from_secs(10)) {
            Ok(()) => runner.join().unwrap(),
            // The test thread panicked (the sender dropped without sending): re-raise its panic.
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                if let Err(panic) = runner.join() {
                    std::panic::resume_unwind(panic);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("the event loop test hung"),
        }
    }

    #[test]
    fn submit_returns_before_any_callback_finishes_and_replies_come_back_in_order() {
        with_watchdog(|| {
            let log = Arc::new(Mutex::new(Vec::<String>::new()));
            let event_loop = EventLoop::start().unwrap();
            let (replies, results) = mpsc::channel();
            // Only the first callback waits for main: the other two queue behind it on the one
            // loop thread, so if submitting blocked until a callback ran, main would never reach
            // the barrier.
            let gate = Arc::new(Barrier::new(2));
            for index in 0..3u32 {
                let (log, gate, replies) = (log.clone(), gate.clone(), replies.clone());
                event_loop
                    .submit(move || {
                        if index == 0 {
                            gate.wait();
                        }
                        log.lock().unwrap().push(format!("callback {index} done"));
                        let _ = replies.send((index, current_thread_name()));
                    })
                    .unwrap();
            }
            log.lock().unwrap().push("main submitted".into());
            gate.wait();
            drop(replies);
            let got: Vec<(u32, String)> = results.iter().collect();

            let indices: Vec<u32> = got.iter().map(|(i, _)| *i).collect();
            assert_eq!(indices, [0, 1, 2], "one loop thread runs callbacks FIFO");
            let here = current_thread_name();
            for (_, thread) in &got {
                assert_eq!(thread, "event-loop");
                assert_ne!(*thread, here);
            }
            assert_eq!(
                *log.lock().unwrap(),
                [
                    "main submitted",
                    "callback 0 done",
                    "callback 1 done",
                    "callback 2 done"
                ]
            );
        });
    }

    #[test]
    fn dropping_the_loop_runs_what_is_queued_then_joins_the_thread() {
        with_watchdog(|| {
            let ran = Arc::new(AtomicBool::new(false));
            let event_loop = EventLoop::start().unwrap();
            let flag = ran.clone();
            event_loop
                .submit(move || {
                    thread::sleep(Duration::from_millis(20));
                    flag.store(true, Ordering::SeqCst);
                })
                .unwrap();
            drop(event_loop);
            // Drop returned only after the thread ended, so the queued callback has run.
            assert!(ran.load(Ordering::SeqCst));
            assert_eq!(Arc::strong_count(&ran), 1, "the callback was consumed");
        });
    }

    #[test]
    fn a_panicking_callback_ends_the_loop_and_stop_reports_it() {
        with_watchdog(|| {
            let event_loop = EventLoop::start().unwrap();
            let (went, gone) = mpsc::channel::<()>();
            event_loop
                .submit(move || {
                    let _went = went; // dropped while unwinding: tells the test the thread is gone
                    panic!("a callback fails on purpose");
                })
                .unwrap();
            assert!(gone.recv().is_err());
            // The thread may still be unwinding; once joined, the loop reports the panic.
            assert_eq!(event_loop.stop(), Err(LoopStopped));
        });
    }

    #[test]
    fn the_demo_callbacks_reply_42_plus_their_index_from_the_loop_thread() {
        with_watchdog(|| {
            let timeline = Timeline::new();
            let event_loop = EventLoop::start().unwrap();
            let (replies, results) = mpsc::channel();
            for index in 0..3 {
                event_loop
                    .submit(callback_for(
                        index,
                        Duration::ZERO,
                        replies.clone(),
                        timeline.clone(),
                    ))
                    .unwrap();
            }
            drop(replies);
            let values: Vec<u32> = results.iter().map(|r| r.value).collect();
            assert_eq!(values, [42, 43, 44]);
            event_loop.stop().unwrap();
            let spans = timeline.spans();
            assert_eq!(spans.len(), 3);
            assert!(spans.iter().all(|s| s.thread == "event-loop"));
            // One thread, one at a time: the callbacks never overlap.
            assert!(!spans[0].overlaps(&spans[1]) && !spans[1].overlaps(&spans[2]));
        });
    }
}
