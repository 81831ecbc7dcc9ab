//! `XorShift`: deterministic pseudo-random numbers with no dependency.
//!
//! Shuffles, property tests and load generators across the chapters want numbers that look random
//! and repeat exactly for a seed, without pulling in a crate (chapter 10 is std only). This is
//! Marsaglia's xorshift64 with the `*` output multiply (xorshift64*): one state word, a few
//! instructions per number, good enough for tests and shuffles, not for anything secret.
//!
//! ```
//! use common::xorshift::XorShift;
//! let mut a = XorShift::new(7);
//! let mut b = XorShift::new(7);
//! assert_eq!(a.next_u64(), b.next_u64()); // the same seed, the same numbers
//! let dice: Vec<u64> = (0..100).map(|_| a.below(6)).collect();
//! assert!(dice.iter().all(|&d| d < 6));
//! ```

/// A xorshift64* generator.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator for `seed`. Zero, which xorshift can never leave, is replaced by a constant.
    ///
    /// ```
    /// let mut zero = common::xorshift::XorShift::new(0);
    /// assert_ne!(zero.next_u64(), 0);
    /// ```
    pub fn new(seed: u64) -> XorShift {
        XorShift(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    ///
    /// ```
    /// let mut rng = common::xorshift::XorShift::new(1);
    /// assert_ne!(rng.next_u64(), rng.next_u64());
    /// ```
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..bound` (`bound > 0`): the high 64 bits of `random × bound`, which is cheaper
    /// than `random % bound` (a division) and as even.
    ///
    /// ```
    /// let mut rng = common::xorshift::XorShift::new(3);
    /// assert!((0..1000).all(|_| rng.below(10) < 10));
    /// ```
    pub fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// `len` random bytes.
    ///
    /// ```
    /// let mut rng = common::xorshift::XorShift::new(5);
    /// assert_eq!(rng.bytes(16).len(), 16);
    /// ```
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| (self.next_u64() >> 56) as u8).collect()
    }
}
