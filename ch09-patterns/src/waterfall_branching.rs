//! `waterfall-branching`: the same async steps, routed by a value (book section "Waterfall Design
//! Pattern").
//!
//! A waterfall's steps are ordinary async functions, so ordinary control flow between the awaits
//! can route a value down different paths built from the same blocks: here the output of
//! [`task1`] goes to [`task2`] (which doubles it) when it is above 10, and to [`task3`] (which adds
//! 100) otherwise. The gap between two steps is also where metrics or logs slot in; [`branching`]
//! records each step's output in a [`Step`] list there.
//!
//! Run it with `cargo run -p ch09 -- waterfall-branching [--seed N]`: seeds 5 and 20 (or just N)
//! run through the chain, each printing the path it took and the value, then a negative seed
//! shows an error in the first step ending the chain before either branch runs.
//!
//! How we differ from the book: its listing branches on `output1 > 10`, which, read against the
//! `String` tasks just before it, compares a `String` with a number; it assumes `i32` versions of
//! the tasks that it never shows. We write them, and give `task1` a seed so both paths can run.

use common::demo::{Args, DemoResult};

use crate::waterfall_chain::BoxError;

/// The result of the `i32` steps: the value, or any error that can cross threads.
pub type BranchResult = Result<i32, BoxError>;

/// The book's branching `main`, as a function of the seed that [`task1`] starts from: the value
/// from step one goes to [`task2`] if it is above 10, else to [`task3`]. Between the steps, the
/// chain records each output in `metrics`.
///
/// ```
/// use ch09::waterfall_branching::branching;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut metrics = Vec::new();
/// assert_eq!(branching(20, &mut metrics).await.unwrap(), 40); // above 10: doubled
/// assert_eq!(branching(5, &mut metrics).await.unwrap(), 105); // not above 10: plus 100
/// # }
/// ```
pub async fn branching(seed: i32, metrics: &mut Vec<Step>) -> BranchResult {
    let output1 = task1(seed).await?;
    metrics.push(Step::new("task1", output1));
    // Book: `let output2: i32;` assigned in each branch; an `if` expression says the same thing
    // and cannot leave the variable unassigned.
    let output2 = if output1 > 10 {
        let output = task2(output1).await?;
        metrics.push(Step::new("task2", output));
        output
    } else {
        let output = task3(output1).await?;
        metrics.push(Step::new("task3", output));
        output
    };
    Ok(output2)
}

/// Step one: checks the seed and passes it on; a negative seed is an error.
// Book: branches on `output1 > 10` with `i32` tasks it never shows (against the previous listing's
// `String` tasks the comparison does not compile); these three are ours, and `task1` takes a seed
// so that both paths can run.
pub async fn task1(seed: i32) -> BranchResult {
    if seed < 0 {
        return Err(format!("task1: the seed must not be negative, got {seed}").into());
    }
    Ok(seed)
}

/// The path for values above 10: doubles the input (an overflow is an error, not a panic).
pub async fn task2(input: i32) -> BranchResult {
    input
        .checked_mul(2)
        .ok_or_else(|| format!("task2: {input} doubled overflows an i32").into())
}

/// The path for values up to 10: adds 100 to the input.
pub async fn task3(input: i32) -> BranchResult {
    input
        .checked_add(100)
        .ok_or_else(|| format!("task3: {input} + 100 overflows an i32").into())
}

/// One step's output, recorded between steps: the "metrics" the book says can slot in there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Which task produced the value.
    pub task: &'static str,
    /// What it produced.
    pub output: i32,
}

impl Step {
    /// A record of `task` producing `output`.
    pub fn new(task: &'static str, output: i32) -> Self {
        Step { task, output }
    }
}

/// Describes a run for the demo: `task1 → 20, task2 → 40`.
fn path(metrics: &[Step]) -> String {
    metrics
        .iter()
        .map(|s| format!("{} → {}", s.task, s.output))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs the demo: `waterfall-branching [--seed N]`.
#[tokio::main(flavor = "current_thread")]
pub async fn run(mut args: Args) -> DemoResult {
    let seed: Option<i32> = args.value("seed")?;
    args.finish()?;

    let seeds = match seed {
        Some(seed) => vec![seed],
        None => vec![5, 20, -1],
    };
    for seed in seeds {
        let mut metrics = Vec::new();
        match branching(seed, &mut metrics).await {
            Ok(value) => println!("seed {seed:>3}: {} = {value}", path(&metrics)),
            Err(err) => println!(
                "seed {seed:>3}: stopped after {} step(s): {err}",
                metrics.len()
            ),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn route(seed: i32) -> (Result<i32, String>, Vec<Step>) {
        let mut metrics = Vec::new();
        let result = branching(seed, &mut metrics)
            .await
            .map_err(|e| e.to_string());
        (result, metrics)
    }

    #[tokio::test]
    async fn above_ten_takes_the_task2_path() {
        let (result, metrics) = route(20).await;
        assert_eq!(result, Ok(40));
        assert_eq!(metrics, [Step::new("task1", 20), Step::new("task2", 40)]);
    }

    #[tokio::test]
    async fn up_to_ten_takes_the_task3_path() {
        let (result, metrics) = route(5).await;
        assert_eq!(result, Ok(105));
        assert_eq!(metrics, [Step::new("task1", 5), Step::new("task3", 105)]);

        // 10 is not above 10.
        let (result, metrics) = route(10).await;
        assert_eq!(result, Ok(110));
        assert_eq!(metrics[1].task, "task3");
    }

    #[tokio::test]
    async fn an_error_in_task1_ends_the_chain_before_any_branch() {
        let (result, metrics) = route(-3).await;
        assert_eq!(
            result,
            Err("task1: the seed must not be negative, got -3".to_string())
        );
        assert!(metrics.is_empty(), "{metrics:?}");
    }

    #[tokio::test]
    async fn an_error_in_a_branch_comes_back_too() {
        let (result, metrics) = route(i32::MAX).await;
        assert!(result.unwrap_err().contains("overflows"));
        assert_eq!(metrics, [Step::new("task1", i32::MAX)]);
    }

    #[test]
    fn the_demo_runs() {
        run(Args::from_iter([])).unwrap();
        run(Args::from_iter(["--seed", "11"])).unwrap();
        assert!(run(Args::from_iter(["--seed", "eleven"])).is_err());
    }
}
