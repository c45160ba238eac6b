//! Unit tests of the lints: which codes each small program gets.

use crate::diagnostic::Sources;
use crate::program::lower;
use crate::syntax::parse;

/// The codes and places (`line:col`) of the warnings `text` gets, lints and allows
/// applied, in order.
fn check(text: &str, expected: &[&str]) {
    let mut sources = Sources::default();
    let id = sources.add("t.rules", text);
    let (module, errors) = parse(id, text);
    assert!(errors.is_empty(), "{errors:?}");
    let modules = [module];
    let (program, mut diagnostics) = lower(&modules, Vec::new(), &sources);
    let program = program.unwrap_or_else(|| panic!("{diagnostics:?}"));
    diagnostics.extend(super::lint(&program, &modules));
    super::apply_allows(&modules, &mut diagnostics);
    let got: Vec<String> = diagnostics
        .iter()
        .map(|d| {
            let at = d.primary.as_ref().map(|l| {
                let (line, col) = sources.line_col(l.span.source, l.span.start);
                format!("{line}:{col}")
            });
            format!("{} {}", d.code, at.unwrap_or_default())
        })
        .collect();
    assert_eq!(got, expected, "{diagnostics:#?}");
}

#[test]
fn a_recursive_rule_without_base_case_never_fires() {
    check(
        "e(1, 2).\np(X, Z) :- p(X, Y), e(Y, Z).\nq(X) :- p(X, _).\n",
        &["W0602 2:12", "W0602 3:9"],
    );
    // With a base case, or declared (facts may come from files), it can.
    check(
        "e(1, 2).\np(X, Y) :- e(X, Y).\np(X, Z) :- p(X, Y), e(Y, Z).\nq(X) :- p(X, _).\n",
        &[],
    );
    check(
        "rel p(a: int, b: int).\ne(1, 2).\np(X, Z) :- p(X, Y), e(Y, Z).\n",
        &[],
    );
}

#[test]
fn undeclared_unread_relations_warn_only_where_conclusions_are_declared() {
    let text = "e(1).\nrel out(x: int).\nout(X) :- e(X).\nhelper(X) :- e(X).\n";
    check(text, &["W0603 4:1"]);
    // No declared derived relation: every unread relation is a conclusion.
    check("e(1).\nout(X) :- e(X).\nhelper(X) :- e(X).\n", &[]);
    // Read only by its own recursion is unread.
    check(
        "e(1, 2).\nrel out(x: int).\nout(X) :- e(X, _).\nt(X, Y) :- e(X, Y).\nt(X, Z) :- t(X, Y), e(Y, Z).\n",
        &["W0603 4:1"],
    );
}

#[test]
fn duplicates_and_subsumed_rules() {
    let facts = "e(1).\nf(1).\ng(1).\nq(X) :- g(X).\n";
    check(
        &format!("{facts}p(X) :- e(X), f(X).\np(Y) :- e(Y), f(Y).\n"),
        &["W0604 6:1"],
    );
    // Reordered, with the same strength: still a duplicate.
    check(
        &format!("{facts}p(X) :- e(X), f(X).\np(Y) :- f(Y), e(Y).\n"),
        &["W0604 6:1"],
    );
    check(
        &format!("{facts}p(X) :- e(X).\np(Y) :- e(Y), f(Y), not g(Y).\n"),
        &["W0605 6:1"],
    );
    // A stronger specific rule is not redundant; nor is one the general rule needs more of.
    check(
        &format!("{facts}@strength(0.5) p(X) :- e(X).\np(Y) :- e(Y), f(Y).\n"),
        &[],
    );
    check(
        &format!("{facts}p(X) :- e(X), g(X).\np(Y) :- e(Y), f(Y).\n"),
        &[],
    );
    // `not g(_)` is stronger than `not g(X)`.
    check(
        "h(1, 2).\np(X) :- h(X, _), not h(_, X).\np(X) :- h(X, Y), not h(Y, X).\n",
        &[],
    );
    // A constant is more specific than a variable, not the other way round.
    check(
        "h(1, 2).\np(X) :- h(X, 2).\np(X) :- h(X, _Y).\n",
        &["W0605 2:1"],
    );
    // Under noisy-or a narrower rule adds a line: only exact repeats are reported.
    check(
        &format!("{facts}@combine(noisy_or) rel p(x: int).\np(X) :- e(X).\np(Y) :- e(Y), f(Y).\n"),
        &["W0603 4:1"],
    );
}

#[test]
fn declarations_and_hypotheses() {
    check(
        "rel unused(x: sym).\nrel input(x: sym).\n@hypothesis rel h(x: sym).\nrel o(x: sym).\no(X) :- input(X).\n",
        &["W0606 1:5", "W0607 3:17"],
    );
}

#[test]
fn strengths_and_thresholds() {
    check(
        "rel e(x: int).\n@strength(0) p(X) :- e(X).\n",
        &["W0608 2:1"],
    );
    let text = "rel e(x: int).\n@hypothesis rel h(x: int).\n@strength(0.6) w(X) :- e(X).\n@strength(0.8) h(X) :- w(X).\n";
    check(text, &["W0609 4:16"]);
    check(&text.replace("0.6", "0.7"), &[]);
}

#[test]
fn allow_by_code_or_name_and_unknown_lints() {
    let text = "p(X) :- e(X, Y).\ne(1, 2).\n";
    check(text, &["W0201 1:14"]);
    check(&format!("@allow(W0201) {text}"), &[]);
    check(&format!("@allow(w0201) {text}"), &[]);
    check(
        &text.replace(").\n", ") @allow(singleton_variable).\n"),
        &[],
    );
    // Another lint's code does not silence it.
    check(&format!("@allow(W0602) {text}"), &["W0201 1:28"]);
    check(
        &format!("@allow(W0210, singelton_variable) {text}"),
        &["W0201 1:48", "W0601 1:8", "W0601 1:15"],
    );
    let (allowed, unknown) = super::Allowed::from_flags(&["W0201".into(), "W06O2".into()]);
    assert_eq!(allowed.codes, ["W0201"]);
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].help.as_deref(), Some("did you mean `W0602`?"));
}

#[test]
fn confidence_bounds_follow_recursion_and_facts() {
    // `t` is at most 0.4 (its base case), however often the recursion applies.
    let text = "e(1, 2) @confidence(0.4).\nt(X, Y) :- e(X, Y).\nt(X, Z) :- t(X, Y), t(Y, Z).\n@hypothesis rel h(x: int).\nh(X) :- t(X, _).\n";
    check(text, &["W0609 5:1"]);
    check(&text.replace("0.4", "0.5"), &[]);
    // A declared premise may come from files with confidence 1.
    check(&format!("rel e(a: int, b: int).\n{text}"), &[]);
}

#[test]
fn a_speaker_with_no_party_is_named_once() {
    let declarations = "@speaker(source) rel says(source: sym, incident: sym).\n@party rel speaks_for(source: sym, party: sym).\n@allow(unread_derived) r(I) :- says(_, I).\n";
    check(
        &format!("{declarations}speaks_for(a, gov).\nsays(a, x).\nsays(b, x).\nsays(b, y).\n"),
        &["W0610 6:1"],
    );
    // Every speaker recorded, or no party relation at all: nothing to say.
    check(
        &format!(
            "{declarations}speaks_for(a, gov).\nspeaks_for(b, gov).\nsays(a, x).\nsays(b, x).\n"
        ),
        &[],
    );
    check(
        "@speaker(source) rel says(source: sym, incident: sym).\n@allow(unread_derived) r(I) :- says(_, I).\nsays(b, x).\n",
        &[],
    );
    // Silenced on the fact.
    check(
        &format!("{declarations}speaks_for(a, gov).\nsays(b, x) @allow(speaker_without_party).\n"),
        &[],
    );
}

/// Regression: a variable written once in the body but shown by the rule's `@explain`
/// template is used, not a singleton; one the template does not show still is.
#[test]
fn a_variable_shown_by_the_template_is_not_a_singleton() {
    let text = "@explain(\"{X} via {Y}\") p(X) :- e(X, Y).\ne(1, 2).\n";
    check(text, &[]);
    let text = "@explain(\"{X} only\") p(X) :- e(X, Y).\ne(1, 2).\n";
    check(text, &["W0201 1:35"]);
}
