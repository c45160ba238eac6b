//! The grammar of test files (`.test`): `rules` paths, then `test "name" { ... }` blocks
//! of case folders, inline facts, removed facts, expectations and snapshots.
//!
//! A test file reuses the rule language for everything inside a statement (atoms,
//! constants, annotations of inline facts), so a test reads like the rules it tests.
//! As in rule files, a broken statement becomes an `E0001` diagnostic and parsing
//! resumes at the next statement, so one run reports every mistake.

use nom::InputTake;

use super::ast::{Atom, Clause, CmpOp, Item, Name};
use super::parser::{
    atom, cmp_op, cut, describe_found, expect, fail, fail_hard, found_span, ident, item, keyword,
    leading, number_literal, punct, resync, span_of, statement_end, string_literal, ws, Input,
    PResult,
};
use crate::diagnostic::{Diagnostic, SourceId, Span};
use crate::value::Value;

/// One parsed test file.
#[derive(Clone, Debug, Default)]
pub struct TestModule {
    /// `rules "..."` statements outside any block: the rule set every test of the file
    /// runs (the `.rules` files beside the test file when there is none).
    pub rules: Vec<Paths>,
    /// The tests in file order.
    pub tests: Vec<TestBlock>,
}

/// Paths written as strings, relative to the test file.
#[derive(Clone, Debug)]
pub struct Paths {
    /// Each path with the span of its string.
    pub paths: Vec<(String, Span)>,
    /// The whole statement.
    pub span: Span,
}

/// `test "name" { statements }`.
#[derive(Clone, Debug)]
pub struct TestBlock {
    /// `///` lines before it.
    pub doc: Option<String>,
    /// The test's name, unique in its file.
    pub name: String,
    /// Where the name was written.
    pub name_span: Span,
    /// The statements in order.
    pub statements: Vec<Statement>,
    /// From `test` to the closing `}`.
    pub span: Span,
}

/// A statement of a test block.
#[derive(Clone, Debug)]
pub enum Statement {
    /// `facts "dir", "file".`: case folders or fact files to load.
    Facts(Paths),
    /// `rules "dir".`: this test's rule set instead of the file's.
    Rules(Paths),
    /// `without atom.`: input facts matching the atom are removed.
    Without(Atom, Span),
    /// An inline fact (a fixture), with its annotations.
    Fact(Clause),
    /// `expect ...`.
    Expect(Expectation),
    /// `snapshot.` or `snapshot rel, rel.`: the derived facts (of these relations)
    /// must equal the test's golden file.
    Snapshot(Vec<Name>, Span),
}

/// What an expectation asks of its atom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectKind {
    /// Some fact matching the atom holds (and meets every bound).
    Holds,
    /// `not`: no fact matching the atom holds.
    Not,
    /// `top`: the fact is the first-ranked concluded candidate of its incident in the
    /// report.
    Top,
}

/// `expect [not|top] atom bound, bound.`
#[derive(Clone, Debug)]
pub struct Expectation {
    /// Holds, not or top.
    pub kind: ExpectKind,
    /// The fact or pattern; variables match anything.
    pub atom: Atom,
    /// Conditions on the matching fact, all of which must hold.
    pub bounds: Vec<Bound>,
    /// The whole statement.
    pub span: Span,
}

/// A condition on a fact that holds.
#[derive(Clone, Debug)]
pub enum Bound {
    /// `>= 0.8`, `< unlikely`, `= likely`: the confidence, or its ICD 203 term.
    Confidence(CmpOp, Level, Span),
    /// `rests_on "text"` or `rests_on atom`: the best explanation has a leaf whose source
    /// contains the text, or that matches the atom.
    RestsOn(RestsOn, Span),
}

/// A confidence bound's right side.
#[derive(Clone, Debug)]
pub enum Level {
    /// A number in \[0, 1\].
    Number(f64),
    /// An ICD 203 term as a symbol (`very_likely`) or string (`"very likely"`); checked
    /// when the test runs.
    Term(String),
}

/// What an explanation must rest on.
#[derive(Clone, Debug)]
pub enum RestsOn {
    /// Part of a leaf's source text.
    Source(String),
    /// A pattern a leaf fact must match.
    Fact(Atom),
}

fn paths(input: Input<'_>) -> PResult<'_, Vec<(String, Span)>> {
    let mut out = Vec::new();
    let mut input = input;
    loop {
        let (at, _) = ws(input)?;
        let (rest, path) = cut(expect("a path in double quotes", string_literal)(at))?;
        out.push((path, span_of(&at, &rest)));
        input = rest;
        match punct(",")(input) {
            Ok((rest, _)) => input = rest,
            Err(_) => return Ok((input, out)),
        }
    }
}

/// Whether the next word is `kw` used as a keyword, not the name of an atom.
fn is_keyword(input: Input<'_>, kw: &'static str) -> bool {
    match keyword(kw)(input) {
        Ok((rest, _)) => punct("(")(rest).is_err(),
        Err(_) => false,
    }
}

fn level(input: Input<'_>) -> PResult<'_, Level> {
    let (input, _) = ws(input)?;
    if let Ok((rest, value)) = number_literal(input) {
        let x = match value {
            Value::Int(i) => i as f64,
            Value::Float(x) => x,
            _ => unreachable!("number literals are numbers"),
        };
        if !(0.0..=1.0).contains(&x) {
            return fail_hard(
                input,
                "a confidence between 0 and 1",
                Some("confidences are in [0, 1], e.g. `>= 0.8`"),
            );
        }
        return Ok((rest, Level::Number(x)));
    }
    if let Ok((rest, text)) = string_literal(input) {
        return Ok((rest, Level::Term(text)));
    }
    match ident(input) {
        Ok((rest, name)) => Ok((rest, Level::Term(name.text))),
        Err(_) => fail(
            input,
            "a confidence (e.g. `0.8`) or an ICD 203 term (e.g. `likely`)",
        ),
    }
}

fn bound(input: Input<'_>) -> PResult<'_, Bound> {
    let (input, _) = ws(input)?;
    if let Ok((rest, _)) = keyword("rests_on")(input) {
        let (at, _) = ws(rest)?;
        if let Ok((rest, text)) = string_literal(at) {
            return Ok((
                rest,
                Bound::RestsOn(RestsOn::Source(text), span_of(&input, &rest)),
            ));
        }
        let (rest, atom) = cut(expect("a source in double quotes or a fact", atom)(at))?;
        return Ok((
            rest,
            Bound::RestsOn(RestsOn::Fact(atom), span_of(&input, &rest)),
        ));
    }
    let (rest, op) = match cmp_op(input) {
        Ok(ok) => ok,
        Err(_) => {
            return fail(
                input,
                "a bound: `>= likely`, `< 0.5` or `rests_on \"source\"`",
            )
        }
    };
    let (rest, level) = cut(expect(
        "a confidence (e.g. `0.8`) or an ICD 203 term (e.g. `likely`)",
        level,
    )(rest))?;
    Ok((rest, Bound::Confidence(op, level, span_of(&input, &rest))))
}

fn expectation<'a>(start: Input<'a>, input: Input<'a>) -> PResult<'a, Expectation> {
    let (mut input, _) = ws(input)?;
    let mut kind = ExpectKind::Holds;
    if is_keyword(input, "not") {
        kind = ExpectKind::Not;
        input = keyword("not")(input)?.0;
    } else if is_keyword(input, "top") {
        kind = ExpectKind::Top;
        input = keyword("top")(input)?.0;
    }
    let (mut rest, atom) =
        cut(expect("the fact expected, e.g. `conducted_by(i, g)`", atom)(input))?;
    let mut bounds = Vec::new();
    if statement_end(rest).is_err() {
        // A missing `.` at the end of a line: point just after the atom.
        let (next, _) = ws(rest)?;
        if next.fragment().starts_with('}') || next.location_line() > rest.location_line() {
            return fail_hard(rest, "`.` to end the expectation", None);
        }
        loop {
            let (r, b) = cut(expect(
                "a bound: `>= likely`, `< 0.5` or `rests_on \"source\"`",
                bound,
            )(rest))?;
            bounds.push(b);
            rest = r;
            match punct(",")(rest) {
                Ok((r, _)) => rest = r,
                Err(_) => break,
            }
        }
    }
    let (rest, _) = cut(expect("`,` or `.` to end the expectation", statement_end)(
        rest,
    ))?;
    Ok((
        rest,
        Expectation {
            kind,
            atom,
            bounds,
            span: span_of(&start, &rest),
        },
    ))
}

fn statement(input: Input<'_>) -> PResult<'_, Statement> {
    let (input, _) = leading(input)?;
    let start = input;
    if is_keyword(input, "facts") || is_keyword(input, "rules") {
        let rules = is_keyword(input, "rules");
        let (rest, _) = keyword(if rules { "rules" } else { "facts" })(input)?;
        let (rest, list) = paths(rest)?;
        let (rest, _) = cut(expect("`,` or `.` after a path", statement_end)(rest))?;
        let paths = Paths {
            paths: list,
            span: span_of(&start, &rest),
        };
        return Ok((
            rest,
            if rules {
                Statement::Rules(paths)
            } else {
                Statement::Facts(paths)
            },
        ));
    }
    if is_keyword(input, "without") {
        let (rest, _) = keyword("without")(input)?;
        let (rest, atom) = cut(expect(
            "the facts to remove, e.g. `claims(s, _, _, _)`",
            atom,
        )(rest))?;
        let (rest, _) = cut(expect("`.` after the atom", statement_end)(rest))?;
        return Ok((rest, Statement::Without(atom, span_of(&start, &rest))));
    }
    if is_keyword(input, "expect") {
        let (rest, _) = keyword("expect")(input)?;
        let (rest, expectation) = expectation(start, rest)?;
        return Ok((rest, Statement::Expect(expectation)));
    }
    if is_keyword(input, "snapshot") {
        let (mut rest, _) = keyword("snapshot")(input)?;
        let mut relations = Vec::new();
        if statement_end(rest).is_err() {
            loop {
                let (r, name) = cut(expect("a relation name", ident)(rest))?;
                relations.push(name);
                rest = r;
                match punct(",")(rest) {
                    Ok((r, _)) => rest = r,
                    Err(_) => break,
                }
            }
        }
        let (rest, _) = cut(expect("`,` or `.` after a relation", statement_end)(rest))?;
        return Ok((rest, Statement::Snapshot(relations, span_of(&start, &rest))));
    }
    match item(input) {
        Ok((rest, Item::Clause(clause))) if !clause.has_arrow => {
            Ok((rest, Statement::Fact(clause)))
        }
        Ok((_, Item::Clause(_))) => fail_hard(
            start,
            "a fact, `facts`, `without`, `expect` or `snapshot`",
            Some("a test adds facts, not rules: put rules in a .rules file the test reads"),
        ),
        Ok((_, Item::Decl(_))) => fail_hard(
            start,
            "a fact, `facts`, `without`, `expect` or `snapshot`",
            Some("declare relations in the rule files; a test only adds facts"),
        ),
        Err(nom::Err::Error(_)) => fail(
            start,
            "`facts`, `without`, `expect`, `snapshot`, a fact or `}`",
        ),
        Err(e) => Err(e),
    }
}

/// Where a failed statement inside a block ends: after its `.`, or before a `}` that
/// starts a line first.
fn resync_in_block(text: &str, from: usize) -> usize {
    let end = resync(text, from);
    let mut offset = from;
    for line in text[from..end].split_inclusive('\n') {
        if offset > from && line.trim_start().starts_with('}') {
            return offset;
        }
        offset += line.len();
    }
    end
}

fn diagnostic(e: &super::parser::PError<'_>) -> Diagnostic {
    let found = describe_found(&e.at);
    let mut diagnostic = Diagnostic::error(
        "E0001",
        format!("syntax error: expected {}, found {found}", e.expected),
        found_span(&e.at),
    )
    .with_label(format!("expected {}", e.expected));
    if let Some(help) = e.help {
        diagnostic = diagnostic.with_help(help);
    } else if e.expected.contains("`.`") {
        diagnostic = diagnostic.with_help("every statement of a test ends with `.`");
    }
    diagnostic
}

/// Parses one test file. Returns every statement that parsed, and an `E0001`
/// diagnostic for each that did not.
pub fn parse_tests(source: SourceId, text: &str) -> (TestModule, Vec<Diagnostic>) {
    let mut module = TestModule::default();
    let mut diagnostics = Vec::new();
    if let Some(diagnostic) = super::parser::too_deep(source, text) {
        return (module, vec![diagnostic]);
    }
    let whole = Input::new_extra(text, source);
    let mut input = whole;
    // A leading byte-order mark is not text; spans keep counting from the file's start.
    if text.starts_with('\u{feff}') {
        input = input.take_split('\u{feff}'.len_utf8()).0;
    }
    let at = |offset: usize| whole.take_split(offset.min(text.len())).0;
    loop {
        let (rest, doc) = match leading(input) {
            Ok(ok) => ok,
            Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => {
                diagnostics.push(diagnostic(&e));
                break;
            }
            Err(nom::Err::Incomplete(_)) => break,
        };
        if rest.fragment().is_empty() {
            break;
        }
        let start = rest;
        if is_keyword(rest, "rules") {
            match keyword("rules")(rest)
                .and_then(|(r, _)| paths(r))
                .and_then(|(r, list)| {
                    let (r, _) = cut(expect("`,` or `.` after a path", statement_end)(r))?;
                    Ok((r, list))
                }) {
                Ok((r, list)) => {
                    module.rules.push(Paths {
                        paths: list,
                        span: span_of(&start, &r),
                    });
                    input = r;
                }
                Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => {
                    diagnostics.push(diagnostic(&e));
                    input = at(resync(text, e.at.location_offset()));
                }
                Err(nom::Err::Incomplete(_)) => break,
            }
            continue;
        }
        if !is_keyword(rest, "test") {
            let e = match fail::<()>(rest, "`rules \"...\".` or `test \"name\" { ... }`") {
                Err(nom::Err::Error(e)) => e,
                _ => unreachable!("fail returns an error"),
            };
            diagnostics.push(diagnostic(&e).with_help(
                "a test file holds tests; facts and expectations go inside `test \"name\" { ... }`",
            ));
            let next = resync(text, rest.location_offset());
            if next >= text.len() {
                break;
            }
            input = at(next);
            continue;
        }
        let (r, _) = keyword("test")(rest).expect("checked above");
        let header = ws(r).and_then(|(name_at, _)| {
            let (r, name) = cut(expect("the test's name in double quotes", string_literal)(
                name_at,
            ))?;
            let name_span = span_of(&name_at, &r);
            let (r, _) = cut(expect("`{` to open the test", punct("{"))(r))?;
            Ok((r, (name, name_span)))
        });
        let (mut r, (name, name_span)) = match header {
            Ok(ok) => ok,
            Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => {
                diagnostics.push(diagnostic(&e));
                // Skip the block: to the next `}` that starts a line, or the end.
                let from = e.at.location_offset();
                let next = text[from..]
                    .find("\n}")
                    .map_or(text.len(), |i| from + i + 2);
                if next >= text.len() {
                    break;
                }
                input = at(next);
                continue;
            }
            Err(nom::Err::Incomplete(_)) => break,
        };
        let mut statements = Vec::new();
        let closed = loop {
            let after_ws = match leading(r) {
                Ok((after, _)) => after,
                Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => {
                    diagnostics.push(diagnostic(&e));
                    break None;
                }
                Err(nom::Err::Incomplete(_)) => break None,
            };
            if let Ok((after, _)) = punct("}")(after_ws) {
                break Some(after);
            }
            if after_ws.fragment().is_empty() {
                diagnostics.push(
                    Diagnostic::error(
                        "E0001",
                        format!("syntax error: test \"{name}\" is not closed"),
                        name_span,
                    )
                    .with_label("this test's `{` has no matching `}`")
                    .with_help("end the test with `}` on a line of its own"),
                );
                break None;
            }
            match statement(r) {
                Ok((after, s)) => {
                    statements.push(s);
                    r = after;
                }
                Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => {
                    diagnostics.push(diagnostic(&e));
                    let from = e.at.location_offset().max(r.location_offset());
                    let next = resync_in_block(text, from);
                    if next >= text.len() {
                        break None;
                    }
                    r = at(next);
                }
                Err(nom::Err::Incomplete(_)) => break None,
            }
        };
        let Some(end) = closed else { break };
        module.tests.push(TestBlock {
            doc,
            name,
            name_span,
            statements,
            span: span_of(&start, &end),
        });
        input = end;
    }
    (module, diagnostics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Sources;

    /// Parses `text` and renders what was understood, one line per statement, then the
    /// diagnostics.
    fn check(text: &str, expected: &str) {
        let mut sources = Sources::default();
        let id = sources.add("a.test", text);
        let (module, diagnostics) = parse_tests(id, text);
        let mut out = String::new();
        for rules in &module.rules {
            let paths: Vec<&str> = rules.paths.iter().map(|(p, _)| p.as_str()).collect();
            out.push_str(&format!("rules {paths:?}\n"));
        }
        for test in &module.tests {
            out.push_str(&format!("test {:?}\n", test.name));
            for s in &test.statements {
                let line = match s {
                    Statement::Facts(p) => format!(
                        "facts {:?}",
                        p.paths.iter().map(|(p, _)| p).collect::<Vec<_>>()
                    ),
                    Statement::Rules(p) => format!(
                        "rules {:?}",
                        p.paths.iter().map(|(p, _)| p).collect::<Vec<_>>()
                    ),
                    Statement::Without(a, _) => format!("without {}", sources.snippet(a.span)),
                    Statement::Fact(c) => format!("fact {}", sources.snippet(c.span)),
                    Statement::Expect(e) => format!(
                        "expect {:?} {} {:?}",
                        e.kind,
                        sources.snippet(e.atom.span),
                        e.bounds
                            .iter()
                            .map(|b| match b {
                                Bound::Confidence(op, level, _) =>
                                    format!("{} {level:?}", op.as_str()),
                                Bound::RestsOn(RestsOn::Source(text), _) =>
                                    format!("rests_on {text:?}"),
                                Bound::RestsOn(RestsOn::Fact(atom), _) =>
                                    format!("rests_on {}", sources.snippet(atom.span)),
                            })
                            .collect::<Vec<_>>()
                    ),
                    Statement::Snapshot(r, _) => format!(
                        "snapshot {:?}",
                        r.iter().map(|n| &n.text).collect::<Vec<_>>()
                    ),
                };
                out.push_str(&format!("  {line}\n"));
            }
        }
        for d in &diagnostics {
            out.push_str(&format!(
                "{} {}: {}\n",
                sources.location(d.primary.as_ref().expect("placed").span),
                d.code,
                d.message
            ));
        }
        assert_eq!(out.trim_end(), expected.trim());
    }

    #[test]
    fn statements_of_a_test() {
        check(
            r#"
rules "../rules/".
/// The founding case.
test "nz" {
    facts "../facts/nz-2021", "extra.facts".
    without claims(s, _, _, _).
    claims(x, conducted_by, i, "APT40") @grade(B2).
    expect conducted_by(i, apt40) >= likely, < 0.9, rests_on "GCSB".
    expect not state_sponsored(i, _).
    expect top conducted_by(i, apt40).
    expect facts(a) rests_on claims(x, _, _, _).
    snapshot.
    snapshot conducted_by, state_sponsored.
}
"#,
            r#"
rules ["../rules/"]
test "nz"
  facts ["../facts/nz-2021", "extra.facts"]
  without claims(s, _, _, _)
  fact claims(x, conducted_by, i, "APT40") @grade(B2).
  expect Holds conducted_by(i, apt40) [">= Term(\"likely\")", "< Number(0.9)", "rests_on \"GCSB\""]
  expect Not state_sponsored(i, _) []
  expect Top conducted_by(i, apt40) []
  expect Holds facts(a) ["rests_on claims(x, _, _, _)"]
  snapshot []
  snapshot ["conducted_by", "state_sponsored"]
"#,
        );
    }

    #[test]
    fn broken_statements_are_reported_and_skipped() {
        check(
            r#"
test "a" {
    expect p(x) >= 1.5.
    expect q(y).
    r(X) :- q(X).
    expect.
}
stray(fact).
test "b" {
    expect p(x)
"#,
            r#"
test "a"
  expect Holds q(y) []
a.test:3:20 E0001: syntax error: expected a confidence between 0 and 1, found `1`
a.test:5:5 E0001: syntax error: expected a fact, `facts`, `without`, `expect` or `snapshot`, found `r`
a.test:6:11 E0001: syntax error: expected the fact expected, e.g. `conducted_by(i, g)`, found `.`
a.test:8:1 E0001: syntax error: expected `rules "...".` or `test "name" { ... }`, found `stray`
a.test:10:16 E0001: syntax error: expected `.` to end the expectation, found end of line
"#,
        );
    }
}
