//! Seeded random numbers and the numbers file (shared module, not a demo; first used in book
//! section "Why Use Coroutines?").
//!
//! Why Use Coroutines? writes 200,000 random `i32` to numbers.txt, and Stacking Our Coroutines and
//! Calling a Coroutine from a Coroutine copy that file. Ours makes the numbers from a seed, so a
//! rerun, a test and the bench all see the same ones, and writes the file wherever it is told (a
//! temp dir), never into the working directory.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// How many numbers the demos write unless `--count` says otherwise (the book: 200,000).
pub const DEFAULT_COUNT: usize = 20_000;

/// The seed the demos use unless `--seed` says otherwise.
pub const DEFAULT_SEED: u64 = 5;

/// `count` random `i32` (the whole range, as the book's `rng.gen::<i32>()`), the same for the same
/// seed.
///
/// ```
/// let a = ch05::numbers::random_numbers(3, 5);
/// assert_eq!(a, ch05::numbers::random_numbers(3, 5));
/// assert_ne!(a, ch05::numbers::random_numbers(3, 6));
/// ```
pub fn random_numbers(count: usize, seed: u64) -> Vec<i32> {
    // Book: rand 0.8's unseeded `thread_rng().gen()` becomes rand 0.10's seeded `SmallRng` and
    // `RngExt::random`, so reruns, tests and the bench write the same numbers.
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..count).map(|_| rng.random::<i32>()).collect()
}

/// Writes `numbers` to `path`, one per line, replacing any old file (buffered: this is set-up,
/// not the thing being measured).
pub fn write_numbers_file(path: &Path, numbers: &[i32]) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    for n in numbers {
        writeln!(out, "{n}")?;
    }
    // An explicit flush, so a write error is returned here rather than lost in `drop`.
    out.flush()
}

/// Reads a numbers file back: one `i32` per line; a bad line is an `InvalidData` error naming
/// its line number.
pub fn read_numbers_file(path: &Path) -> io::Result<Vec<i32>> {
    let reader = BufReader::new(File::open(path)?);
    let mut numbers = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        numbers.push(parse_line(&line?, index + 1)?);
    }
    Ok(numbers)
}

/// Parses one line of a numbers file (surrounding spaces and a `\r` are ignored); a failure is
/// an `InvalidData` error that names `line_number` (counted from 1).
pub fn parse_line(line: &str, line_number: usize) -> io::Result<i32> {
    line.trim().parse().map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "line {line_number}: {:?} is not a number ({e})",
                line.trim()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_reproducible_and_span_both_signs() {
        let a = random_numbers(1_000, DEFAULT_SEED);
        assert_eq!(a, random_numbers(1_000, DEFAULT_SEED));
        assert!(a.iter().any(|n| *n < 0) && a.iter().any(|n| *n > 0));
    }

    #[test]
    fn a_written_file_reads_back_the_same_numbers() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("numbers.txt");
        let numbers = random_numbers(100, 1);
        write_numbers_file(&path, &numbers)?;
        assert_eq!(read_numbers_file(&path)?, numbers);
        Ok(())
    }

    #[test]
    fn a_bad_line_is_invalid_data_naming_the_line() {
        assert_eq!(parse_line(" -12\r", 1).ok(), Some(-12));
        let err = parse_line("x", 7).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("line 7"), "{err}");
    }
}
