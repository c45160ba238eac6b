//! The grammar of rule and fact files, as nom parsers over located input.
//!
//! Each statement is parsed on its own: when one fails, the error is recorded and parsing
//! resumes after the next statement-ending `.`, so one run reports every broken statement.
//! nom's errors never leave this module: [`parse`] turns them into [`Diagnostic`]s.

use std::borrow::Cow;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_until, take_while, take_while1};
use nom::character::complete::{char, digit1, multispace1, not_line_ending, one_of};
use nom::combinator::{opt, recognize};
use nom::error::{ErrorKind, ParseError};
use nom::sequence::{pair, tuple};
use nom::{IResult, InputTake, Offset, Slice};
use nom_locate::LocatedSpan;

use super::ast::*;
use crate::diagnostic::{Diagnostic, SourceId, Span};
use crate::value::Value;

pub(super) type Input<'a> = LocatedSpan<&'a str, SourceId>;
pub(super) type PResult<'a, T> = IResult<Input<'a>, T, PError<'a>>;

/// A parse failure: where, and what was expected there.
#[derive(Debug)]
pub(super) struct PError<'a> {
    pub(super) at: Input<'a>,
    pub(super) expected: Cow<'static, str>,
    pub(super) help: Option<&'static str>,
}

impl<'a> ParseError<Input<'a>> for PError<'a> {
    fn from_error_kind(input: Input<'a>, _kind: ErrorKind) -> Self {
        PError {
            at: input,
            expected: Cow::Borrowed("something else"),
            help: None,
        }
    }

    fn append(_input: Input<'a>, _kind: ErrorKind, other: Self) -> Self {
        other
    }

    /// Of two alternatives that both failed, keep the one that got further.
    fn or(self, other: Self) -> Self {
        if other.at.location_offset() >= self.at.location_offset() {
            other
        } else {
            self
        }
    }
}

pub(super) fn fail<T>(at: Input<'_>, expected: impl Into<Cow<'static, str>>) -> PResult<'_, T> {
    Err(nom::Err::Error(PError {
        at,
        expected: expected.into(),
        help: None,
    }))
}

pub(super) fn fail_hard<'a, T>(
    at: Input<'a>,
    expected: impl Into<Cow<'static, str>>,
    help: Option<&'static str>,
) -> PResult<'a, T> {
    Err(nom::Err::Failure(PError {
        at,
        expected: expected.into(),
        help,
    }))
}

/// Turns a recoverable error into a failure: used after a commit point (nom's `cut`),
/// keeping the message.
pub(super) fn cut<'a, T>(result: PResult<'a, T>) -> PResult<'a, T> {
    result.map_err(|e| match e {
        nom::Err::Error(e) => nom::Err::Failure(e),
        other => other,
    })
}

/// Replaces the expectation of a failed parser with `what`, at the position where it
/// started (after whitespace), unless it failed further in.
pub(super) fn expect<'a, T>(
    what: &'static str,
    mut parser: impl FnMut(Input<'a>) -> PResult<'a, T>,
) -> impl FnMut(Input<'a>) -> PResult<'a, T> {
    move |input: Input<'a>| {
        let (start, _) = ws(input)?;
        match parser(start) {
            Err(nom::Err::Error(e)) if e.at.location_offset() <= start.location_offset() => {
                fail(start, what)
            }
            other => other,
        }
    }
}

pub(super) fn span_of(start: &Input<'_>, end: &Input<'_>) -> Span {
    Span::new(start.extra, start.location_offset(), end.location_offset())
}

fn line_comment(input: Input<'_>) -> PResult<'_, Input<'_>> {
    recognize(pair(tag("//"), not_line_ending))(input)
}

fn block_comment(input: Input<'_>) -> PResult<'_, Input<'_>> {
    let (rest, _) = tag("/*")(input)?;
    match take_until::<_, _, PError<'_>>("*/")(rest) {
        Ok((rest, _)) => {
            let (rest, _) = tag("*/")(rest)?;
            Ok((rest, input.slice(..input.offset(&rest))))
        }
        Err(_) => fail_hard(
            input,
            "`*/` to close this comment",
            Some("block comments run from `/*` to `*/`"),
        ),
    }
}

/// Skips whitespace and comments (doc comments included).
pub(super) fn ws(mut input: Input<'_>) -> PResult<'_, ()> {
    loop {
        match alt((multispace1, line_comment, block_comment))(input) {
            Ok((rest, _)) => input = rest,
            Err(nom::Err::Error(_)) => return Ok((input, ())),
            Err(e) => return Err(e),
        }
    }
}

/// Skips whitespace and plain comments before an item, collecting `///` lines.
pub(super) fn leading(mut input: Input<'_>) -> PResult<'_, Option<String>> {
    let mut doc: Vec<String> = Vec::new();
    loop {
        if let Ok((rest, _)) = multispace1::<_, PError<'_>>(input) {
            input = rest;
            continue;
        }
        if input.fragment().starts_with("///") && !input.fragment().starts_with("////") {
            let (rest, line) = line_comment(input)?;
            let text = &line.fragment()[3..];
            doc.push(
                text.strip_prefix(' ')
                    .unwrap_or(text)
                    .trim_end()
                    .to_string(),
            );
            input = rest;
            continue;
        }
        match alt((line_comment, block_comment))(input) {
            Ok((rest, _)) => input = rest,
            Err(nom::Err::Error(_)) => break,
            Err(e) => return Err(e),
        }
    }
    Ok((input, (!doc.is_empty()).then(|| doc.join("\n"))))
}

pub(super) fn word(input: Input<'_>) -> PResult<'_, Input<'_>> {
    recognize(pair(
        take_while1(|c: char| c.is_ascii_alphabetic() || c == '_'),
        take_while(|c: char| c.is_ascii_alphanumeric() || c == '_'),
    ))(input)
}

/// A punctuation token after optional whitespace.
pub(super) fn punct<'a>(token: &'static str) -> impl FnMut(Input<'a>) -> PResult<'a, Input<'a>> {
    move |input| {
        let (input, _) = ws(input)?;
        tag(token)(input)
    }
}

/// A keyword: the word itself, not a prefix of a longer word.
pub(super) fn keyword<'a>(kw: &'static str) -> impl FnMut(Input<'a>) -> PResult<'a, Input<'a>> {
    move |input| {
        let (input, _) = ws(input)?;
        let (rest, w) = word(input)?;
        if *w.fragment() == kw {
            Ok((rest, w))
        } else {
            fail(input, kw)
        }
    }
}

/// A lower-case identifier: relation names and symbols.
pub(super) fn ident(input: Input<'_>) -> PResult<'_, Name> {
    let (input, _) = ws(input)?;
    let (rest, w) = word(input)?;
    if w.fragment().starts_with(|c: char| c.is_ascii_lowercase()) {
        Ok((
            rest,
            Name {
                text: w.fragment().to_string(),
                span: span_of(&input, &rest),
            },
        ))
    } else {
        fail(input, "a name starting with a lower-case letter")
    }
}

fn variable(input: Input<'_>) -> PResult<'_, Name> {
    let (input, _) = ws(input)?;
    let (rest, w) = word(input)?;
    if w.fragment()
        .starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
    {
        Ok((
            rest,
            Name {
                text: w.fragment().to_string(),
                span: span_of(&input, &rest),
            },
        ))
    } else {
        fail(input, "a variable")
    }
}

pub(super) fn string_literal(input: Input<'_>) -> PResult<'_, String> {
    let (mut rest, _) = char('"')(input)?;
    let mut out = String::new();
    loop {
        let mut chars = rest.fragment().chars();
        match chars.next() {
            None | Some('\n') => {
                return fail_hard(
                    input,
                    "a closing `\"`",
                    Some("strings end on the line they start; write a newline as `\\n`"),
                )
            }
            Some('"') => return Ok((rest.take_split(1).0, out)),
            Some('\\') => {
                let escaped = match chars.next() {
                    Some('"') => '"',
                    Some('\\') => '\\',
                    Some('n') => '\n',
                    Some('t') => '\t',
                    Some('r') => '\r',
                    _ => {
                        let (at, _) = rest.take_split(0);
                        return fail_hard(
                            at,
                            "an escape: `\\\"`, `\\\\`, `\\n`, `\\t` or `\\r`",
                            None,
                        );
                    }
                };
                out.push(escaped);
                rest = rest.take_split(2).0;
            }
            Some(c) => {
                out.push(c);
                rest = rest.take_split(c.len_utf8()).0;
            }
        }
    }
}

fn date_literal(input: Input<'_>) -> PResult<'_, Value> {
    let (rest, text) = recognize(tuple((
        nom::bytes::complete::take_while_m_n(4, 4, |c: char| c.is_ascii_digit()),
        char('-'),
        nom::bytes::complete::take_while_m_n(2, 2, |c: char| c.is_ascii_digit()),
        char('-'),
        nom::bytes::complete::take_while_m_n(2, 2, |c: char| c.is_ascii_digit()),
    )))(input)?;
    if rest
        .fragment()
        .starts_with(|c: char| c.is_ascii_alphanumeric())
    {
        return fail(input, "a date");
    }
    match Value::parse_date(text.fragment()) {
        Some(date) => Ok((rest, date)),
        None => fail_hard(
            input,
            "a valid date",
            Some("dates are YYYY-MM-DD with a month 01-12 and a day that exists in it"),
        ),
    }
}

pub(super) fn number_literal(input: Input<'_>) -> PResult<'_, Value> {
    let (rest, text) = recognize(tuple((
        opt(char('-')),
        digit1,
        opt(tuple((
            char('.'),
            digit1,
            opt(tuple((one_of("eE"), opt(one_of("+-")), digit1))),
        ))),
    )))(input)?;
    if rest
        .fragment()
        .starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
    {
        return fail_hard(
            input,
            "a number",
            Some("names cannot start with a digit; quote it as a string"),
        );
    }
    let text = *text.fragment();
    if text.contains('.') {
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok((rest, Value::Float(x))),
            _ => fail_hard(input, "a finite float", None),
        }
    } else {
        match text.parse::<i64>() {
            Ok(i) => Ok((rest, Value::Int(i))),
            Err(_) => fail_hard(
                input,
                "an integer that fits in 64 bits",
                Some("write large numbers as floats or strings"),
            ),
        }
    }
}

/// A constant: string, date, number or symbol.
fn constant(input: Input<'_>) -> PResult<'_, (Value, Span)> {
    let (input, _) = ws(input)?;
    let (rest, value) = alt((
        |i| string_literal(i).map(|(r, s)| (r, Value::text(&s))),
        date_literal,
        number_literal,
        |i| ident(i).map(|(r, n)| (r, Value::text(&n.text))),
    ))(input)?;
    Ok((rest, (value, span_of(&input, &rest))))
}

fn term(input: Input<'_>) -> PResult<'_, Term> {
    let (input, _) = ws(input)?;
    if let Ok((rest, var)) = variable(input) {
        return Ok((rest, Term::Var(var)));
    }
    match constant(input) {
        Ok((rest, (value, span))) => Ok((rest, Term::Const(value, span))),
        Err(nom::Err::Error(_)) => fail(input, "a term (a variable or a constant)"),
        Err(e) => Err(e),
    }
}

/// A comma-separated list of `item` between `(` and `)`; the opening parenthesis is a
/// commit point.
fn parenthesised<'a, T>(
    what: &'static str,
    mut item: impl FnMut(Input<'a>) -> PResult<'a, T>,
) -> impl FnMut(Input<'a>) -> PResult<'a, Vec<T>> {
    move |input| {
        let (mut input, _) = punct("(")(input)?;
        let mut items = Vec::new();
        if let Ok((rest, _)) = punct(")")(input) {
            return Ok((rest, items));
        }
        loop {
            let (rest, value) = cut(expect(what, &mut item)(input))?;
            items.push(value);
            input = rest;
            if let Ok((rest, _)) = punct(",")(input) {
                input = rest;
                continue;
            }
            let (rest, _) = cut(expect("`,` or `)`", punct(")"))(input))?;
            return Ok((rest, items));
        }
    }
}

pub(super) fn atom(input: Input<'_>) -> PResult<'_, Atom> {
    let (input, _) = ws(input)?;
    let (rest, predicate) = ident(input)?;
    let (rest, args) = parenthesised("a term (a variable or a constant)", term)(rest)?;
    Ok((
        rest,
        Atom {
            predicate,
            args,
            span: span_of(&input, &rest),
        },
    ))
}

fn operand(input: Input<'_>) -> PResult<'_, Expr> {
    if let Ok((rest, _)) = punct("(")(input) {
        let (rest, inner) = cut(expect("an expression", expr)(rest))?;
        let (rest, _) = cut(expect("`)`", punct(")"))(rest))?;
        return Ok((rest, inner));
    }
    let (rest, t) = term(input)?;
    Ok((rest, Expr::Term(t)))
}

fn binary_level<'a>(
    input: Input<'a>,
    operators: &'static [(&'static str, BinOp)],
    next: fn(Input<'a>) -> PResult<'a, Expr>,
) -> PResult<'a, Expr> {
    let (mut input, mut left) = next(input)?;
    'outer: loop {
        for (token, op) in operators {
            if let Ok((rest, _)) = punct(token)(input) {
                let (rest, right) = cut(expect("an operand", next)(rest))?;
                let span = left.span().to(right.span());
                left = Expr::Bin(Box::new(left), *op, Box::new(right), span);
                input = rest;
                continue 'outer;
            }
        }
        return Ok((input, left));
    }
}

fn product(input: Input<'_>) -> PResult<'_, Expr> {
    binary_level(
        input,
        &[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Rem)],
        operand,
    )
}

fn expr(input: Input<'_>) -> PResult<'_, Expr> {
    binary_level(input, &[("+", BinOp::Add), ("-", BinOp::Sub)], product)
}

pub(super) fn cmp_op(input: Input<'_>) -> PResult<'_, CmpOp> {
    let (input, _) = ws(input)?;
    alt((
        |i| tag("!=")(i).map(|(r, _)| (r, CmpOp::Ne)),
        |i| tag("<=")(i).map(|(r, _)| (r, CmpOp::Le)),
        |i| tag(">=")(i).map(|(r, _)| (r, CmpOp::Ge)),
        |i| tag("<")(i).map(|(r, _)| (r, CmpOp::Lt)),
        |i| tag(">")(i).map(|(r, _)| (r, CmpOp::Gt)),
        |i| tag("=")(i).map(|(r, _)| (r, CmpOp::Eq)),
    ))(input)
}

fn comparison(input: Input<'_>) -> PResult<'_, Cmp> {
    let (input, _) = ws(input)?;
    let (rest, left) = expr(input)?;
    let (rest, op) = cut(expect(
        "a comparison (`=`, `!=`, `<`, `<=`, `>`, `>=`)",
        cmp_op,
    )(rest))?;
    let (rest, right) = cut(expect("an expression", expr)(rest))?;
    Ok((
        rest,
        Cmp {
            left,
            op,
            right,
            span: span_of(&input, &rest),
        },
    ))
}

fn agg_fn(input: Input<'_>) -> PResult<'_, AggFn> {
    let (rest, w) = word(input)?;
    let function = match *w.fragment() {
        "count" => AggFn::Count,
        "sum" => AggFn::Sum,
        "min" => AggFn::Min,
        "max" => AggFn::Max,
        _ => return fail(input, "an aggregate"),
    };
    // `count` followed by `(` is an aggregate; `count` alone is a symbol.
    match punct("(")(rest) {
        Ok(_) => Ok((rest, function)),
        Err(_) => fail(input, "an aggregate"),
    }
}

fn aggregate(input: Input<'_>) -> PResult<'_, Aggregate> {
    let (input, _) = ws(input)?;
    let (rest, result) = variable(input)?;
    let (rest, _) = punct("=")(rest)?;
    let (rest, _) = ws(rest)?;
    let (rest, function) = agg_fn(rest)?;
    // Committed: `V = count(` can only be an aggregate.
    let (mut rest, _) = punct("(")(rest)?;
    let mut targets = Vec::new();
    if punct(":")(rest).is_err() {
        loop {
            let (r, var) = cut(expect("a variable to aggregate", variable)(rest))?;
            targets.push(var);
            rest = r;
            match punct(",")(rest) {
                Ok((r, _)) => rest = r,
                Err(_) => break,
            }
        }
    }
    let (mut rest, _) = cut(expect(
        "`:` between the aggregated variables and the body",
        punct(":"),
    )(rest))?;
    let mut body = Vec::new();
    loop {
        let (r, literal) = cut(expect("a literal", |i| literal(i, false))(rest))?;
        body.push(literal);
        rest = r;
        match punct(",")(rest) {
            Ok((r, _)) => rest = r,
            Err(_) => break,
        }
    }
    let (rest, _) = cut(expect("`,` or `)` to close the aggregate", punct(")"))(
        rest,
    ))?;
    Ok((
        rest,
        Aggregate {
            result,
            function,
            targets,
            body,
            span: span_of(&input, &rest),
        },
    ))
}

/// One body literal; aggregates are allowed only at the top level of a rule body.
fn literal(input: Input<'_>, allow_aggregate: bool) -> PResult<'_, Literal> {
    let (input, _) = ws(input)?;
    if let Ok((after_not, not_kw)) = keyword("not")(input) {
        let (rest, negated) = cut(expect("an atom after `not`", atom)(after_not))?;
        let span = span_of(&input, &rest);
        let _ = not_kw;
        return Ok((rest, Literal::Neg(negated, span)));
    }
    if let Ok((rest, a)) = atom(input) {
        return Ok((rest, Literal::Pos(a)));
    }
    if allow_aggregate {
        match aggregate(input) {
            Ok((rest, agg)) => return Ok((rest, Literal::Agg(agg))),
            Err(nom::Err::Failure(e)) => return Err(nom::Err::Failure(e)),
            Err(nom::Err::Error(_)) | Err(nom::Err::Incomplete(_)) => {}
        }
    }
    // A failure inside an atom (after its `(`) must surface rather than be retried as
    // a comparison.
    if let Err(nom::Err::Failure(e)) = atom(input) {
        return Err(nom::Err::Failure(e));
    }
    match comparison(input) {
        Ok((rest, cmp)) => Ok((rest, Literal::Cmp(cmp))),
        Err(nom::Err::Error(e)) if e.at.location_offset() <= input.location_offset() => {
            fail(input, "a literal: an atom, `not` an atom, or a comparison")
        }
        Err(e) => Err(e),
    }
}

fn annotation(input: Input<'_>) -> PResult<'_, Annotation> {
    let (input, _) = ws(input)?;
    let (rest, _) = char('@')(input)?;
    let (rest, name) = cut(expect("an annotation name after `@`", |i| {
        let (r, w) = word(i)?;
        Ok((
            r,
            Name {
                text: w.fragment().to_string(),
                span: span_of(&i, &r),
            },
        ))
    })(rest))?;
    let mut args = Vec::new();
    let mut rest = rest;
    if punct("(")(rest).is_ok() {
        let (r, parsed) = parenthesised("a constant", |i| {
            // Bare words such as `B2` in `@grade(B2)` are text here, not variables.
            let (i, _) = ws(i)?;
            match constant(i) {
                Ok(ok) => Ok(ok),
                Err(nom::Err::Error(_)) => {
                    let (r, w) = word(i)?;
                    Ok((r, (Value::text(w.fragment()), span_of(&i, &r))))
                }
                Err(e) => Err(e),
            }
        })(rest)?;
        args = parsed;
        rest = r;
    }
    Ok((
        rest,
        Annotation {
            name,
            args,
            span: span_of(&input, &rest),
        },
    ))
}

fn annotations(mut input: Input<'_>) -> PResult<'_, Vec<Annotation>> {
    let mut out = Vec::new();
    loop {
        match annotation(input) {
            Ok((rest, a)) => {
                out.push(a);
                input = rest;
            }
            Err(nom::Err::Error(_)) => return Ok((input, out)),
            Err(e) => return Err(e),
        }
    }
}

fn column(input: Input<'_>) -> PResult<'_, Column> {
    let (input, _) = ws(input)?;
    let (rest, first) = expect("a column name or type", |i| {
        let (r, w) = word(i)?;
        Ok((
            r,
            Name {
                text: w.fragment().to_string(),
                span: span_of(&i, &r),
            },
        ))
    })(input)?;
    if let Ok((rest, _)) = punct(":")(rest) {
        let (rest, ty) = cut(expect("a type (sym, str, int, float, date, any)", ident)(
            rest,
        ))?;
        return Ok((
            rest,
            Column {
                name: Some(first),
                ty,
            },
        ));
    }
    Ok((
        rest,
        Column {
            name: None,
            ty: first,
        },
    ))
}

pub(super) fn statement_end(input: Input<'_>) -> PResult<'_, ()> {
    let (rest, _) = punct(".")(input)?;
    Ok((rest, ()))
}

pub(super) fn item(input: Input<'_>) -> PResult<'_, Item> {
    let (input, doc) = leading(input)?;
    let start = input;
    let (input, mut annots) = annotations(input)?;
    if let Ok((rest, _)) = keyword("rel")(input) {
        if ident(rest).is_ok() {
            let (rest, name) = ident(rest)?;
            let (rest, columns) = cut(expect(
                "`(` and the relation's columns",
                parenthesised("a column (`name: type`)", column),
            )(rest))?;
            let (rest, more) = annotations(rest)?;
            annots.extend(more);
            let (rest, _) = cut(expect("`.` to end the declaration", statement_end)(rest))?;
            return Ok((
                rest,
                Item::Decl(Decl {
                    doc,
                    annotations: annots,
                    name,
                    columns,
                    span: span_of(&start, &rest),
                }),
            ));
        }
    }
    let (rest, head) = match atom(input) {
        Ok(ok) => ok,
        Err(nom::Err::Error(_)) => {
            let (at, _) = ws(input)?;
            if variable(at).is_ok() {
                return fail_hard(
                    at,
                    "a relation name",
                    Some("relation names start with a lower-case letter; upper-case words are variables"),
                );
            }
            return fail(at, "a rule, a fact or a `rel` declaration");
        }
        Err(e) => return Err(e),
    };
    let mut body = Vec::new();
    let mut rest = rest;
    let mut has_arrow = false;
    if let Ok((r, _)) = punct(":-")(rest) {
        has_arrow = true;
        rest = r;
        if statement_end(rest).is_err() {
            loop {
                let (r, lit) = cut(expect(
                    "a literal: an atom, `not` an atom, a comparison or an aggregate",
                    |i| literal(i, true),
                )(rest))?;
                body.push(lit);
                rest = r;
                match punct(",")(rest) {
                    Ok((r, _)) => rest = r,
                    Err(_) => break,
                }
            }
        }
    }
    let (rest, more) = annotations(rest)?;
    annots.extend(more);
    let rest = match statement_end(rest) {
        Ok((rest, _)) => rest,
        // Point just after the last token, where the `.` is missing, rather than at
        // whatever follows on the next line.
        Err(nom::Err::Error(_)) => {
            let (next, _) = ws(rest)?;
            let expected = if has_arrow {
                "`,` or `.` after a literal"
            } else {
                "`:-` or `.` after the atom"
            };
            let at = if next
                .fragment()
                .starts_with(|c: char| c.is_ascii_alphabetic() || c == '@')
                && next.get_column() == 1
            {
                rest
            } else {
                next
            };
            return fail_hard(at, expected, None);
        }
        Err(e) => return Err(e),
    };
    Ok((
        rest,
        Item::Clause(Clause {
            doc,
            annotations: annots,
            head,
            body,
            has_arrow,
            span: span_of(&start, &rest),
        }),
    ))
}

/// Byte offset just after the `.` ending the statement that contains `from`, skipping
/// strings, comments and decimal points.
pub(super) fn resync(text: &str, from: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                // An unterminated string ends the broken statement at its line's end.
                if bytes.get(i) != Some(&b'"') {
                    return (i + 1).min(bytes.len());
                }
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => match text[i + 2..].find("*/") {
                Some(end) => i += 2 + end + 2,
                None => return bytes.len(),
            },
            b'.' => {
                let decimal = i > 0
                    && bytes[i - 1].is_ascii_digit()
                    && bytes.get(i + 1).is_some_and(|b| b.is_ascii_digit());
                if !decimal {
                    return i + 1;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    bytes.len().max(from)
}

/// When a statement ends at a line break without its `.`, the next line that starts
/// in column 1 with a letter or `@` is taken as the next statement, if it comes before
/// the next `.`.
fn next_statement_line(text: &str, from: usize) -> Option<usize> {
    let dot = resync(text, from);
    let mut offset = from;
    for line in text[from..].split_inclusive('\n').skip(1) {
        offset += text[offset..].find('\n')? + 1;
        if offset >= dot {
            return None;
        }
        if line.starts_with(|c: char| c.is_ascii_alphabetic() || c == '@') {
            return Some(offset);
        }
    }
    None
}

pub(super) fn describe_found(at: &Input<'_>) -> String {
    let rest = at.fragment();
    let Some(first) = rest.chars().next() else {
        return "end of file".to_string();
    };
    if first.is_ascii_alphanumeric() || first == '_' {
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        format!("`{}`", &rest[..end.min(40)])
    } else if first == '\n' {
        "end of line".to_string()
    } else {
        format!("`{first}`")
    }
}

pub(super) fn found_span(at: &Input<'_>) -> Span {
    let start = at.location_offset();
    let rest = at.fragment();
    let len = match rest.chars().next() {
        None | Some('\n' | '\r') => 0,
        Some(c) if c.is_ascii_alphanumeric() || c == '_' => rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len()),
        Some(c) => c.len_utf8(),
    };
    Span::new(at.extra, start, start + len)
}

/// The deepest nesting of parentheses the grammar accepts: far beyond what any rule
/// needs, and well within the parser's stack (it recurses once per level).
pub const MAX_NESTING: usize = 256;

/// An `E0002` diagnostic at the first parenthesis nested deeper than [`MAX_NESTING`],
/// outside strings and comments, if there is one.
pub(super) fn too_deep(source: SourceId, text: &str) -> Option<Diagnostic> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => match text[i + 2..].find("*/") {
                Some(end) => i += 2 + end + 1,
                None => return None,
            },
            b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(
                        Diagnostic::error(
                            "E0002",
                            format!("parentheses nested more than {MAX_NESTING} deep"),
                            Span::new(source, i, i + 1),
                        )
                        .with_label(format!("level {} starts here", MAX_NESTING + 1))
                        .with_note("the file is not parsed further")
                        .with_help("split the expression with intermediate variables, e.g. `A = (X + 1), B = A * 2`"),
                    );
                }
            }
            b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Parses one rule or fact file. Returns every statement that parsed, and a diagnostic
/// (code `E0001`) for each that did not; parsing resumes after the failed statement. A
/// file with parentheses nested deeper than 256 levels gets one `E0002` instead.
pub fn parse(source: SourceId, text: &str) -> (Module, Vec<Diagnostic>) {
    let mut module = Module::default();
    let mut diagnostics = Vec::new();
    if let Some(diagnostic) = too_deep(source, text) {
        return (module, vec![diagnostic]);
    }
    let mut input = Input::new_extra(text, source);
    // A leading byte-order mark is not text (fact loaders skip it too); spans keep
    // counting from the start of the file.
    if text.starts_with('\u{feff}') {
        input = input.slice('\u{feff}'.len_utf8()..);
    }
    loop {
        let at_end = match leading(input) {
            Ok((rest, _)) => rest.fragment().is_empty(),
            Err(_) => false,
        };
        if at_end {
            break;
        }
        match item(input) {
            Ok((rest, parsed)) => {
                module.items.push(parsed);
                input = rest;
            }
            Err(nom::Err::Error(e)) | Err(nom::Err::Failure(e)) => {
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
                    diagnostic =
                        diagnostic.with_help("every rule, fact and declaration ends with `.`");
                }
                diagnostics.push(diagnostic);
                let from = e.at.location_offset().max(input.location_offset());
                let next =
                    if e.at.fragment().starts_with(['\n', '\r']) || e.at.fragment().is_empty() {
                        next_statement_line(text, from).unwrap_or_else(|| resync(text, from))
                    } else {
                        resync(text, from)
                    };
                if next >= text.len() {
                    break;
                }
                input = Input::new_extra(text, source).take_split(next).0;
            }
            Err(nom::Err::Incomplete(_)) => break,
        }
    }
    (module, diagnostics)
}
