//! Evaluation fixtures: each program's model is snapshotted, and must be the same under
//! naive evaluation and with derivation recording off; every explanation re-checks.

use crate::common::{check_all_explanations, evaluate_checked, load, relative, render_all};

#[test]
fn fixtures() {
    insta::glob!("../fixtures/eval", "*.rules", |path| {
        let (program, _) = load(&[relative(path)]);
        let model = evaluate_checked(&program);
        assert!(check_all_explanations(&program, &model) > 0);
        insta::assert_snapshot!(render_all(&program, &model));
    });
}

#[test]
fn max_product_keeps_the_best_derivation() {
    let (program, _) = load(&[relative(std::path::Path::new(
        "tests/fixtures/eval/max_product.rules",
    ))]);
    let model = evaluate_checked(&program);
    let link = program.predicate_id("link").expect("link is defined");
    let interner = model.interner();
    let id = |s: &str| {
        interner
            .get(&ascribe::value::Value::text(s))
            .expect("interned")
    };
    // a->c: direct weak chain 0.9 * 0.5 * 0.5 = 0.225 beats strong(a, c) 0.9 * 0.2 = 0.18,
    // but the chain through strong(a, b) gives 0.9 * (0.9*0.9) * 0.5 = 0.3645.
    let fact = model
        .find(link, &[id("a"), id("c")])
        .expect("link(a, c) derived");
    assert!((model.confidence(fact) - 0.3645).abs() < 1e-12);
}

#[test]
fn noisy_or_adds_independent_sources_and_counts_one_report_once() {
    let (program, _) = load(&[relative(std::path::Path::new(
        "tests/fixtures/explain/noisy_or.rules",
    ))]);
    let model = evaluate_checked(&program);
    assert!(check_all_explanations(&program, &model) > 0);
    let supported = program.predicate_id("supported").expect("defined");
    let interner = model.interner();
    let confidence = |group: &str| {
        let id = |s: &str| {
            interner
                .get(&ascribe::value::Value::text(s))
                .expect("interned")
        };
        let fact = model
            .find(supported, &[id("inc"), id(group)])
            .expect("derived");
        model.confidence(fact)
    };
    // Two independent moderate vendors (0.9 x 0.7, 0.9 x 0.6) outweigh one strong one
    // (0.9 x 0.9): 1 - 0.37 x 0.46 = 0.8298 > 0.81.
    assert!((confidence("two_vendors") - (1.0 - 0.37 * 0.46)).abs() < 1e-12);
    assert!((confidence("strong_single") - 0.81).abs() < 1e-12);
    assert!(confidence("two_vendors") > confidence("strong_single"));
    // Three statements, all tracing back to Vendor D's report, count once: 0.9 x 0.7.
    assert!((confidence("one_report") - 0.63).abs() < 1e-12);
    // The default (max) would have kept the best line only.
    let max = {
        let text = std::fs::read_to_string("tests/fixtures/explain/noisy_or.rules")
            .expect("readable")
            .replace("@combine(noisy_or)", "");
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("eval-noisy-or-max");
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("max.rules");
        std::fs::write(&path, text).expect("written");
        let (program, _) = load(&[path]);
        let model = ascribe::evaluate(&program, &ascribe::EvalOptions::default());
        let p = program.predicate_id("supported").expect("defined");
        let i = model.interner();
        let id = |s: &str| i.get(&ascribe::value::Value::text(s)).expect("interned");
        let f = model
            .find(p, &[id("inc"), id("two_vendors")])
            .expect("derived");
        model.confidence(f)
    };
    assert!((max - 0.63).abs() < 1e-12);
}

/// A small deterministic generator (64-bit LCG), so the test needs no dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

/// Reachability by depth-first search from every node: the reference closure.
fn reference_closure(n: usize, edges: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut adjacency = vec![Vec::new(); n];
    for &(a, b) in edges {
        adjacency[a].push(b);
    }
    let mut out = Vec::new();
    for start in 0..n {
        let mut seen = vec![false; n];
        let mut stack = adjacency[start].clone();
        while let Some(v) = stack.pop() {
            if !seen[v] {
                seen[v] = true;
                stack.extend(adjacency[v].iter().copied());
            }
        }
        out.extend((0..n).filter(|&v| seen[v]).map(|v| (start, v)));
    }
    out
}

#[test]
fn random_graphs_match_a_reference_closure() {
    let mut rng = Lcg(20_240_611);
    for round in 0..30 {
        let n = 2 + rng.next(25) as usize;
        let m = rng.next(3 * n as u64) as usize;
        let edges: Vec<(usize, usize)> = (0..m)
            .map(|_| (rng.next(n as u64) as usize, rng.next(n as u64) as usize))
            .collect();
        let mut text = String::from("path(X, Y) :- edge(X, Y).\npath(X, Z) :- path(X, Y), edge(Y, Z).\nrel edge(a: int, b: int).\n");
        for (a, b) in &edges {
            text.push_str(&format!("edge({a}, {b}).\n"));
        }
        let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("random-graphs");
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(format!("g{round}.rules"));
        std::fs::write(&path, &text).expect("write");
        let (program, _) = load(&[path]);
        let model = evaluate_checked(&program);
        let predicate = program.predicate_id("path").expect("path exists");
        let mut derived: Vec<(usize, usize)> = model
            .sorted_facts(predicate)
            .into_iter()
            .map(|f| {
                let t = model.tuple(f);
                let int = |v| match model.interner().value(v) {
                    ascribe::value::Value::Int(i) => *i as usize,
                    other => panic!("unexpected {other}"),
                };
                (int(t[0]), int(t[1]))
            })
            .collect();
        derived.sort();
        assert_eq!(
            derived,
            reference_closure(n, &edges),
            "round {round}: {edges:?}"
        );
    }
}

/// Andersen's points-to by plain fixpoint over sets of pairs: the reference.
fn reference_points_to(
    address_of: &[(usize, usize)],
    assign: &[(usize, usize)],
    load: &[(usize, usize)],
    store: &[(usize, usize)],
) -> Vec<(usize, usize)> {
    use std::collections::BTreeSet;
    let mut pt: BTreeSet<(usize, usize)> = address_of.iter().copied().collect();
    loop {
        let mut next = pt.clone();
        let targets = |of: usize| pt.iter().filter(move |&&(p, _)| p == of).map(|&(_, o)| o);
        for &(p, q) in assign {
            next.extend(targets(q).map(|o| (p, o)));
        }
        for &(p, q) in load {
            for r in targets(q) {
                next.extend(targets(r).map(|o| (p, o)));
            }
        }
        for &(p, q) in store {
            for r in targets(p) {
                next.extend(targets(q).map(|o| (r, o)));
            }
        }
        if next.len() == pt.len() {
            return pt.into_iter().collect();
        }
        pt = next;
    }
}

/// The load rule reads points-to facts by their target through an index that keeps
/// only pointers something loads from: random programs check that nothing it leaves
/// out was needed, against a reference and against naive evaluation.
#[test]
fn random_points_to_matches_a_reference() {
    let mut rng = Lcg(20_261_207);
    for round in 0..30 {
        let n = 3 + rng.next(20) as usize;
        let mut pairs = |count: u64| -> Vec<(usize, usize)> {
            let m = rng.next(count) as usize;
            (0..m)
                .map(|_| (rng.next(n as u64) as usize, rng.next(n as u64) as usize))
                .collect()
        };
        let address_of = pairs(2 * n as u64);
        let assign = pairs(2 * n as u64);
        let loads = pairs(n as u64);
        let store = pairs(n as u64);
        let mut text = String::from(
            "rel addressOf(p: int, o: int).\nrel assign(p: int, q: int).\n\
             rel load(p: int, q: int).\nrel store(p: int, q: int).\n\
             pointsTo(P, O) :- addressOf(P, O).\n\
             pointsTo(P, O) :- assign(P, Q), pointsTo(Q, O).\n\
             pointsTo(P, O) :- load(P, Q), pointsTo(Q, R), pointsTo(R, O).\n\
             pointsTo(R, O) :- store(P, Q), pointsTo(P, R), pointsTo(Q, O).\n",
        );
        for (name, facts) in [
            ("addressOf", &address_of),
            ("assign", &assign),
            ("load", &loads),
            ("store", &store),
        ] {
            for (a, b) in facts {
                text.push_str(&format!("{name}({a}, {b}).\n"));
            }
        }
        let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("random-points-to");
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(format!("p{round}.rules"));
        std::fs::write(&path, &text).expect("write");
        let (program, _) = load(&[path]);
        let model = evaluate_checked(&program);
        let predicate = program.predicate_id("pointsTo").expect("pointsTo exists");
        let int = |v| match model.interner().value(v) {
            ascribe::value::Value::Int(i) => *i as usize,
            other => panic!("unexpected {other}"),
        };
        let mut derived: Vec<(usize, usize)> = model
            .sorted_facts(predicate)
            .into_iter()
            .map(|f| (int(model.tuple(f)[0]), int(model.tuple(f)[1])))
            .collect();
        derived.sort();
        assert_eq!(
            derived,
            reference_points_to(&address_of, &assign, &loads, &store),
            "round {round}:\n{text}"
        );
    }
}

#[test]
fn limits_name_the_growing_rule() {
    use ascribe::eval::{evaluate_limited, Limit, Limits};
    let (program, _) = load(&[std::path::PathBuf::from(
        "tests/fixtures/limits/unbounded.rules",
    )]);
    let limits = Limits {
        max_facts: Some(100),
        ..Limits::default()
    };
    let stopped = evaluate_limited(&program, &ascribe::EvalOptions::default(), &limits)
        .expect_err("the program grows without bound");
    assert_eq!(stopped.limit, Limit::Facts(100));
    assert_eq!(stopped.facts, 101);
    let (rule, count) = stopped.growing.expect("a growing rule");
    assert_eq!(program.rule(rule).name.as_deref(), Some("successor"));
    assert_eq!(count, 1);
}
