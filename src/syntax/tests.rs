//! Parser tests: each input is parsed and printed back in a canonical form.

use super::ast::*;
use super::parse;
use crate::diagnostic::{SourceId, Sources};

fn term(t: &Term) -> String {
    match t {
        Term::Var(name) => name.text.clone(),
        Term::Const(value, _) => format!("{value}"),
    }
}

fn atom(a: &Atom) -> String {
    let args: Vec<String> = a.args.iter().map(term).collect();
    format!("{}({})", a.predicate.text, args.join(", "))
}

fn expr(e: &Expr) -> String {
    match e {
        Expr::Term(t) => term(t),
        Expr::Bin(l, op, r, _) => format!("({} {} {})", expr(l), op.as_str(), expr(r)),
    }
}

fn literal(l: &Literal) -> String {
    match l {
        Literal::Pos(a) => atom(a),
        Literal::Neg(a, _) => format!("not {}", atom(a)),
        Literal::Cmp(c) => format!("{} {} {}", expr(&c.left), c.op.as_str(), expr(&c.right)),
        Literal::Agg(g) => {
            let targets: Vec<&str> = g.targets.iter().map(|t| t.text.as_str()).collect();
            let body: Vec<String> = g.body.iter().map(literal).collect();
            format!(
                "{} = {}({} : {})",
                g.result.text,
                g.function.as_str(),
                targets.join(", "),
                body.join(", ")
            )
        }
    }
}

fn annotations(list: &[Annotation]) -> String {
    list.iter()
        .map(|a| {
            let args: Vec<String> = a.args.iter().map(|(v, _)| v.to_string()).collect();
            format!(" @{}({})", a.name.text, args.join(", "))
        })
        .collect()
}

/// Canonical text of a module, one item per line, with docs as `///` lines.
fn show(module: &Module) -> String {
    let mut out = String::new();
    for item in &module.items {
        match item {
            Item::Decl(d) => {
                if let Some(doc) = &d.doc {
                    out.push_str(&format!("/// {doc}\n"));
                }
                let cols: Vec<String> = d
                    .columns
                    .iter()
                    .map(|c| match &c.name {
                        Some(n) => format!("{}: {}", n.text, c.ty.text),
                        None => c.ty.text.clone(),
                    })
                    .collect();
                out.push_str(&format!(
                    "rel {}({}){}.\n",
                    d.name.text,
                    cols.join(", "),
                    annotations(&d.annotations)
                ));
            }
            Item::Clause(c) => {
                if let Some(doc) = &c.doc {
                    out.push_str(&format!("/// {doc}\n"));
                }
                out.push_str(&atom(&c.head));
                if c.has_arrow {
                    let body: Vec<String> = c.body.iter().map(literal).collect();
                    out.push_str(&format!(" :- {}", body.join(", ")));
                }
                out.push_str(&annotations(&c.annotations));
                out.push_str(".\n");
            }
        }
    }
    out
}

fn check(input: &str, expected: &str) {
    let (module, errors) = parse(SourceId(0), input);
    assert!(errors.is_empty(), "unexpected errors: {errors:?}");
    assert_eq!(show(&module), expected);
}

/// Parses `input`, expecting errors; returns `line:col: message` for each.
fn errors(input: &str) -> Vec<String> {
    let mut sources = Sources::default();
    let id = sources.add("t.rules", input);
    let (_, errors) = parse(id, input);
    errors
        .iter()
        .map(|e| {
            let span = e.primary.as_ref().expect("syntax errors have a place").span;
            let (line, col) = sources.line_col(id, span.start);
            format!("{line}:{col}: {}", e.message)
        })
        .collect()
}

#[test]
fn facts_with_every_kind_of_constant() {
    check(
        r#"seen(apt40, "APT 40", 42, -7, 0.95, 2021-08-01, 1.5e3)."#,
        "seen(apt40, \"APT 40\", 42, -7, 0.95, 2021-08-01, 1500.0).\n",
    );
}

#[test]
fn annotations_before_and_after_and_bare_words() {
    check(
        "@name(\"r\") @strength(0.9)\np(X) :- q(X).\nq(a) @source(\"GCSB\") @grade(B2).",
        "p(X) :- q(X) @name(r) @strength(0.9).\nq(a) @source(\"GCSB\") @grade(\"B2\").\n",
    );
}

#[test]
fn declarations_docs_and_comments() {
    check(
        "/// A graded source.\n/// Second line.\nrel grade(source: sym, int). // trailing\n/* block\n comment */ p(a).",
        "/// A graded source.\nSecond line.\nrel grade(source: sym, int).\np(a).\n",
    );
}

#[test]
fn negation_comparisons_and_arithmetic_precedence() {
    check(
        "p(X, Y) :- q(X), not r(X), Y = X * 2 + 1, X != 3, (X - 1) * 2 >= Y % 4.",
        "p(X, Y) :- q(X), not r(X), Y = ((X * 2) + 1), X != 3, ((X - 1) * 2) >= (Y % 4).\n",
    );
}

#[test]
fn aggregates_with_and_without_targets() {
    check(
        "c(I, N) :- i(I), N = count(S : claims(S, I), not bad(S)).\nt(N) :- x(_), N = count( : y(_)).\ns(T) :- x(_), T = sum(V : w(_, V), V > 0).",
        "c(I, N) :- i(I), N = count(S : claims(S, I), not bad(S)).\nt(N) :- x(_), N = count( : y(_)).\ns(T) :- x(_), T = sum(V : w(_, V), V > 0).\n",
    );
}

#[test]
fn aggregate_names_are_symbols_when_not_called() {
    check("p(count, max) :- q(count).", "p(count, max) :- q(count).\n");
}

#[test]
fn keywords_are_not_prefixes() {
    check(
        "nothing(x). p(X) :- nothing(X), notable(X).",
        "nothing(x).\np(X) :- nothing(X), notable(X).\n",
    );
}

#[test]
fn recovery_reports_every_broken_statement() {
    let found = errors("p(a).\nq(X :- r(X).\ns(b).\nt(X) :- u(X), .\nv(c).\n");
    assert_eq!(
        found,
        vec![
            "2:5: syntax error: expected `,` or `)`, found `:`",
            "4:15: syntax error: expected a literal: an atom, `not` an atom, a comparison or an aggregate, found `.`",
        ]
    );
}

#[test]
fn recovery_keeps_the_good_statements() {
    let (module, errors) = parse(SourceId(0), "p(a).\nq(:- .\ns(b).\n");
    assert_eq!(errors.len(), 1);
    assert_eq!(show(&module), "p(a).\ns(b).\n");
}

#[test]
fn missing_period_is_reported_at_the_end_of_its_line() {
    let found = errors("p(X) :- q(X)\nr(a).\ns(b) t(c).\n");
    assert_eq!(
        found,
        vec![
            "1:13: syntax error: expected `,` or `.` after a literal, found end of line",
            "3:6: syntax error: expected `:-` or `.` after the atom, found `t`",
        ]
    );
}

#[test]
fn lexical_errors() {
    assert_eq!(
        errors("p(\"open).\nq(2021-02-30).\nr(99999999999999999999).\n/* never closed"),
        vec![
            "1:3: syntax error: expected a closing `\"`, found `\"`",
            "2:3: syntax error: expected a valid date, found `2021`",
            "3:3: syntax error: expected an integer that fits in 64 bits, found `99999999999999999999`",
            "4:1: syntax error: expected `*/` to close this comment, found `/`",
        ]
    );
}

#[test]
fn upper_case_relation_names_get_advice() {
    let mut sources = Sources::default();
    let id = sources.add("t.rules", "Conducted(a).");
    let (_, errors) = parse(id, "Conducted(a).");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].help.as_deref(),
        Some("relation names start with a lower-case letter; upper-case words are variables")
    );
}

#[test]
fn spans_point_at_the_text() {
    let text = "claims(gcsb, apt40) @confidence(0.9).";
    let (module, _) = parse(SourceId(0), text);
    let Item::Clause(clause) = &module.items[0] else {
        panic!("expected a clause");
    };
    assert_eq!(&text[clause.head.span.range()], "claims(gcsb, apt40)");
    assert_eq!(&text[clause.head.args[1].span().range()], "apt40");
    assert_eq!(&text[clause.span.range()], text);
}

/// A million nested parentheses overflowed the parser's stack; nesting now stops at
/// `MAX_NESTING` with one diagnostic.
#[test]
fn nesting_past_the_limit_is_one_diagnostic() {
    use super::parser::MAX_NESTING;
    let nested = |n: usize| format!("p(X) :- q(X), X = {}1{}.", "(".repeat(n), ")".repeat(n));
    let mut sources = crate::diagnostic::Sources::default();
    let text = nested(MAX_NESTING);
    let id = sources.add("a.rules", text.clone());
    let (module, errors) = super::parse(id, &text);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(module.items.len(), 1);
    for n in [MAX_NESTING + 1, 1_000_000] {
        let text = nested(n);
        let id = sources.add("b.rules", text.clone());
        let (module, errors) = super::parse(id, &text);
        assert!(module.items.is_empty());
        let codes: Vec<(&str, String)> = errors
            .iter()
            .map(|d| {
                (
                    d.code,
                    sources.location(d.primary.as_ref().expect("placed").span),
                )
            })
            .collect();
        assert_eq!(
            codes,
            [("E0002", format!("b.rules:1:{}", 19 + MAX_NESTING))]
        );
    }
    // Parentheses in strings and comments do not count.
    let text = format!("p(\"{}\"). // {}\n", "(".repeat(1000), "(".repeat(1000));
    let id = sources.add("c.rules", text.clone());
    assert!(super::parse(id, &text).1.is_empty());
}
