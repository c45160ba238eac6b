//! Progress of long loads and evaluations, told to an observer the caller supplies.
//!
//! The library only calls [`Progress`]; drawing it (on a terminal, throttled, cleared
//! afterwards) is the caller's business, so the library stays free of terminal code.
//! Calls are cheap for an observer that ignores them: counts that cost a walk over the
//! model are passed as closures, evaluated only by an observer that shows them.

use std::path::Path;

/// Receives progress reports. Every method does nothing by default.
pub trait Progress {
    /// An input path (a file or a directory) is about to be read: `done` of `total`
    /// paths are read, with `facts` facts so far.
    fn loaded(&self, path: &Path, done: usize, total: usize, facts: usize) {
        let _ = (path, done, total, facts);
    }

    /// Evaluation is in stratum `stratum` (1-based) of `strata`, after `iterations`
    /// iterations in all; `facts()` counts the facts of the model so far.
    fn evaluating(
        &self,
        stratum: usize,
        strata: usize,
        iterations: usize,
        facts: &dyn Fn() -> usize,
    ) {
        let _ = (stratum, strata, iterations, facts);
    }
}

/// The observer that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Progress for Silent {}
