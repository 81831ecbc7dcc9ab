//! Helper: start chapter 3's runtime the way the book's chapter 4 does.
//!
//! Every demo and test of this chapter calls [`start`] first. It always asks for the book's numbers
//! (`Runtime::new().with_low_num(2).with_high_num(4).run()`), so whichever demo or test starts the
//! global runtime first, the others find it running with the same numbers and `run` never reports a
//! conflict.

use ch03::runtime::{AlreadyRunning, Runtime};

/// Starts (or finds running) the global `ch03::runtime` with 4 high and 2 low workers.
///
/// ```
/// ch04::rt::start().unwrap();
/// ch04::rt::start().unwrap(); // a second call with the same numbers is fine
/// let task = ch03::spawn_task!(async { 6 * 7 });
/// assert_eq!(futures_lite::future::block_on(task), 42);
/// ```
pub fn start() -> Result<(), AlreadyRunning> {
    Runtime::new().with_low_num(2).with_high_num(4).run()
}
