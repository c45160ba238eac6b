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
