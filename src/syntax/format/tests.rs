//! Formatter tests: each input is formatted and compared with the expected text, which
//! must itself be formatted already and parse to the same tree as the input.

use super::{equivalent, float_text, format};
use crate::diagnostic::SourceId;
use crate::syntax::parse;

#[track_caller]
fn check(input: &str, expected: &str) {
    let formatted = match format(SourceId(0), input) {
        Ok(text) => text,
        Err(diagnostics) => panic!("did not format: {diagnostics:?}"),
    };
    assert_eq!(formatted, expected, "formatted:\n{formatted}");
    let again = format(SourceId(0), &formatted).expect("formatted text formats");
    assert_eq!(again, formatted, "not idempotent");
    let (before, _) = parse(SourceId(0), input);
    let (after, _) = parse(SourceId(0), &formatted);
    assert!(equivalent(&before, &after), "the tree changed");
}

#[test]
fn spacing() {
    check("p(X,Y):-q(X , Y),X!=Y.", "p(X, Y) :- q(X, Y), X != Y.\n");
    check("  p( a ).q(\"b\")  .", "p(a).\nq(\"b\").\n");
    check("p(X) :- q(X),not r(X).", "p(X) :- q(X), not r(X).\n");
    check("p() :- q().", "p() :- q().\n");
    check("", "");
    check("\n\n  \n", "");
}

#[test]
fn blank_lines_collapse_to_one() {
    check("a(1).\n\n\n\nb(2).\nc(3).\n\n", "a(1).\n\nb(2).\nc(3).\n");
}

#[test]
fn long_rules_break_one_literal_per_line() {
    check(
        "conducted_by(I, G) :- claims(S, conducted_by, I, N), incident(I, _), resolves_to(N, G), trusted(S).",
        "conducted_by(I, G) :-\n    claims(S, conducted_by, I, N),\n    incident(I, _),\n    resolves_to(N, G),\n    trusted(S).\n",
    );
    // A rule that was broken but fits is joined.
    check("p(X) :-\n    q(X),\n    r(X).", "p(X) :- q(X), r(X).\n");
}

#[test]
fn long_atoms_break_one_argument_per_line() {
    let long = "x".repeat(90);
    check(
        &format!("p(a, \"{long}\")."),
        &format!("p(\n    a,\n    \"{long}\"\n).\n"),
    );
}

#[test]
fn facts_keep_annotations_after_and_wrap_them() {
    check(
        "claims(s, conducted_by, i, \"APT40\")   @source(\"x\")@confidence(0.95).",
        "claims(s, conducted_by, i, \"APT40\") @source(\"x\") @confidence(0.95).\n",
    );
    check(
        "claims(gcsb_ncsc_2024_03_26, conducted_by, nz_pco_2021, \"APT40\") @source(\"GCSB NCSC media release\") @confidence(0.95).",
        "claims(gcsb_ncsc_2024_03_26, conducted_by, nz_pco_2021, \"APT40\")\n    @source(\"GCSB NCSC media release\") @confidence(0.95).\n",
    );
    // Annotations written before a fact move after it; their order is kept.
    check(
        "@source(\"x\") p(1) @confidence(0.5).",
        "p(1) @source(\"x\") @confidence(0.5).\n",
    );
}

#[test]
fn rule_annotations_stand_before_on_their_own_line() {
    check(
        "@name(\"x\")   @strength(0.9) p(X) :- q(X).",
        "@name(\"x\") @strength(0.9)\np(X) :- q(X).\n",
    );
    check(
        "p(X) :- q(X) @name(\"x\").",
        "@name(\"x\")\np(X) :- q(X).\n",
    );
    check(
        "@grade(B2) @exception p(1).",
        "p(1) @grade(B2) @exception.\n",
    );
}

#[test]
fn declarations() {
    check(
        "@combine(noisy_or) rel  link( incident:sym,group :sym ).",
        "@combine(noisy_or)\nrel link(incident: sym, group: sym).\n",
    );
    check(
        "rel r(sym, int) @exception.",
        "@exception\nrel r(sym, int).\n",
    );
}

#[test]
fn doc_comments_stay_with_their_item() {
    check(
        "/// A group.\n///   indented\nrel group(g: sym).\n//// not a doc\np(1).",
        "/// A group.\n///   indented\nrel group(g: sym).\n//// not a doc\np(1).\n",
    );
}

#[test]
fn comments_before_and_after_items() {
    check(
        "// header\n\n\n/* block */ p(1).   // trailing\nq(2). /* b */ // c\n\n// end",
        "// header\n\n/* block */\np(1). // trailing\nq(2). /* b */ // c\n\n// end\n",
    );
    check("/* a\n   b */\np(1).", "/* a\n   b */\np(1).\n");
}

#[test]
fn comments_inside_a_rule() {
    check(
        "p(X) :- // why\n  q(X), // first\n  // about r\n  r(X) /* last */ .",
        "p(X) :- // why\n    q(X), // first\n    // about r\n    r(X). /* last */\n",
    );
    check(
        "@name(\"n\") // named\n// explained\np(X) :- q(X).",
        "@name(\"n\") // named\n// explained\np(X) :- q(X).\n",
    );
    // A comment on the last literal's line does not force the rule to break.
    check(
        "p(X) :- q(X), r(X) // end\n.",
        "p(X) :- q(X), r(X). // end\n",
    );
}

#[test]
fn comments_without_a_slot_keep_the_statement_as_written() {
    check(
        "p(X) :- q(X, // odd\n  Y).  ",
        "p(X) :- q(X, // odd\n  Y).\n",
    );
    check(
        "p(1) // fact\n  @source(\"x\").",
        "p(1) // fact\n  @source(\"x\").\n",
    );
    check("rel r(a: sym /* col */).", "rel r(a: sym /* col */).\n");
    check(
        "@a /* x */ @b p(X) :- q(X).",
        "@a /* x */ @b p(X) :- q(X).\n",
    );
    // Moved past the `.`, a doc comment would document the next item.
    check(
        "p(X) :- q(X) /// doc?\n.\nr(1).",
        "p(X) :- q(X) /// doc?\n.\nr(1).\n",
    );
}

#[test]
fn aggregates() {
    check(
        "c(I,N):-i(I),N=count( S,T:claims(S,I),not bad(S),T>1).",
        "c(I, N) :- i(I), N = count(S, T : claims(S, I), not bad(S), T > 1).\n",
    );
    check("c(N) :- N = count(: p(X)).", "c(N) :- N = count(: p(X)).\n");
    check(
        "corroborated_link(G, O, N) :- operates_for(G, O), N = count(P : claims(S, operates_for, Nm, U), resolves_to(Nm, G), within(U, O), official(S), trusted(S), speaks_for(S, P)).",
        "corroborated_link(G, O, N) :-\n    operates_for(G, O),\n    N = count(P :\n        claims(S, operates_for, Nm, U),\n        resolves_to(Nm, G),\n        within(U, O),\n        official(S),\n        trusted(S),\n        speaks_for(S, P)\n    ).\n",
    );
}

#[test]
fn arithmetic_keeps_needed_parentheses() {
    check(
        "p(Z) :- q(A, B, C), Z = (A + B) * C.",
        "p(Z) :- q(A, B, C), Z = (A + B) * C.\n",
    );
    check(
        "p(Z) :- q(A, B, C), Z = A - (B - C).",
        "p(Z) :- q(A, B, C), Z = A - (B - C).\n",
    );
    check(
        "p(Z) :- q(A, B, C), Z = ((A * B)) + C.",
        "p(Z) :- q(A, B, C), Z = A * B + C.\n",
    );
    check(
        "p(Z) :- q(A, B), Z = A/(B%2) - -1.",
        "p(Z) :- q(A, B), Z = A / (B % 2) - -1.\n",
    );
    check("p(Z) :- q(A), Z = A-1.", "p(Z) :- q(A), Z = A - 1.\n");
}

#[test]
fn strings_are_written_with_canonical_escapes() {
    check(
        "p(\"a\\\"b\\\\c\\nd\\te\\rf\", \"apt40\", apt40, \"\u{e9}\").",
        "p(\"a\\\"b\\\\c\\nd\\te\\rf\", \"apt40\", apt40, \"\u{e9}\").\n",
    );
    check("p(\"tab\there\").", "p(\"tab\\there\").\n");
}

#[test]
fn numbers_and_dates() {
    check(
        "p(0.1, 1.0e-7, -0.0, 0.000010, 1.50, 1.0E3, 2.5e20).",
        "p(0.1, 1.0e-7, -0.0, 0.00001, 1.5, 1000.0, 2.5e20).\n",
    );
    check(
        "p(007, -0, 9223372036854775807, -9223372036854775808).",
        "p(7, 0, 9223372036854775807, -9223372036854775808).\n",
    );
    check(
        "p(2021-08-01) :- q(D), D >= 2020-02-29.",
        "p(2021-08-01) :- q(D), D >= 2020-02-29.\n",
    );
}

#[test]
fn floats_round_trip_exactly() {
    for x in [
        0.1,
        1e-7,
        -0.0,
        0.0,
        1e15,
        1e16,
        123456789.123,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        0.3,
        2.0 / 3.0,
    ] {
        let text = float_text(x);
        assert!(text.contains('.'), "{text}");
        assert_eq!(
            text.parse::<f64>().map(f64::to_bits),
            Ok(x.to_bits()),
            "{text}"
        );
    }
}

#[test]
fn syntax_errors_are_returned_not_formatted() {
    let errors = format(SourceId(0), "p(X) :- q(X)\nr(1).").expect_err("a syntax error");
    assert!(errors.iter().all(|d| d.code == "E0001"), "{errors:?}");
}

#[test]
fn equivalent_sees_every_difference_but_spans() {
    let tree = |text: &str| parse(SourceId(0), text).0;
    assert!(equivalent(&tree("p(X):-q(X)."), &tree("p(X) :-\n  q(X).")));
    for (a, b) in [
        ("p(1).", "p(1.0)."),
        ("p(0.0).", "p(-0.0)."),
        ("p(X) :- q(X).", "p(X) :- not q(X)."),
        ("p(Z) :- Z = A - B - C.", "p(Z) :- Z = A - (B - C)."),
        ("@a p(1).", "@b p(1)."),
        ("/// d\np(1).", "p(1)."),
        ("p(X) :- q(X).", "p(Y) :- q(Y)."),
    ] {
        assert!(!equivalent(&tree(a), &tree(b)), "{a} vs {b}");
    }
}

#[test]
fn long_declarations_break_one_column_per_line() {
    check(
        "rel located_without_sponsorship(incident: sym, group: sym, state: sym, since: date, note: str).",
        "rel located_without_sponsorship(\n    incident: sym,\n    group: sym,\n    state: sym,\n    since: date,\n    note: str\n).\n",
    );
}

#[test]
fn line_breaks_become_line_feeds() {
    check(
        "// a\r\np(X):-q(X).\r\n\r\n\r\nr(1).\r\n",
        "// a\np(X) :- q(X).\n\nr(1).\n",
    );
}

#[test]
fn a_comment_inside_an_aggregate_keeps_the_rule_as_written() {
    check(
        "c(N) :- N = count(X : p(X), // only p\n    q(X)).",
        "c(N) :- N = count(X : p(X), // only p\n    q(X)).\n",
    );
}
