//! The library tells a progress observer where loading and evaluation are, and the
//! binary shows nothing when standard error is not a terminal.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use ascribe::diagnostic::Sources;
use ascribe::eval::{evaluate_observed, EvalOptions, Limits};
use ascribe::load::load_inputs_observed;
use ascribe::progress::Progress;

#[derive(Default)]
struct Recorder {
    loaded: RefCell<Vec<(String, usize, usize, usize)>>,
    evaluating: RefCell<Vec<(usize, usize, usize, usize)>>,
}

impl Progress for Recorder {
    fn loaded(&self, path: &Path, done: usize, total: usize, facts: usize) {
        self.loaded
            .borrow_mut()
            .push((path.display().to_string(), done, total, facts));
    }

    fn evaluating(
        &self,
        stratum: usize,
        strata: usize,
        iterations: usize,
        facts: &dyn Fn() -> usize,
    ) {
        self.evaluating
            .borrow_mut()
            .push((stratum, strata, iterations, facts()));
    }
}

#[test]
fn an_observer_hears_each_path_and_each_stratum() {
    let recorder = Recorder::default();
    let mut sources = Sources::default();
    let paths = [PathBuf::from("rules/"), PathBuf::from("facts/nz-2021/")];
    let inputs = load_inputs_observed(&mut sources, &paths, Vec::new(), &recorder, 2);
    let program = inputs.program.expect("the NZ case loads");
    // The rule files of rules/ first (read before facts, for their declarations), then
    // the two paths as fact paths; facts counted before each fact path is read.
    let loaded = recorder.loaded.borrow();
    let total = loaded[0].2;
    assert!(loaded.iter().all(|l| l.2 == total));
    assert_eq!(
        loaded.iter().map(|l| l.1).collect::<Vec<_>>(),
        (0..total).collect::<Vec<_>>()
    );
    assert_eq!(loaded[loaded.len() - 2].0, "rules/");
    assert_eq!(loaded[loaded.len() - 1].0, "facts/nz-2021/");

    let model = evaluate_observed(
        &program,
        &EvalOptions::default(),
        &Limits::default(),
        &recorder,
    )
    .expect("no limits");
    let evaluating = recorder.evaluating.borrow();
    let strata = program.strata().len();
    // Every stratum announced in order, counts never going back.
    let announced: Vec<usize> = evaluating.iter().map(|e| e.0).collect();
    let mut distinct = announced.clone();
    distinct.dedup();
    assert_eq!(distinct, (1..=strata).collect::<Vec<_>>());
    assert!(evaluating.iter().all(|e| e.1 == strata));
    assert!(evaluating
        .windows(2)
        .all(|w| w[0].2 <= w[1].2 && w[0].3 <= w[1].3));
    assert!(evaluating.last().expect("some stratum").3 <= model.total_facts());
}

#[test]
fn no_progress_reaches_a_pipe() {
    // Standard error is a pipe here: only the summary line, and with --quiet nothing.
    let output = crate::common::ascribe(&[
        "explain",
        "rules/",
        "--facts",
        "facts/nz-2021/",
        "state_sponsored(nz_pco_2021, prc)",
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = crate::common::ascribe(&["-q", "run", "rules/", "--facts", "facts/nz-2021/"]);
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.stdout.contains(&b'\r'));
}
