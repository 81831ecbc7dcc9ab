//! Helper (not a lesson of its own): catch a panic and keep its message.
//!
//! mockall, mockito and loom report a failed expectation the way `assert!` does: they panic. A
//! test wants exactly that. The guided tour (`cargo run -p ch11`) wants to *show* the complaint
//! and carry on, so the demos run the failing step inside [`std::panic::catch_unwind`] and print
//! the message. Rust's panic hook still prints the panic on stderr first (we leave the process-wide
//! hook alone), so [`show_panic`] announces it before it happens.

use std::fmt::Debug;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `f`; a panic comes back as `Err` with its message instead of unwinding further.
///
/// `AssertUnwindSafe` is fine here: whatever `f` touched is dropped or only read afterwards to
/// report what happened.
///
/// ```
/// let caught = ch11::caught::catch_panic(|| -> i32 { panic!("mock said no") });
/// assert_eq!(caught, Err("mock said no".to_string()));
/// assert_eq!(ch11::caught::catch_panic(|| 7), Ok(7));
/// ```
pub fn catch_panic<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| panic_message(payload.as_ref()))
}

/// The text of a panic payload: `panic!` with a literal gives a `&str`, with arguments a `String`.
///
/// ```
/// let payload: Box<dyn std::any::Any + Send> = Box::new(String::from("formatted 42"));
/// assert_eq!(ch11::caught::panic_message(payload.as_ref()), "formatted 42");
/// ```
pub use common::panic::message as panic_message;

/// For the tour: says a panic message is coming, runs `f` under [`catch_panic`], and prints what
/// was caught (each line indented), or the value if nothing panicked.
pub fn show_panic<R: Debug>(f: impl FnOnce() -> R) -> Result<R, String> {
    println!("     (a panic message follows on stderr: expected, and caught)");
    let _ = std::io::stdout().flush();
    let outcome = catch_panic(f);
    let _ = std::io::stderr().flush();
    match &outcome {
        Err(message) => {
            let mut lines = message
                .trim()
                .lines()
                .filter(|line| !line.trim().is_empty());
            println!("     caught: {}", lines.next().unwrap_or(""));
            for line in lines {
                println!("             {line}");
            }
        }
        Ok(value) => println!("     no panic, returned {value:?}"),
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_formatted_panic_comes_back_as_its_message() {
        let n = 5;
        let caught = catch_panic::<()>(|| panic!("spawn({n}): No matching expectation found"));
        assert_eq!(
            caught,
            Err("spawn(5): No matching expectation found".to_string())
        );
    }

    #[test]
    fn show_panic_returns_the_value_when_nothing_panics() {
        assert_eq!(show_panic(|| 16), Ok(16));
        assert_eq!(
            show_panic(|| -> u8 { panic!("boom") }),
            Err("boom".to_string())
        );
    }
}
