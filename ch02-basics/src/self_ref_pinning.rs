//! `self-ref-pinning`: why `poll` takes `Pin<&mut Self>` (book section "Pinning in Futures").
//!
//! A value that holds a pointer into itself breaks as soon as it moves: the bytes go to the new
//! place, the pointer still names the old one. Async blocks are exactly such values: a local that
//! lives across an `.await` is stored inside the future, and a reference to it is stored next to
//! it. `Pin<P>` is a promise that the value behind the pointer `P` will not move again (unless its
//! type is `Unpin`, i.e. does not care), and `Future::poll` asks for that promise before it runs
//! any of the state machine.
//!
//! The demo has three parts, all in safe code (this module has no `unsafe`, and never reads
//! through a raw pointer):
//!
//! 1. The book's [`SelfReferential`], its pointer made correct with [`SelfReferential::repoint`],
//!    then moved into a `Box`: the pointer still holds the old address, so it is stale.
//! 2. [`PinnedSelfRef`], which opts out of `Unpin` with `PhantomPinned` and is only handed out as
//!    `Pin<Box<_>>`: pushed into a `Vec` that reallocates, only the box pointer moves, and the value's
//!    self-pointer stays valid.
//! 3. Pinning costs nothing for `Unpin` types: `Pin::new(&mut counter)` polls a `CounterFuture`
//!    in place; an `async` block is not `Unpin` and must be pinned first, with `std::pin::pin!`
//!    (on the stack) or `Box::pin`.
//!
//! What cannot be done is checked by the compiler, in doc tests on [`assert_unpin`] and
//! [`PinnedSelfRef`] that must fail to compile.
//!
//! Run it with `cargo run -p ch02 -- self-ref-pinning`.
//!
//! How we differ from the book: its `print` dereferences the stale pointer. That is undefined
//! behaviour, so "likely a segmentation fault" is only one possible outcome: the book's exact
//! code, built with rustc 1.95 on x86-64, crashed in a debug build, printed an empty line with
//! `-O`, and garbage at opt-level 1. We compare addresses instead. The book's prose also speaks of
//! swapping two instances while the code moves one, and says pinning matters because futures are
//! paused and resumed; the real reason is that a polled future may hold references into itself.

use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::{Pin, pin};
use std::ptr;
use std::task::{Context, Poll, Waker};

use common::CounterFuture;
use common::demo::{Args, DemoResult};

/// The book's self-referential struct: a `String` and a raw pointer meant to point at it.
#[derive(Debug)]
pub struct SelfReferential {
    data: String,
    self_pointer: *const String,
}

impl SelfReferential {
    /// Builds the struct and points `self_pointer` at its `data`, as the book does.
    pub fn new(data: String) -> SelfReferential {
        let mut sr = SelfReferential {
            data,
            self_pointer: ptr::null(),
        };
        sr.self_pointer = &sr.data as *const String;
        // Book: returning `sr` by value is itself a move, so the pointer may already name a slot
        // in this function's finished stack frame, one the next call will overwrite; we call
        // `repoint` after construction so that the demo starts from a correct pointer.
        sr
    }

    /// Points `self_pointer` at `data` where the struct is now.
    pub fn repoint(&mut self) {
        self.self_pointer = &self.data;
    }

    /// Where `data` is now.
    pub fn data_address(&self) -> *const String {
        &self.data
    }

    /// Where `self_pointer` says `data` is.
    pub fn pointer_target(&self) -> *const String {
        self.self_pointer
    }

    /// Whether the self-pointer no longer points at `data`: comparing addresses is safe, reading
    /// through the pointer is not.
    pub fn is_stale(&self) -> bool {
        !ptr::eq(self.self_pointer, &self.data)
    }

    // Book: `print` reads the string through `self_pointer` in an `unsafe` block. After a move
    // that reads freed or reused memory, undefined behaviour, so we leave it out and compare
    // addresses with `is_stale` instead.
}

/// The book's `main`, made observable: build, repoint, move, and report the two addresses.
///
/// Returns `(pointer target, data address after the move, stale)`.
pub fn moved_first() -> (*const String, *const String, bool) {
    // Book: the prose announces two instances swapped in memory; the code builds one and moves
    // it, and so do we.
    let mut first = SelfReferential::new("first".to_string());
    first.repoint();
    // Book: `let moved_first = first;` moves on the stack, where the compiler may reuse the same
    // slot, so the move might not change the address at all; moving into a `Box` puts the value on
    // the heap, which is certainly somewhere else.
    let moved_first = Box::new(first);
    (
        moved_first.pointer_target(),
        moved_first.data_address(),
        moved_first.is_stale(),
    )
}

/// A self-referential struct done right: it is not `Unpin`, and it only exists pinned on the heap.
///
/// The pointer is set after the value has reached its final place (inside the `Box`) and before
/// the box is pinned; from then on `Pin` forbids every safe way of moving the value out. Swapping
/// two of them does not compile, because `Pin<Box<T>>` hands out `&mut T` only for `T: Unpin`:
///
/// ```compile_fail,E0596
/// use ch02::self_ref_pinning::PinnedSelfRef;
/// let mut a = PinnedSelfRef::new("a".to_string());
/// let mut b = PinnedSelfRef::new("b".to_string());
/// std::mem::swap(&mut *a, &mut *b); // moves the two values: rejected
/// ```
///
/// Swapping the two `Pin<Box<_>>` handles is fine: only the boxes (pointers) move, the values stay.
///
/// ```
/// use ch02::self_ref_pinning::PinnedSelfRef;
/// let mut a = PinnedSelfRef::new("a".to_string());
/// let mut b = PinnedSelfRef::new("b".to_string());
/// std::mem::swap(&mut a, &mut b);
/// assert_eq!((a.data(), b.data()), ("b", "a"));
/// assert!(a.is_intact() && b.is_intact());
/// ```
// Book: the section says pinning matters because futures are paused and resumed; what needs it is
// self-reference: an async block's state may point into itself across an await, so it must not
// move once polled, and `Future::poll` takes `Pin<&mut Self>` to be sure.
#[derive(Debug)]
pub struct PinnedSelfRef {
    data: String,
    self_pointer: *const String,
    _pin: PhantomPinned,
}

impl PinnedSelfRef {
    /// Puts the value in its box, points it at itself, then pins the box.
    pub fn new(data: String) -> Pin<Box<PinnedSelfRef>> {
        let mut boxed = Box::new(PinnedSelfRef {
            data,
            self_pointer: ptr::null(),
            _pin: PhantomPinned,
        });
        boxed.self_pointer = &boxed.data;
        Box::into_pin(boxed)
    }

    /// The string (read from the field, not through the pointer).
    pub fn data(&self) -> &str {
        &self.data
    }

    /// Where `data` is now.
    pub fn data_address(&self) -> *const String {
        &self.data
    }

    /// Whether the self-pointer still points at `data`.
    pub fn is_intact(&self) -> bool {
        ptr::eq(self.self_pointer, &self.data)
    }
}

/// Compiles only for `Unpin` types: most types, but not `PinnedSelfRef` and not an async block.
///
/// ```
/// use ch02::self_ref_pinning::assert_unpin;
/// assert_unpin::<i32>();
/// assert_unpin::<String>();
/// assert_unpin::<common::CounterFuture>();
/// ```
///
/// ```compile_fail,E0277
/// ch02::self_ref_pinning::assert_unpin::<ch02::self_ref_pinning::PinnedSelfRef>();
/// ```
///
/// ```compile_fail,E0277
/// fn unpin_value<T: Unpin>(_: &T) {}
/// unpin_value(&async {});
/// ```
pub fn assert_unpin<T: Unpin>() {}

/// Part 3: polls an `Unpin` future through `Pin::new`, and an async block through `pin!`.
///
/// Returns the two results (`CounterFuture::new(1)` gives 1, the block gives 2).
pub fn poll_both() -> (Poll<u32>, Poll<u32>) {
    let mut cx = Context::from_waker(Waker::noop());

    let mut counter = CounterFuture::new(1);
    let counter_poll = Pin::new(&mut counter).poll(&mut cx);

    // `Pin::new(&mut block)` would not compile: an async block is not `Unpin`. `pin!` moves it
    // into a local it never leaves again and gives back `Pin<&mut _>`.
    let block = pin!(async { 1 + 1 });
    let block_poll = block.poll(&mut cx);
    (counter_poll, block_poll)
}

/// Runs the demo: `self-ref-pinning` (no arguments).
pub fn run(args: Args) -> DemoResult {
    args.finish()?;

    println!("1. SelfReferential, pointer repointed, then moved into a Box");
    let (target, data, stale) = moved_first();
    println!("   self_pointer → {target:p}");
    println!("   data is now at {data:p}");
    println!("   stale: {stale} (reading through it now would be undefined behaviour)");

    println!("\n2. PinnedSelfRef inside Pin<Box<_>>, in a Vec that reallocates");
    let mut pinned = Vec::with_capacity(1);
    pinned.push(PinnedSelfRef::new("first".to_string()));
    let before = pinned[0].data_address();
    let capacity = pinned.capacity();
    for n in 0..8 {
        pinned.push(PinnedSelfRef::new(format!("filler {n}")));
    }
    println!(
        "   Vec capacity {capacity} → {}: its buffer moved, the boxes it holds did not",
        pinned.capacity()
    );
    println!(
        "   data at {before:p} before, {:p} after",
        pinned[0].data_address()
    );
    println!(
        "   stale: {}, data() = {:?}",
        !pinned[0].is_intact(),
        pinned[0].data()
    );

    println!("\n3. Pinning an Unpin value costs nothing; an async block must be pinned first");
    let (counter, block) = poll_both();
    println!("   Pin::new(&mut CounterFuture::new(1)).poll(..) = {counter:?}");
    println!("   pin!(async {{ 1 + 1 }}).poll(..) = {block:?}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_self_referential_points_at_its_old_place() {
        let mut first = SelfReferential::new("first".to_string());
        first.repoint();
        assert!(!first.is_stale());
        let moved = Box::new(first);
        assert!(moved.is_stale());
        assert_ne!(moved.pointer_target(), moved.data_address());
        assert!(moved_first().2);
    }

    #[test]
    fn a_pinned_self_ref_survives_vec_reallocation() {
        let mut pinned = vec![PinnedSelfRef::new("first".to_string())];
        let address = pinned[0].data_address();
        let buffer = pinned.as_ptr();
        for n in 0..64 {
            pinned.push(PinnedSelfRef::new(n.to_string()));
        }
        assert_ne!(pinned.as_ptr(), buffer, "the Vec reallocated");
        assert_eq!(pinned[0].data_address(), address);
        assert!(pinned[0].is_intact());
        assert_eq!(pinned[0].data(), "first");
    }

    #[test]
    fn common_types_are_unpin_and_poll_through_pin_new() {
        assert_unpin::<i32>();
        assert_unpin::<String>();
        assert_unpin::<CounterFuture>();
        assert_eq!(poll_both(), (Poll::Ready(1), Poll::Ready(2)));
    }
}
