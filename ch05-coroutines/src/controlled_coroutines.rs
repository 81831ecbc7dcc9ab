//! `controlled-coroutines` (book section "Controlling Coroutines"): the caller decides who runs,
//! reads their state between resumes, and kills them.
//!
//! A [`RandCoroutine`] yields a random number from 0 to 10 each time it is resumed; that is all it
//! knows. Every rule lives outside it, in [`play`] on the calling thread: resume each live
//! coroutine in turn, add what it yields to a total, and kill it (set its public `live` to false)
//! when its value falls below a cutoff, until none is left. Because resuming is an explicit call,
//! the caller holds all the control, reads and writes the coroutines' public state between
//! resumes, and needs no locks. A lower cutoff is harder to fall below, so the coroutines live
//! longer and the total grows: the demo shows it for cutoffs 9, 5 and 2.
//!
//! Each coroutine owns a random generator seeded from `--seed` and its index, so a run can be
//! repeated and tested.
//!
//! Run it with `cargo run -p ch05 -- controlled-coroutines [--seed S] [--cutoff C]` (defaults
//! 7 and the book's 9; C from 1 to 11).

use std::fmt;
use std::pin::Pin;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use common::demo::{Args, DemoResult};

use crate::coroutine::{Coroutine, CoroutineState};

/// A coroutine that yields a fresh random value from 0 to 10 on every resume and never
/// completes. `value` and `live` are public: the caller reads the one and sets the other.
#[derive(Debug, Clone)]
pub struct RandCoroutine {
    /// The last value generated (and yielded).
    pub value: u8,
    /// Whether the caller still resumes it; the coroutine itself never looks at this.
    pub live: bool,
    rng: SmallRng,
}

impl RandCoroutine {
    /// A live coroutine whose values come from `seed`; like the book's, it generates its first
    /// value at once.
    // Book: `new()` called `rand::thread_rng()` on every `generate`, so no two runs agreed and
    // nothing could be tested; ours owns a `SmallRng` seeded by the caller (rand 0.8's
    // `gen_range` is rand 0.10's `RngExt::random_range`).
    pub fn new(seed: u64) -> Self {
        let mut coroutine = Self {
            value: 0,
            live: true,
            rng: SmallRng::seed_from_u64(seed),
        };
        coroutine.generate();
        coroutine
    }

    fn generate(&mut self) {
        self.value = self.rng.random_range(0..=10);
    }
}

impl Coroutine<()> for RandCoroutine {
    type Yield = u8;
    type Return = ();

    fn resume(mut self: Pin<&mut Self>, _: ()) -> CoroutineState<u8, ()> {
        self.generate();
        CoroutineState::Yielded(self.value)
    }
}

/// What one round of [`play`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Round {
    /// What each coroutine still alive at the start of the round yielded, in order.
    pub yields: Vec<u8>,
    /// How many were still alive at the end of the round.
    pub alive_after: usize,
    /// The running total after the round.
    pub total: u32,
}

/// The end of a game: the total and the log of rounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Game {
    /// The sum of every value yielded.
    pub total: u32,
    /// One entry per round in which some coroutine was alive.
    pub rounds: Vec<Round>,
}

/// Why [`play`] refused or gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlayError {
    /// The cutoff is outside 1..=11: 0 would never kill anything (values are never below 0).
    BadCutoff(u8),
    /// Some coroutine was still alive after [`MAX_ROUNDS`] rounds.
    TooManyRounds,
}

impl fmt::Display for PlayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlayError::BadCutoff(cutoff) => write!(
                f,
                "cutoff {cutoff}: it must be 1 to 11, or no value (0..=10) ever falls below it"
            ),
            PlayError::TooManyRounds => write!(f, "still alive after {MAX_ROUNDS} rounds"),
        }
    }
}

impl std::error::Error for PlayError {}

/// The most rounds [`play`] runs before giving up.
pub const MAX_ROUNDS: usize = 1_000;

/// The book's `main` loop: resumes every live coroutine once per round, adds its value to the
/// total and kills it if the value is below `cutoff` (the book's 9), until all are dead.
// Book: the loop had no way out if the rule never fired (a cutoff of 0 spins forever); ours
// rejects a cutoff outside 1..=11 before any resume and gives up after `MAX_ROUNDS` rounds.
pub fn play(coroutines: &mut [RandCoroutine], cutoff: u8) -> Result<Game, PlayError> {
    if !(1..=11).contains(&cutoff) {
        return Err(PlayError::BadCutoff(cutoff));
    }
    let mut total: u32 = 0;
    let mut rounds = Vec::new();
    loop {
        let mut all_dead = true;
        let mut yields = Vec::new();
        // `coroutine` is a `&mut RandCoroutine`, and `Pin::new(&mut coroutine)` pins a
        // `&mut &mut RandCoroutine`: that compiles (and needs the `mut` binding) only because
        // the trait, like std's, is implemented for `&mut G` when `G: Unpin`.
        for mut coroutine in coroutines.iter_mut() {
            if coroutine.live {
                all_dead = false;
                match Pin::new(&mut coroutine).resume(()) {
                    CoroutineState::Yielded(result) => {
                        total += u32::from(result);
                        yields.push(result);
                    }
                    CoroutineState::Complete(()) => unreachable!("a RandCoroutine never completes"),
                }
                if coroutine.value < cutoff {
                    coroutine.live = false;
                }
            }
        }
        if all_dead {
            break;
        }
        if rounds.len() == MAX_ROUNDS {
            return Err(PlayError::TooManyRounds);
        }
        let alive_after = coroutines.iter().filter(|c| c.live).count();
        rounds.push(Round {
            yields,
            alive_after,
            total,
        });
    }
    Ok(Game { total, rounds })
}

/// Ten fresh coroutines, seeded `seed`, `seed + 1`, …, `seed + 9`.
pub fn ten_coroutines(seed: u64) -> Vec<RandCoroutine> {
    (0..10)
        .map(|i| RandCoroutine::new(seed.wrapping_add(i)))
        .collect()
}

/// Runs the demo.
pub fn run(mut args: Args) -> DemoResult {
    let seed = args.value_or("seed", 7u64)?;
    let cutoff = args.value_in("cutoff", 9u8, 1..=11)?;
    args.finish()?;

    println!("ten RandCoroutines (seed {seed}), killed when their value falls below {cutoff}:");
    let game = play(&mut ten_coroutines(seed), cutoff)?;
    for (i, round) in game.rounds.iter().enumerate() {
        println!(
            "  round {:>2}: yields {:?} -> {} alive, total {}",
            i + 1,
            round.yields,
            round.alive_after,
            round.total
        );
    }
    println!("Total: {}", game.total);

    println!("the same seed with other cutoffs (a lower cutoff is harder to fall below):");
    for cutoff in [9, 5, 2] {
        let game = play(&mut ten_coroutines(seed), cutoff)?;
        println!(
            "  cutoff {cutoff}: {} rounds, total {}",
            game.rounds.len(),
            game.total
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_game() -> Result<(), PlayError> {
        let a = play(&mut ten_coroutines(7), 9)?;
        let b = play(&mut ten_coroutines(7), 9)?;
        assert_eq!(a, b);
        assert_eq!(a.rounds.last().map(|r| r.total), Some(a.total));
        Ok(())
    }

    #[test]
    fn a_lower_cutoff_never_gives_a_lower_total() -> Result<(), PlayError> {
        for seed in 0..100 {
            let totals: Vec<u32> = [2, 5, 9]
                .into_iter()
                .map(|cutoff| play(&mut ten_coroutines(seed), cutoff).map(|g| g.total))
                .collect::<Result<_, _>>()?;
            assert!(
                totals[0] >= totals[1] && totals[1] >= totals[2],
                "seed {seed}: {totals:?}"
            );
        }
        Ok(())
    }

    #[test]
    fn cutoff_11_kills_everyone_in_round_one() -> Result<(), PlayError> {
        let game = play(&mut ten_coroutines(3), 11)?;
        assert_eq!(game.rounds.len(), 1);
        let round = &game.rounds[0];
        assert_eq!(round.yields.len(), 10);
        assert_eq!(round.alive_after, 0);
        let sum: u32 = round.yields.iter().map(|&v| u32::from(v)).sum();
        assert_eq!(game.total, sum);
        Ok(())
    }

    #[test]
    fn every_yield_is_between_0_and_10() -> Result<(), PlayError> {
        for seed in 0..20 {
            let game = play(&mut ten_coroutines(seed), 2)?;
            assert!(game.rounds.iter().flat_map(|r| &r.yields).all(|&v| v <= 10));
        }
        let mut c = RandCoroutine::new(1);
        for _ in 0..1_000 {
            assert!(matches!(
                Pin::new(&mut c).resume(()),
                CoroutineState::Yielded(0..=10)
            ));
        }
        Ok(())
    }

    #[test]
    fn cutoff_0_is_rejected_before_any_resume() {
        let mut coroutines = ten_coroutines(5);
        let before: Vec<u8> = coroutines.iter().map(|c| c.value).collect();
        assert_eq!(play(&mut coroutines, 0), Err(PlayError::BadCutoff(0)));
        assert_eq!(play(&mut coroutines, 12), Err(PlayError::BadCutoff(12)));
        let after: Vec<u8> = coroutines.iter().map(|c| c.value).collect();
        assert_eq!(before, after);
        assert!(coroutines.iter().all(|c| c.live));
    }
}
