//! `data-layer`: decoding hostile frames never allocates more than the frame bound.
//!
//! This test binary installs a counting global allocator that records the largest single
//! allocation made by the current thread while tracking is on. The book's decoder would ask for
//! `vec![0u8; 4294967295]` on a string length of `ff ff ff ff`; ours must stay within
//! `MAX_FRAME_LEN` whatever arrives.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Cursor;

use ch10::data_layer::XorShift;
use ch10::data_layer::data::{Data, MAX_FIELD3_LEN, MAX_FRAME_LEN, decode_frame};

struct Counting;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the bookkeeping touches
// only const-initialised thread-locals without destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same layout, same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with this layout (every allocation is).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: forwarded unchanged; `ptr` came from `System` with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn note(size: usize) {
    let _ = TRACKING.try_with(|tracking| {
        if tracking.get() {
            let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
        }
    });
}

/// The largest single allocation `f` made on this thread.
fn largest_allocation(f: impl FnOnce()) -> usize {
    LARGEST.with(|l| l.set(0));
    TRACKING.with(|t| t.set(true));
    f();
    TRACKING.with(|t| t.set(false));
    LARGEST.with(Cell::get)
}

fn decode_both(bytes: &[u8]) {
    let _ = decode_frame(bytes);
    let _ = Data::deserialize(&mut Cursor::new(bytes));
}

#[test]
fn hostile_lengths_allocate_nothing_big() {
    let mut rng = XorShift::new(42);
    // `ff ff ff ff` as the frame length, followed by up to 100 kB of junk.
    let mut huge_prefix = vec![0xff; 4];
    huge_prefix.extend(rng.bytes(100_000));
    // `ff ff ff ff` as the string length inside a frame that claims the maximum body.
    let mut huge_string = (MAX_FRAME_LEN as u32).to_be_bytes().to_vec();
    huge_string.extend([0, 0, 0, 1, 0, 2, 0xff, 0xff, 0xff, 0xff]);
    huge_string.extend(rng.bytes(100_000));
    let inputs = [huge_prefix, huge_string];
    let largest = largest_allocation(|| {
        for bytes in &inputs {
            for cut in [4, 14, 1_000, bytes.len()] {
                decode_both(&bytes[..cut]);
            }
        }
    });
    assert!(
        largest <= MAX_FRAME_LEN,
        "largest allocation {largest} bytes"
    );
}

#[test]
fn random_bytes_allocate_at_most_the_bound_and_the_counter_works() {
    let mut rng = XorShift::new(9);
    let inputs: Vec<Vec<u8>> = (0..2_000)
        .map(|_| {
            let len = rng.below(70_000) as usize;
            rng.bytes(len)
        })
        .collect();
    let largest = largest_allocation(|| inputs.iter().for_each(|b| decode_both(b)));
    assert!(
        largest <= MAX_FRAME_LEN,
        "largest allocation {largest} bytes"
    );

    // Control: the biggest legal frame does allocate its string, so the counter sees it.
    let big = Data {
        field1: 1,
        field2: 2,
        field3: "y".repeat(MAX_FIELD3_LEN),
    }
    .serialize()
    .unwrap();
    let largest = largest_allocation(|| decode_both(&big));
    assert_eq!(largest, MAX_FIELD3_LEN);
}
