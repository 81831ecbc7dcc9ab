//! `greeting-decorator`: a struct that wraps another and adds to what it does (book section "The
//! Decorator Pattern").
//!
//! A decorator implements the same trait as the value it wraps, calls the inner value, and adds
//! behaviour before or after that call. Because it *is* a [`Greeting`], any code written against
//! the trait takes the plain [`HelloWorld`] and the decorated [`ExcitedGreeting`] alike, and
//! decorators stack: an excited excited greeting appends twice.
//!
//! Run it with `cargo run -p ch09 -- greeting-decorator`: the plain greeting, then the decorated
//! one, as in the book.
//!
//! How we differ from the book: its `impl<T> Greeting for ExcitedGreeting<T>` puts the bound
//! `where T: Greeting` on the method, which the compiler rejects (E0276, "impl has stricter
//! requirements than trait"); we bound the impl.

use common::demo::{Args, DemoResult};

/// Something that can greet.
pub trait Greeting {
    /// The greeting.
    fn greet(&self) -> String;
}

/// The plain greeter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HelloWorld;

impl Greeting for HelloWorld {
    fn greet(&self) -> String {
        "Hello, World!".to_string()
    }
}

/// The decorator: greets like `inner`, then adds some excitement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExcitedGreeting<T> {
    /// The greeter being decorated.
    pub inner: T,
}

// Book: `impl<T> Greeting for ExcitedGreeting<T>` with `where T: Greeting` on `fn greet`, which
// does not compile (E0276: a method may not demand more than the trait's own declaration does).
// The bound belongs on the impl.
impl<T: Greeting> Greeting for ExcitedGreeting<T> {
    fn greet(&self) -> String {
        let mut greeting = self.inner.greet();
        greeting.push_str(" I'm so excited to be in Rust!");
        greeting
    }
}

/// The book's `main`: one plain greeter, one decorated; returns the two lines it prints.
pub fn book_main() -> [String; 2] {
    let raw_one = HelloWorld;
    let raw_two = HelloWorld;
    let decorated = ExcitedGreeting { inner: raw_two };
    let lines = [raw_one.greet(), decorated.greet()];
    for line in &lines {
        println!("{line}");
    }
    lines
}

/// Code written against the trait, not a type: takes any greeter, decorated or not.
pub fn greet_twice(greeter: &impl Greeting) -> String {
    format!("{0} / {0}", greeter.greet())
}

/// Runs the demo: `greeting-decorator` (no arguments).
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    book_main();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: &str = "Hello, World!";
    const EXCITED: &str = "Hello, World! I'm so excited to be in Rust!";

    #[test]
    fn plain_and_decorated_greetings() {
        assert_eq!(HelloWorld.greet(), PLAIN);
        assert_eq!(ExcitedGreeting { inner: HelloWorld }.greet(), EXCITED);
        assert_eq!(book_main(), [PLAIN, EXCITED]);
    }

    #[test]
    fn decorators_stack() {
        let twice = ExcitedGreeting {
            inner: ExcitedGreeting { inner: HelloWorld },
        };
        assert_eq!(
            twice.greet(),
            "Hello, World! I'm so excited to be in Rust! I'm so excited to be in Rust!"
        );
    }

    #[test]
    fn code_written_against_the_trait_takes_both() {
        assert_eq!(greet_twice(&HelloWorld), format!("{PLAIN} / {PLAIN}"));
        assert_eq!(
            greet_twice(&ExcitedGreeting { inner: HelloWorld }),
            format!("{EXCITED} / {EXCITED}")
        );
        let greeters: Vec<Box<dyn Greeting>> = vec![
            Box::new(HelloWorld),
            Box::new(ExcitedGreeting { inner: HelloWorld }),
        ];
        let greetings: Vec<String> = greeters.iter().map(|g| g.greet()).collect();
        assert_eq!(greetings, [PLAIN, EXCITED]);
    }

    #[test]
    fn the_demo_takes_no_arguments() {
        run(Args::from_iter([])).unwrap();
        assert!(run(Args::from_iter(["--loud"])).is_err());
    }
}
