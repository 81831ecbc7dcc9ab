//! `switch-state-machine`: an on/off switch driven by events (book section "The State Machine
//! Pattern").
//!
//! A state machine keeps its state in one enum, receives its inputs as another, and decides every
//! change in one `match` on the pair (state, event): that match *is* the transition table, and no
//! other code changes the state. Whoever else cares (the traffic light's drivers, in the book's
//! picture) only reads the state and acts on it.
//!
//! Run it with `cargo run -p ch09 -- switch-state-machine`. It prints the book's four lines: the
//! switch starts On, is switched Off, On, and On again (which is no transition), and ends On.
//!
//! How we differ from the book: the table is a pure function, [`State::next`], which also says
//! *which* [`Transition`] happened, so a test can check all four (state, event) pairs without
//! reading stdout; the book's async `transition` keeps its name and prints the same lines on top
//! of it. The "no transition" line is one line (the book's literal spans two source lines, so it
//! would print a line break and indentation that its shown output lacks). The enums derive
//! `Copy` and `PartialEq`, so states can be compared and passed around freely.
//!
//! The book admits `async` adds nothing to this `transition`; it is there to show where the async
//! part would go (a state behind an async mutex, events from a channel). [`state_future`] puts a
//! switch to async use: a future that polls one of two futures depending on the switch.
//!
//! [`state_future`]: crate::state_future

use common::demo::{Args, DemoResult};

/// The switch's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Switched on.
    On,
    /// Switched off.
    Off,
}

/// What can happen to the switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Someone pressed "on".
    SwitchOn,
    /// Someone pressed "off".
    SwitchOff,
}

impl State {
    /// The book's `transition`: applies `event`, prints what happened, and returns the new state.
    ///
    /// ```
    /// use ch09::switch_state_machine::{Event, State};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let state = State::On.transition(Event::SwitchOff).await; // prints "Transitioning to the Off state"
    /// assert_eq!(state, State::Off);
    /// # }
    /// ```
    pub async fn transition(self, event: Event) -> Self {
        let (next, transition) = self.next(event);
        println!("{}", transition.message());
        next
    }

    /// The transition table: the state after `event`, and which transition that was.
    ///
    /// ```
    /// use ch09::switch_state_machine::{Event, State, Transition};
    /// assert_eq!(State::Off.next(Event::SwitchOn), (State::On, Transition::ToOn));
    /// assert_eq!(State::On.next(Event::SwitchOn), (State::On, Transition::Stay));
    /// ```
    pub fn next(self, event: Event) -> (State, Transition) {
        match (self, event) {
            (State::On, Event::SwitchOff) => (State::Off, Transition::ToOff),
            (State::Off, Event::SwitchOn) => (State::On, Transition::ToOn),
            // Pressing "on" when on, or "off" when off, changes nothing.
            (state, _) => (state, Transition::Stay),
        }
    }
}

/// Which way a [`State::next`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Off → On.
    ToOn,
    /// On → Off.
    ToOff,
    /// The event did not apply to the state: it stays as it was.
    Stay,
}

impl Transition {
    /// The line the book prints for this transition.
    pub fn message(self) -> &'static str {
        match self {
            Transition::ToOn => "Transitioning to the On state",
            Transition::ToOff => "Transitioning to the Off state",
            // Book: the literal spans two source lines, so the book's program prints a line break
            // and a run of spaces in the middle of this sentence; its shown output has neither.
            Transition::Stay => "No transition possible, staying in the current state",
        }
    }
}

/// The book's `main`: start On, switch Off, On, On again, then report the final state. Returns
/// the final state and the transitions taken, so that a test can check them.
pub async fn book_main() -> (State, Vec<Transition>) {
    let mut state = State::On;
    let mut taken = Vec::new();
    for event in [Event::SwitchOff, Event::SwitchOn, Event::SwitchOn] {
        taken.push(state.next(event).1);
        state = state.transition(event).await;
    }
    match state {
        State::On => println!("State machine is in the On state"),
        State::Off => println!("State machine is not in the expected state"),
    }
    (state, taken)
}

/// Runs the demo: `switch-state-machine` (no arguments).
pub fn run(args: Args) -> DemoResult {
    args.finish()?;
    demo();
    Ok(())
}

// Book: `#[tokio::main]` with the default multi-thread runtime; nothing here waits, so one thread
// is all the book's `main` ever used.
#[tokio::main(flavor = "current_thread")]
async fn demo() -> (State, Vec<Transition>) {
    book_main().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_book_sequence_goes_off_on_stays_and_ends_on() {
        let (state, taken) = book_main().await;
        assert_eq!(
            taken,
            [Transition::ToOff, Transition::ToOn, Transition::Stay]
        );
        assert_eq!(state, State::On);
    }

    #[test]
    fn every_state_and_event_pair() {
        let table = [
            (State::On, Event::SwitchOn, State::On, Transition::Stay),
            (State::On, Event::SwitchOff, State::Off, Transition::ToOff),
            (State::Off, Event::SwitchOn, State::On, Transition::ToOn),
            (State::Off, Event::SwitchOff, State::Off, Transition::Stay),
        ];
        for (state, event, expected, transition) in table {
            assert_eq!(
                state.next(event),
                (expected, transition),
                "{state:?} + {event:?}"
            );
        }
    }

    #[tokio::test]
    async fn the_async_transition_agrees_with_the_table() {
        for state in [State::On, State::Off] {
            for event in [Event::SwitchOn, Event::SwitchOff] {
                assert_eq!(state.transition(event).await, state.next(event).0);
            }
        }
    }

    #[test]
    fn every_message_is_one_line() {
        for t in [Transition::ToOn, Transition::ToOff, Transition::Stay] {
            assert!(!t.message().contains('\n'), "{t:?}");
            assert!(!t.message().contains("  "), "{t:?}");
        }
    }
}
