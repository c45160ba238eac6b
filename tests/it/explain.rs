//! Explanation fixtures: each `// explain: fact` line of a fixture is explained, and the
//! text and JSON trees are snapshotted; `// why-not: fact` lines snapshot the answer for
//! facts that do not hold; `// all: fact` lines list every derivation; `// critical: fact`
//! lines the input facts it cannot do without; `// dot: fact` and `// prose: fact` lines
//! its explanation as Graphviz DOT and as prose.

use std::fmt::Write as _;

use ascribe::explain::{critical, render, why_not};
use ascribe::query::Pattern;

use crate::common::{evaluate_checked, load, relative};

#[test]
fn fixtures() {
    insta::glob!("../fixtures/explain", "*.rules", |path| {
        let (program, mut sources) = load(&[relative(path)]);
        let model = evaluate_checked(&program);
        let text = std::fs::read_to_string(path).expect("fixture is readable");
        let mut out = String::new();
        for line in text.lines() {
            if let Some(fact) = line.strip_prefix("// explain: ") {
                let pattern =
                    Pattern::parse(&program, &model, &mut sources, fact).expect("valid fact");
                let found = pattern
                    .ground_fact(&model)
                    .unwrap_or_else(|| panic!("{fact} was not derived"));
                let explanation = ascribe::explain(&program, &model, found);
                let _ = writeln!(out, "== explain {fact}\n{}", render::text(&explanation));
                let _ = writeln!(out, "== json\n{}\n", render::json(&explanation));
            } else if let Some((format, fact)) = line
                .strip_prefix("// dot: ")
                .map(|fact| ("dot", fact))
                .or_else(|| line.strip_prefix("// prose: ").map(|fact| ("prose", fact)))
            {
                let pattern =
                    Pattern::parse(&program, &model, &mut sources, fact).expect("valid fact");
                let found = pattern
                    .ground_fact(&model)
                    .unwrap_or_else(|| panic!("{fact} was not derived"));
                let explanation = ascribe::explain(&program, &model, found);
                let written = match format {
                    "dot" => render::dot(&explanation),
                    _ => ascribe::explain::sentence::prose(&explanation),
                };
                let _ = writeln!(out, "== {format} {fact}\n{written}");
            } else if let Some(rest) = line.strip_prefix("// critical") {
                let (threshold, fact) = rest.split_once(": ").expect("`// critical[ T]: fact`");
                let threshold: f64 = threshold.trim().parse().unwrap_or(0.0);
                let pattern =
                    Pattern::parse(&program, &model, &mut sources, fact).expect("valid fact");
                let found = pattern.ground_fact(&model).expect("derived");
                let answer = critical::critical(&program, &model, found, threshold);
                let _ = writeln!(
                    out,
                    "== critical{rest}\n{}",
                    critical::text(fact, &answer, threshold)
                );
            } else if let Some(fact) = line.strip_prefix("// all: ") {
                let pattern =
                    Pattern::parse(&program, &model, &mut sources, fact).expect("valid fact");
                let found = pattern.ground_fact(&model).expect("derived");
                let ways = ascribe::explain::support::all_derivations(&program, &model, found);
                assert_eq!(
                    ways.iter().filter(|w| w.best).count(),
                    1,
                    "exactly one derivation is the recorded best"
                );
                let _ = writeln!(
                    out,
                    "== all {fact}\n{}",
                    ascribe::explain::support::text(fact, &ways)
                );
            } else if let Some(fact) = line.strip_prefix("// why-not: ") {
                let pattern =
                    Pattern::parse(&program, &model, &mut sources, fact).expect("valid fact");
                assert!(pattern.ground_fact(&model).is_none(), "{fact} holds");
                let values = pattern.values().expect("ground");
                let answer = why_not(&program, &model, pattern.predicate(), &values);
                let _ = writeln!(out, "== why-not {fact}\n{}", answer.text());
            }
        }
        assert!(!out.is_empty(), "fixture has no `// explain:` line");
        insta::assert_snapshot!(out);
    });
}

#[test]
fn dot_output_names_every_fact_once() {
    let (program, mut sources) = load(&[relative(std::path::Path::new(
        "tests/fixtures/explain/diamond.rules",
    ))]);
    let model = evaluate_checked(&program);
    let pattern = Pattern::parse(&program, &model, &mut sources, "top(a)").expect("valid fact");
    let fact = pattern.ground_fact(&model).expect("top(a) derived");
    let dot = render::dot(&ascribe::explain(&program, &model, fact));
    insta::assert_snapshot!(dot);
}
