//! A helper, not a demo: where `user-input-callbacks` gets its input lines from.
//!
//! The book reads key presses with the `device_query` crate. We read *lines* instead, from one of
//! two sources, and hand each one to a `deliver` function (the demo's stand-in device):
//!
//! - [`read_lines`]: a thread reads standard input (or any `BufRead`) and delivers each line as it
//!   arrives. Used when stdin is a terminal, or with `--stdin` for piped text;
//! - [`play_script`]: a tokio task delivers scripted lines at set times. Used when stdin is not a
//!   terminal (closed, or a pipe nobody asked us to read), so `cargo run -p ch06` never waits for
//!   typing.

use std::io::{self, BufRead};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// The script played when nobody types: two letters, the set point up twice and down once.
pub const DEFAULT_SCRIPT: &str = "h,i,+,+,-";

/// Splits a `--script` value at commas, trimming spaces: `"a, b,+"` → `["a", "b", "+"]`.
///
/// ```
/// assert_eq!(ch06::input::parse_script("h, i,+"), ["h", "i", "+"]);
/// assert!(ch06::input::parse_script("").is_empty());
/// ```
pub fn parse_script(script: &str) -> Vec<String> {
    script
        .split(',')
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(String::from)
        .collect()
}

/// Starts a thread named `stdin-reader` that reads `reader` line by line and calls `deliver` with
/// each line (without its line ending) as soon as it is read. The thread ends at the end of the
/// input and returns how many lines it delivered, or the read error that stopped it (text that is
/// not UTF-8, say): input from outside is never unwrapped.
///
/// A thread blocked reading a terminal cannot be interrupted; a demo that is finished simply stops
/// listening (drops its callback guard) and leaves the thread to end with the process.
///
/// ```
/// use std::sync::mpsc;
/// let (lines, received) = mpsc::channel();
/// let reader = ch06::input::read_lines(std::io::Cursor::new("a\nb\n"), move |line| {
///     let _ = lines.send(line.to_string());
/// }).unwrap();
/// assert_eq!(reader.join().unwrap().unwrap(), 2);
/// assert_eq!(received.iter().collect::<Vec<_>>(), ["a", "b"]);
/// ```
pub fn read_lines<R, F>(reader: R, deliver: F) -> io::Result<JoinHandle<io::Result<usize>>>
where
    R: BufRead + Send + 'static,
    F: Fn(&str) + Send + 'static,
{
    thread::Builder::new()
        .name("stdin-reader".into())
        .spawn(move || {
            let mut delivered = 0;
            for line in reader.lines() {
                deliver(&line?);
                delivered += 1;
            }
            Ok(delivered)
        })
}

/// Spawns a tokio task that calls `deliver` with `lines[i]` at `first + i × every` from now, then
/// ends. On tokio's paused clock the times are exact.
pub fn play_script<F>(
    lines: Vec<String>,
    first: Duration,
    every: Duration,
    deliver: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(&str) + Send + 'static,
{
    let start = tokio::time::Instant::now();
    tokio::spawn(async move {
        for (i, line) in lines.iter().enumerate() {
            let steps = u32::try_from(i).unwrap_or(u32::MAX);
            tokio::time::sleep_until(start + first + every * steps).await;
            deliver(line);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn the_reader_thread_delivers_every_line_in_order_then_ends() {
        let (lines, received) = std::sync::mpsc::channel();
        let reader = read_lines(io::Cursor::new("+\nhello\r\n-\n"), move |line| {
            let _ = lines.send((line.to_string(), thread::current().name().map(String::from)));
        })
        .unwrap();
        let got: Vec<(String, Option<String>)> = received.iter().collect();
        let texts: Vec<&str> = got.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(texts, ["+", "hello", "-"]);
        assert!(
            got.iter()
                .all(|(_, t)| t.as_deref() == Some("stdin-reader"))
        );
        assert_eq!(reader.join().unwrap().unwrap(), 3);
    }

    #[test]
    fn text_that_is_not_utf8_stops_the_reader_with_an_error_not_a_panic() {
        let reader =
            read_lines(io::Cursor::new(b"ok\n\xff\xfe\nnever\n".to_vec()), |_| {}).unwrap();
        let result = reader.join().expect("the reader must not panic");
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    #[tokio::test(start_paused = true)]
    async fn the_script_plays_each_line_at_its_time() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let start = tokio::time::Instant::now();
        let log = Arc::clone(&seen);
        let player = play_script(
            parse_script("a,b,c"),
            Duration::from_millis(50),
            Duration::from_millis(100),
            move |line| {
                log.lock()
                    .unwrap()
                    .push((line.to_string(), start.elapsed()))
            },
        );
        player.await.unwrap();
        let ms = Duration::from_millis;
        assert_eq!(
            *seen.lock().unwrap(),
            [
                ("a".to_string(), ms(50)),
                ("b".to_string(), ms(150)),
                ("c".to_string(), ms(250))
            ]
        );
    }
}
