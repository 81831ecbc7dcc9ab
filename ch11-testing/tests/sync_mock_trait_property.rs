//! The property test of `sync-mock-trait`'s `do_something` (chapter extra "Property test of
//! `do_something`", after the book section "Performing Basic Sync Testing").
//!
//! The book's tests pick a few results for the mock to return (11, then implicitly 8 and others)
//! and check each. A property test lets proptest pick them: for *any* `i32` the mock returns,
//! `do_something` must match a one-line specification. proptest generates hundreds of values, and
//! when one fails it shrinks it to the simplest failing value it can find.
//!
//! Run against a copy of the book's version, the generator finds what the hand-picked cases
//! missed: `result * 3` overflows `i32` for every result below −715827882, and the shrunk
//! counterexample is exactly −715827883, the overflowing value closest to zero. (In a debug build
//! the overflow panics; in release it wraps to a wrong positive number. Either way the property
//! fails.) Our `do_something` uses `checked_mul` and returns an error there, and passes.
//!
//! Both runs use a fixed seed, so the test finds the same counterexample on every run, and keep
//! no regression files (proptest would otherwise write one next to this file when the book's
//! version fails, as it is meant to).
//!
//! Run with `cargo test -p ch11 sync_mock_trait`.

mod sync_mock_trait {
    use ch11::sync_mock_trait::{AsyncProcess, MockDatabaseHandler, do_something};
    use mockall::predicate::eq;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};

    /// The specification: what `do_something` must return when the mock's result is `result`.
    /// `Err(())` stands for any error.
    fn expected(result: i32) -> Result<i32, ()> {
        if result > 10 {
            Err(())
        } else if result == 8 {
            Ok(16)
        } else {
            result.checked_mul(3).ok_or(())
        }
    }

    /// A mock that expects `spawn(input)` once, answers a key, then `get_result(key)` once,
    /// answering `result`.
    fn mock_returning(input: i32, result: i32) -> MockDatabaseHandler {
        let mut handle = MockDatabaseHandler::new();
        handle
            .expect_spawn()
            .with(eq(input))
            .times(1)
            .returning(|_| Ok("test_key".to_string()));
        handle
            .expect_get_result()
            .with(eq("test_key".to_string()))
            .times(1)
            .returning(move |_| Ok(result));
        handle
    }

    /// A copy of the book's `do_something`, overflow included, to show what the property finds.
    fn book_do_something<T>(async_handle: T, input: i32) -> Result<i32, String>
    where
        T: AsyncProcess<i32, String, i32>,
    {
        let key = async_handle.spawn(input)?;
        let result = async_handle.get_result(key)?;
        if result > 10 {
            return Err("result is too big".to_string());
        }
        if result == 8 {
            return Ok(result * 2);
        }
        Ok(result * 3)
    }

    /// A runner with a fixed seed and no regression files.
    fn runner(cases: u32) -> TestRunner {
        let mut config = Config::with_cases(cases);
        config.failure_persistence = None;
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
    }

    #[test]
    fn property_do_something_matches_its_specification_for_any_result() {
        let outcome = runner(512).run(&(any::<i32>(), any::<i32>()), |(input, result)| {
            let actual = do_something(mock_returning(input, result), input);
            prop_assert_eq!(
                actual.map_err(|_| ()),
                expected(result),
                "result {}",
                result
            );
            Ok(())
        });
        if let Err(failure) = outcome {
            panic!("{failure}");
        }
    }

    #[test]
    fn property_finds_the_books_overflow_and_shrinks_it_to_the_boundary() {
        let outcome = runner(256).run(&any::<i32>(), |result| {
            let actual = book_do_something(mock_returning(4, result), 4);
            prop_assert_eq!(actual.map_err(|_| ()), expected(result));
            Ok(())
        });
        match outcome {
            Err(TestError::Fail(_reason, smallest)) => {
                assert_eq!(smallest, -715_827_883);
                assert_eq!(smallest, i32::MIN / 3 - 1);
                // Ours, at the same value: an error, as the specification says.
                assert!(do_something(mock_returning(4, smallest), 4).is_err());
            }
            other => panic!("the property should have failed on the book's version: {other:?}"),
        }
    }

    #[test]
    fn the_boundary_values_by_hand() {
        for (result, want) in [
            (11, Err(())),
            (10, Ok(30)),
            (8, Ok(16)),
            (3, Ok(9)),
            (i32::MIN / 3, Ok(i32::MIN / 3 * 3)),
            (i32::MIN / 3 - 1, Err(())),
            (i32::MIN, Err(())),
            (i32::MAX, Err(())),
        ] {
            assert_eq!(expected(result), want, "{result}");
            let actual = do_something(mock_returning(4, result), 4);
            assert_eq!(actual.map_err(|_| ()), want, "{result}");
        }
    }
}
