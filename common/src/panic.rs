//! `panic`: the text inside a panic payload.
//!
//! `catch_unwind`, `JoinHandle::join` and every runtime that turns a task's panic into an error hand
//! back the panic's payload as `Box<dyn Any + Send>`. `panic!("boom")` puts a `&'static str` in it,
//! `panic!("{x}")` a `String`, and `std::panic::panic_any` anything at all. Several chapters print
//! or compare that text; these two functions read it the same way everywhere.
//!
//! ```
//! let payload = std::panic::catch_unwind(|| panic!("boom {}", 7)).unwrap_err();
//! assert_eq!(common::panic::text(payload.as_ref()), Some("boom 7"));
//! assert_eq!(common::panic::message(payload.as_ref()), "boom 7");
//! ```

use std::any::Any;

/// The payload's text, if it is a `&'static str` or a `String`.
///
/// ```
/// let literal: Box<dyn std::any::Any + Send> = Box::new("boom");
/// assert_eq!(common::panic::text(literal.as_ref()), Some("boom"));
/// let number: Box<dyn std::any::Any + Send> = Box::new(42);
/// assert_eq!(common::panic::text(number.as_ref()), None);
/// ```
pub fn text(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

/// The payload's text, or [`NOT_TEXT`] when the panic carried something else.
///
/// ```
/// let number: Box<dyn std::any::Any + Send> = Box::new(42);
/// assert_eq!(common::panic::message(number.as_ref()), common::panic::NOT_TEXT);
/// ```
pub fn message(payload: &(dyn Any + Send)) -> String {
    text(payload).unwrap_or(NOT_TEXT).to_string()
}

/// What [`message`] says of a payload that is not text.
///
/// ```
/// assert!(common::panic::NOT_TEXT.starts_with('('));
/// ```
pub const NOT_TEXT: &str = "(a panic payload that is not text)";
