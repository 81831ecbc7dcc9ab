//! `waterfall-chain`: async steps that feed each other, stopped by the first error (book section
//! "Waterfall Design Pattern").
//!
//! A waterfall, or chain of responsibility, is a row of async tasks where each one takes the
//! previous one's output. In Rust it needs no machinery at all: the tasks share one result type,
//! so `?` after each `.await` passes a success on to the next task and returns the first error
//! from the whole chain. Nothing after a failed step runs.
//!
//! Run it with `cargo run -p ch09 -- waterfall-chain [--fail-at N]`. It runs the book's chain,
//! which prints `Task 1 completed, then Task 2 completed, and finally Task 3 completed`, and then
//! the same chain built from [`Steps`], which count their calls and make task N fail (default 2;
//! `--fail-at 0` for none): you see the error and that the tasks after N were never called.
//!
//! How we differ from the book: its `format!` strings do not compile (a stray quote), and its
//! error type, `Box<dyn Error>`, is not `Send`, so a chain using it cannot be spawned on a
//! multi-thread runtime. Ours is `Box<dyn Error + Send + Sync>`, and a test spawns the chain.

use std::error::Error;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::demo::{Args, DemoResult};

/// The error every step may return: any error that can cross threads.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// The result every step of the waterfall returns, so that `?` chains them.
// Book: `Result<String, Box<dyn std::error::Error>>`. Without `Send + Sync` the error (and so any
// future holding one across an await) cannot move between threads: `tokio::spawn` rejects it.
pub type WaterFallResult = Result<String, BoxError>;

/// The first step: produces the value the others build on.
pub async fn task1() -> WaterFallResult {
    Ok("Task 1 completed".to_string())
}

/// The second step: extends what the first produced.
pub async fn task2(input: String) -> WaterFallResult {
    // Book: `format!("{}", then Task 2 completed", input)`, a misplaced quote that does not compile.
    Ok(format!("{input}, then Task 2 completed"))
}

/// The third step: extends what the second produced.
pub async fn task3(input: String) -> WaterFallResult {
    Ok(format!("{input}, and finally Task 3 completed"))
}

/// The book's `main`: each output feeds the next task, and `?` ends the chain at the first error.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let result = ch09::waterfall_chain::waterfall().await.unwrap();
/// assert_eq!(result, "Task 1 completed, then Task 2 completed, and finally Task 3 completed");
/// # }
/// ```
pub async fn waterfall() -> WaterFallResult {
    let output1 = task1().await?;
    let output2 = task2(output1).await?;
    let result = task3(output2).await?;
    // Book: prints here and returns `Ok(())` (in a separate fence); we return the result instead,
    // so that a caller (a test, the demo) can check it.
    Ok(result)
}

/// The same three steps, counting their calls, and one of them made to fail on purpose.
///
/// ```
/// use ch09::waterfall_chain::Steps;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let steps = Steps::failing_at(2);
/// let err = steps.waterfall().await.unwrap_err();
/// assert_eq!(err.to_string(), "task 2 failed");
/// assert_eq!(steps.calls(), [1, 1, 0]); // task 3 never ran
/// # }
/// ```
#[derive(Debug, Default)]
pub struct Steps {
    fail_at: Option<usize>,
    calls: [AtomicUsize; 3],
}

impl Steps {
    /// Steps that all succeed.
    pub fn new() -> Self {
        Steps::default()
    }

    /// Steps where task `n` (1, 2 or 3) fails; any other `n` fails none.
    pub fn failing_at(n: usize) -> Self {
        Steps {
            fail_at: Some(n),
            ..Steps::default()
        }
    }

    /// How often task 1, 2 and 3 have been called.
    pub fn calls(&self) -> [usize; 3] {
        [0, 1, 2].map(|i| self.calls[i].load(Ordering::Relaxed))
    }

    /// Task 1, counted, failing if planned.
    pub async fn task1(&self) -> WaterFallResult {
        self.enter(1)?;
        task1().await
    }

    /// Task 2, counted, failing if planned.
    pub async fn task2(&self, input: String) -> WaterFallResult {
        self.enter(2)?;
        task2(input).await
    }

    /// Task 3, counted, failing if planned.
    pub async fn task3(&self, input: String) -> WaterFallResult {
        self.enter(3)?;
        task3(input).await
    }

    /// The book's chain, over these steps.
    pub async fn waterfall(&self) -> WaterFallResult {
        let output1 = self.task1().await?;
        let output2 = self.task2(output1).await?;
        let result = self.task3(output2).await?;
        Ok(result)
    }

    /// Counts a call of task `n` and fails it if it is the planned failure.
    fn enter(&self, n: usize) -> Result<(), TaskFailed> {
        self.calls[n - 1].fetch_add(1, Ordering::Relaxed);
        match self.fail_at {
            Some(fail) if fail == n => Err(TaskFailed { task: n }),
            _ => Ok(()),
        }
    }
}

/// The planned failure of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskFailed {
    /// Which task failed (1, 2 or 3).
    pub task: usize,
}

impl fmt::Display for TaskFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {} failed", self.task)
    }
}

impl Error for TaskFailed {}

/// Runs the demo: `waterfall-chain [--fail-at N]` (N = 0 to 3, default 2; 0: nothing fails).
#[tokio::main(flavor = "current_thread")]
pub async fn run(mut args: Args) -> DemoResult {
    let fail_at = args.value_in("fail-at", 2usize, 0..=3)?;
    args.finish()?;

    println!("the book's chain:");
    println!("{}", waterfall().await?);

    let steps = if fail_at == 0 {
        Steps::new()
    } else {
        Steps::failing_at(fail_at)
    };
    match fail_at {
        0 => println!("\nthe same chain over counted steps, none failing:"),
        n => println!("\nthe same chain over counted steps, task {n} failing:"),
    }
    match steps.waterfall().await {
        Ok(result) => println!("{result}"),
        Err(err) => println!("the chain stopped: {err}"),
    }
    let [one, two, three] = steps.calls();
    println!("calls: task1 {one}, task2 {two}, task3 {three}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = "Task 1 completed, then Task 2 completed, and finally Task 3 completed";

    #[tokio::test]
    async fn the_chain_gives_the_books_sentence() {
        assert_eq!(waterfall().await.unwrap(), FULL);
        let steps = Steps::new();
        assert_eq!(steps.waterfall().await.unwrap(), FULL);
        assert_eq!(steps.calls(), [1, 1, 1]);
    }

    #[tokio::test]
    async fn a_failing_task_stops_the_chain() {
        let steps = Steps::failing_at(2);
        let err = steps.waterfall().await.unwrap_err();
        assert_eq!(
            err.downcast_ref::<TaskFailed>(),
            Some(&TaskFailed { task: 2 })
        );
        assert_eq!(steps.calls(), [1, 1, 0]);

        let steps = Steps::failing_at(1);
        assert_eq!(
            steps.waterfall().await.unwrap_err().to_string(),
            "task 1 failed"
        );
        assert_eq!(steps.calls(), [1, 0, 0]);

        let steps = Steps::failing_at(3);
        assert!(steps.waterfall().await.is_err());
        assert_eq!(steps.calls(), [1, 1, 1]);
    }

    #[tokio::test]
    async fn each_task_works_alone() {
        assert_eq!(task1().await.unwrap(), "Task 1 completed");
        assert_eq!(task2("x".into()).await.unwrap(), "x, then Task 2 completed");
        assert_eq!(
            task3("y".into()).await.unwrap(),
            "y, and finally Task 3 completed"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_chain_can_be_spawned_because_its_error_is_send() {
        // With the book's `Box<dyn Error>` this does not compile: the future is not `Send`.
        let chain = tokio::spawn(waterfall());
        assert_eq!(chain.await.unwrap().unwrap(), FULL);
        let failing = tokio::spawn(async { Steps::failing_at(2).waterfall().await });
        assert_eq!(
            failing.await.unwrap().unwrap_err().to_string(),
            "task 2 failed"
        );
    }

    #[test]
    fn the_demo_runs_with_and_without_a_failure() {
        run(Args::from_iter([])).unwrap();
        run(Args::from_iter(["--fail-at", "0"])).unwrap();
        assert!(run(Args::from_iter(["--fail-at", "4"])).is_err());
    }
}
