//! Limits on explaining: `--timeout` and `--max-memory` while explanations, all
//! derivations, why-not answers, critical facts and reports are built.
//!
//! Explaining can cost more than evaluating: all derivations of a fact, or a report over
//! many candidates, enumerate rule instances that evaluation never stored, and finding
//! critical facts evaluates the program again once per input. A [`Scope`] opened on a
//! thread bounds the explaining done on that thread until it is closed: the matcher and
//! the builders count their steps (`tick`) and the bytes of text they produce
//! (`charge`), and once a limit is reached they stop early. What they return then is
//! incomplete, so [`Scope::close`] reports the limit, and the caller must show the
//! limit, never the result. Without a scope nothing is counted and nothing stops.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use crate::eval::{Limit, Limits};

/// Steps between two looks at the clock.
const CHECK_EVERY: u32 = 1024;

struct State {
    started: Instant,
    timeout: Option<Duration>,
    max_bytes: Option<usize>,
    /// Bytes held before explaining began (the model), plus the text produced since.
    bytes: usize,
    countdown: u32,
    stopped: Option<Limit>,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// The limits in force for explaining on this thread, from [`enter`] until
/// [`Scope::close`] (or until it is dropped). Scopes nest: closing one restores the one
/// it replaced.
#[must_use = "a scope bounds explaining only while it is held, and its result says whether a limit was reached"]
pub struct Scope {
    previous: Option<State>,
    /// Scopes are per thread.
    _thread: std::marker::PhantomData<*const ()>,
}

/// Opens a scope on this thread: `limits.timeout` counts from `started` (give the
/// command's start so one timeout bounds the whole command), and `limits.max_memory`
/// includes `held_bytes`, what the model already holds. `limits.max_facts` does not apply
/// to explaining.
pub fn enter(limits: &Limits, started: Instant, held_bytes: usize) -> Scope {
    let state = State {
        started,
        timeout: limits.timeout,
        max_bytes: limits.max_memory,
        bytes: held_bytes,
        countdown: 1,
        stopped: None,
    };
    let previous = STATE.with(|s| s.borrow_mut().replace(state));
    Scope {
        previous,
        _thread: std::marker::PhantomData,
    }
}

impl Scope {
    /// Ends the scope: `Err` with the limit reached, if one was, in which case what was
    /// explained inside the scope is incomplete.
    pub fn close(mut self) -> Result<(), Limit> {
        let previous = self.previous.take();
        let state = STATE.with(|s| std::mem::replace(&mut *s.borrow_mut(), previous));
        std::mem::forget(self);
        match state.and_then(|s| s.stopped) {
            Some(limit) => Err(limit),
            None => Ok(()),
        }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        STATE.with(|s| *s.borrow_mut() = previous);
    }
}

impl State {
    fn check(&mut self) -> bool {
        if self.stopped.is_none() {
            if self.timeout.is_some_and(|t| self.started.elapsed() > t) {
                self.stopped = self.timeout.map(Limit::Time);
            } else if self.max_bytes.is_some_and(|max| self.bytes > max) {
                self.stopped = self.max_bytes.map(Limit::Memory);
            }
        }
        self.stopped.is_some()
    }
}

/// Counts one step of explaining; whether to stop. Without a scope, never.
#[inline]
pub(crate) fn tick() -> bool {
    STATE.with(|s| match &mut *s.borrow_mut() {
        None => false,
        Some(state) => {
            if state.stopped.is_some() {
                return true;
            }
            state.countdown -= 1;
            if state.countdown == 0 {
                state.countdown = CHECK_EVERY;
                state.check()
            } else {
                false
            }
        }
    })
}

/// Counts `bytes` of text produced; whether to stop.
pub(crate) fn charge(bytes: usize) -> bool {
    STATE.with(|s| match &mut *s.borrow_mut() {
        None => false,
        Some(state) => {
            state.bytes = state.bytes.saturating_add(bytes);
            if state.max_bytes.is_some_and(|max| state.bytes > max) {
                state.check()
            } else {
                state.stopped.is_some()
            }
        }
    })
}

/// The limits left for one more evaluation inside the scope (critical facts evaluate
/// the program again): the time that remains and the memory budget; `None` without a
/// scope.
pub(crate) fn remaining() -> Option<Limits> {
    STATE.with(|s| {
        s.borrow().as_ref().map(|state| Limits {
            max_facts: None,
            timeout: state
                .timeout
                .map(|t| t.saturating_sub(state.started.elapsed())),
            max_memory: state.max_bytes,
        })
    })
}

/// Records that a limit was reached outside the counters: an evaluation inside the
/// scope stopped at `limit`, one of those [`remaining`] gave, which is reported as the
/// scope's own (the whole timeout, not what was left of it).
pub(crate) fn stop(limit: Limit) {
    STATE.with(|s| {
        if let Some(state) = &mut *s.borrow_mut() {
            let own = match limit {
                Limit::Time(left) => Limit::Time(state.timeout.unwrap_or(left)),
                Limit::Memory(bytes) => Limit::Memory(state.max_bytes.unwrap_or(bytes)),
                Limit::Facts(n) => Limit::Facts(n),
            };
            state.stopped.get_or_insert(own);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_scope_never_stops() {
        assert!(!tick());
        assert!(!charge(usize::MAX));
        assert!(remaining().is_none());
    }

    #[test]
    fn memory_limit_stops_and_is_reported_once_closed() {
        let limits = Limits {
            max_memory: Some(1000),
            ..Limits::default()
        };
        let scope = enter(&limits, Instant::now(), 900);
        assert!(!charge(50));
        assert!(charge(100));
        assert!(tick(), "once stopped, every step says stop");
        assert_eq!(scope.close(), Err(Limit::Memory(1000)));
        assert!(!tick(), "closing restores the state before the scope");
    }

    #[test]
    fn timeout_counts_from_the_given_start() {
        let limits = Limits {
            timeout: Some(Duration::from_millis(1)),
            ..Limits::default()
        };
        let started = Instant::now() - Duration::from_secs(1);
        let scope = enter(&limits, started, 0);
        assert!(tick(), "the first step looks at the clock");
        assert_eq!(scope.close(), Err(Limit::Time(Duration::from_millis(1))));
    }

    #[test]
    fn scopes_nest_and_dropping_restores() {
        let outer = enter(&Limits::default(), Instant::now(), 0);
        {
            let _inner = enter(
                &Limits {
                    max_memory: Some(1),
                    ..Limits::default()
                },
                Instant::now(),
                10,
            );
            assert!(tick());
        }
        assert!(!tick(), "the outer scope has no limit");
        assert_eq!(outer.close(), Ok(()));
    }
}
