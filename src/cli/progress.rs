//! Progress on standard error while inputs load and rules evaluate: one line redrawn
//! in place, only when standard error is a terminal and `--quiet` was not given, first
//! drawn a quarter of a second in (a quick run shows none), at most ten times a second,
//! and erased before anything else is printed.

use std::cell::RefCell;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::progress::Progress;

/// How long a run goes before its progress is shown.
const DELAY: Duration = Duration::from_millis(250);
/// The least time between two drawings.
const INTERVAL: Duration = Duration::from_millis(100);
/// The longest line drawn, in characters, so it fits a narrow terminal.
const WIDTH: usize = 100;

/// The progress line: see the module documentation.
pub(crate) struct Meter {
    out: Option<RefCell<Box<dyn Write>>>,
    started: Instant,
    delay: Duration,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    last_drawn: Option<Instant>,
    /// Whether a line is on the screen, to be erased.
    shown: bool,
    /// When evaluation started, for its rate.
    evaluation_started: Option<Instant>,
}

impl Meter {
    /// A meter on standard error, drawing when it is a terminal and not `quiet`.
    pub(crate) fn stderr(quiet: bool) -> Meter {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let out: Option<Box<dyn Write>> = if terminal && !quiet {
            Some(Box::new(std::io::stderr()))
        } else {
            None
        };
        Meter::new(out, DELAY)
    }

    fn new(out: Option<Box<dyn Write>>, delay: Duration) -> Meter {
        Meter {
            out: out.map(RefCell::new),
            started: Instant::now(),
            delay,
            state: RefCell::new(State::default()),
        }
    }

    /// Whether to draw now.
    fn due(&self) -> bool {
        if self.out.is_none() {
            return false;
        }
        let now = Instant::now();
        let state = self.state.borrow();
        now.duration_since(self.started) >= self.delay
            && state
                .last_drawn
                .is_none_or(|last| now.duration_since(last) >= INTERVAL)
    }

    fn draw(&self, line: &str) {
        let Some(out) = &self.out else { return };
        let line: String = line.chars().take(WIDTH).collect();
        let mut out = out.borrow_mut();
        // Carriage return, erase the line, then the new text; a failed write to a
        // terminal is not worth stopping for.
        let _ = write!(out, "\r\x1b[2K{line}");
        let _ = out.flush();
        let mut state = self.state.borrow_mut();
        state.last_drawn = Some(Instant::now());
        state.shown = true;
    }

    /// Erases the line, if one is shown, so that what follows starts on a clean line.
    pub(crate) fn clear(&self) {
        let Some(out) = &self.out else { return };
        let mut state = self.state.borrow_mut();
        if state.shown {
            let mut out = out.borrow_mut();
            let _ = write!(out, "\r\x1b[2K");
            let _ = out.flush();
            state.shown = false;
        }
    }
}

/// `n` per second over `since`.
fn rate(n: usize, since: Instant) -> String {
    let seconds = since.elapsed().as_secs_f64();
    if seconds <= 0.0 {
        return String::new();
    }
    format!(", {} facts/s", grouped((n as f64 / seconds) as usize))
}

/// `1234567` as `1,234,567`.
pub(crate) fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Progress for Meter {
    fn loaded(&self, path: &Path, done: usize, total: usize, facts: usize) {
        if !self.due() {
            return;
        }
        self.draw(&format!(
            "loading {}/{total}: {} ({} facts so far{})",
            done + 1,
            path.display(),
            grouped(facts),
            rate(facts, self.started)
        ));
    }

    fn evaluating(
        &self,
        stratum: usize,
        strata: usize,
        iterations: usize,
        facts: &dyn Fn() -> usize,
    ) {
        let since = *self
            .state
            .borrow_mut()
            .evaluation_started
            .get_or_insert_with(Instant::now);
        if !self.due() {
            return;
        }
        let facts = facts();
        self.draw(&format!(
            "evaluating: stratum {stratum}/{strata}, {iterations} iterations, {} facts{}",
            grouped(facts),
            rate(facts, since)
        ));
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Rc<RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.borrow().clone()).expect("UTF-8")
        }
    }

    #[test]
    fn a_meter_draws_one_line_in_place_and_erases_it() {
        let screen = Shared::default();
        let meter = Meter::new(Some(Box::new(screen.clone())), Duration::ZERO);
        meter.loaded(Path::new("facts/big.tsv"), 1, 3, 1_234_567);
        let drawn = screen.text();
        assert!(
            drawn.starts_with("\r\x1b[2Kloading 2/3: facts/big.tsv (1,234,567 facts so far, "),
            "{drawn:?}"
        );
        assert!(drawn.ends_with(" facts/s)"), "{drawn:?}");
        // Too soon for another drawing.
        meter.evaluating(1, 4, 1, &|| 10);
        assert_eq!(screen.text(), drawn);
        std::thread::sleep(INTERVAL);
        meter.evaluating(2, 4, 7, &|| 5_000);
        let drawn = screen.text();
        assert!(
            drawn.contains("\r\x1b[2Kevaluating: stratum 2/4, 7 iterations, 5,000 facts, "),
            "{drawn:?}"
        );
        meter.clear();
        assert!(
            screen.text().ends_with("facts/s\r\x1b[2K"),
            "{:?}",
            screen.text()
        );
        // Nothing shown, nothing to erase.
        meter.clear();
        assert!(screen.text().ends_with("facts/s\r\x1b[2K"));
    }

    #[test]
    fn a_meter_waits_before_drawing_and_a_silent_one_never_draws() {
        let screen = Shared::default();
        let meter = Meter::new(Some(Box::new(screen.clone())), Duration::from_secs(3600));
        meter.loaded(Path::new("a.facts"), 0, 1, 0);
        meter.evaluating(1, 1, 1, &|| {
            unreachable!("a meter that does not draw counts nothing")
        });
        meter.clear();
        assert_eq!(screen.text(), "");
        let silent = Meter::new(None, Duration::ZERO);
        silent.loaded(Path::new("a.facts"), 0, 1, 0);
        silent.evaluating(1, 1, 1, &|| unreachable!("a silent meter counts nothing"));
        silent.clear();
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
