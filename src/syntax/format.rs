//! The canonical layout of rule and fact files, as printed by `ascribe fmt`.
//!
//! [`format()`] is a pure function from a file's text to its formatted text. It owns three
//! invariants, and checks the first two on every call before returning:
//!
//! - the formatted text parses to the same tree as the input, spans aside
//!   ([`equivalent`]);
//! - every comment of the input (`//`, `/* */`, `///`) is in the output, in the same
//!   order, with the same text (trailing whitespace of line comments aside);
//! - formatting is idempotent: formatting the output changes nothing.
//!
//! The parser skips comments as whitespace, so they are recovered here from the text
//! between and inside the spans of the tree. A comment at a place the layout has no slot
//! for (inside an atom, between two annotations, ...) keeps its whole statement as it
//! was written. The layout itself is described in the "Formatting" section of
//! `docs/language.md`.

use std::ops::Range;

use super::ast::*;
use super::parse;
use crate::diagnostic::{Diagnostic, SourceId, Span};
use crate::value::{write_quoted, Value};

/// The widest line the formatter writes when it has a choice: a statement longer than
/// this is broken over several lines. Long strings and names can still exceed it.
pub const MAX_WIDTH: usize = 90;

/// Indentation of continuation lines (rule bodies, broken argument lists).
const INDENT: usize = 4;

/// Formats one rule or fact file.
///
/// Returns the formatted text (ending with one newline unless the file is empty), or the
/// file's syntax errors (`E0001`), in which case nothing should be written. `E0901`
/// means the formatter could not reproduce the file faithfully (a bug in the formatter);
/// the file should then be left as it is.
pub fn format(source: SourceId, text: &str) -> Result<String, Vec<Diagnostic>> {
    let (module, diagnostics) = parse(source, text);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(diagnostics);
    }
    let comments = scan_comments(text);
    let mut printer = Printer {
        text,
        comments: &comments,
        out: String::new(),
    };
    printer.items(&module.items, 0..text.len(), 0);
    let mut out = printer.out;
    if !out.is_empty() {
        out.push('\n');
    }
    match verify(source, &module, &comments, &out) {
        Ok(()) => Ok(out),
        Err(problem) => Err(vec![Diagnostic::error(
            "E0901",
            format!("cannot format this file: {problem}"),
            Span::new(source, 0, 0),
        )
        .with_label("the file is left as it is")
        .with_help("this is a bug in `ascribe fmt`; please report it with the file")]),
    }
}

/// Checks the output against the input: same tree, same comments.
fn verify(
    source: SourceId,
    module: &Module,
    comments: &[Comment<'_>],
    out: &str,
) -> Result<(), &'static str> {
    let (reparsed, diagnostics) = parse(source, out);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err("the formatted text does not parse");
    }
    if !equivalent(module, &reparsed) {
        return Err("the formatted text would mean something else");
    }
    let after = scan_comments(out);
    if comments.len() != after.len() || comments.iter().zip(&after).any(|(a, b)| a.text != b.text) {
        return Err("a comment would be lost or changed");
    }
    Ok(())
}

/// A comment found in the text: `//` to the end of the line, or `/*` to `*/`.
#[derive(Clone, Copy, Debug)]
struct Comment<'a> {
    /// 0-based byte offset of the first `/`.
    start: usize,
    /// 0-based byte offset just past the comment (before the line break of a line
    /// comment).
    end: usize,
    /// The comment as written, without trailing whitespace for a line comment.
    text: &'a str,
}

impl Comment<'_> {
    /// Whether this is a `///` doc comment, which documents the next item when it stands
    /// before one.
    fn is_doc(&self) -> bool {
        self.text.starts_with("///") && !self.text.starts_with("////")
    }
}

/// Every comment of `text`, in order. Comments are recognised as the parser's `ws` does:
/// anywhere outside a string literal.
fn scan_comments(text: &str) -> Vec<Comment<'_>> {
    let bytes = text.as_bytes();
    let mut comments = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            // Only an ASCII `/` starts a comment, so every slice below starts on a
            // character boundary.
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                comments.push(Comment {
                    start: i,
                    end,
                    text: text[i..end].trim_end(),
                });
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..]
                    .find("*/")
                    .map_or(text.len(), |n| i + 2 + n + 2);
                comments.push(Comment {
                    start: i,
                    end,
                    text: &text[i..end],
                });
                i = end;
            }
            _ => i += 1,
        }
    }
    comments
}

/// Whether two trees are the same program up to layout: equal in everything but spans.
/// Floats compare by their bits, so `0.0` and `-0.0` differ.
pub fn equivalent(a: &Module, b: &Module) -> bool {
    a.items.len() == b.items.len()
        && a.items.iter().zip(&b.items).all(|pair| match pair {
            (Item::Decl(x), Item::Decl(y)) => {
                x.doc == y.doc
                    && same_annotations(&x.annotations, &y.annotations)
                    && x.name.text == y.name.text
                    && x.columns.len() == y.columns.len()
                    && x.columns.iter().zip(&y.columns).all(|(c, d)| {
                        c.name.as_ref().map(|n| &n.text) == d.name.as_ref().map(|n| &n.text)
                            && c.ty.text == d.ty.text
                    })
            }
            (Item::Clause(x), Item::Clause(y)) => {
                x.doc == y.doc
                    && same_annotations(&x.annotations, &y.annotations)
                    && same_atom(&x.head, &y.head)
                    && x.has_arrow == y.has_arrow
                    && same_literals(&x.body, &y.body)
            }
            _ => false,
        })
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Text(x), Value::Text(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (Value::Date(x), Value::Date(y)) => x == y,
        _ => false,
    }
}

fn same_annotations(a: &[Annotation], b: &[Annotation]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.name.text == y.name.text
                && x.args.len() == y.args.len()
                && x.args
                    .iter()
                    .zip(&y.args)
                    .all(|((v, _), (w, _))| same_value(v, w))
        })
}

fn same_term(a: &Term, b: &Term) -> bool {
    match (a, b) {
        (Term::Var(x), Term::Var(y)) => x.text == y.text,
        (Term::Const(v, _), Term::Const(w, _)) => same_value(v, w),
        _ => false,
    }
}

fn same_atom(a: &Atom, b: &Atom) -> bool {
    a.predicate.text == b.predicate.text
        && a.args.len() == b.args.len()
        && a.args.iter().zip(&b.args).all(|(x, y)| same_term(x, y))
}

fn same_expr(a: &Expr, b: &Expr) -> bool {
    match (a, b) {
        (Expr::Term(x), Expr::Term(y)) => same_term(x, y),
        (Expr::Bin(l, op, r, _), Expr::Bin(m, op2, s, _)) => {
            op == op2 && same_expr(l, m) && same_expr(r, s)
        }
        _ => false,
    }
}

fn same_literals(a: &[Literal], b: &[Literal]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|pair| match pair {
            (Literal::Pos(x), Literal::Pos(y)) | (Literal::Neg(x, _), Literal::Neg(y, _)) => {
                same_atom(x, y)
            }
            (Literal::Cmp(x), Literal::Cmp(y)) => {
                x.op == y.op && same_expr(&x.left, &y.left) && same_expr(&x.right, &y.right)
            }
            (Literal::Agg(x), Literal::Agg(y)) => {
                x.result.text == y.result.text
                    && x.function == y.function
                    && x.targets.len() == y.targets.len()
                    && x.targets
                        .iter()
                        .zip(&y.targets)
                        .all(|(s, t)| s.text == t.text)
                    && same_literals(&x.body, &y.body)
            }
            _ => false,
        })
}

/// A value written as a constant of the rule language that reads back as exactly that
/// value: text bare when it is a symbol, else quoted with escapes; integers; floats with
/// the shortest digits that give the same bits (always with a point); dates
/// `YYYY-MM-DD`. Used by writers of `.facts` files (`run --output`).
pub fn constant_text(value: &Value) -> String {
    match value {
        Value::Float(x) => float_text(*x),
        other => other.to_string(),
    }
}

/// Writes a float so that it reads back as the same bits: the shortest decimal that
/// round-trips, positional for exponents -5 to 15 (`0.1`, `-0.0`, `1500.0`), else
/// scientific with a decimal point, which the grammar requires (`1.0e-7`, `1.5e300`).
fn float_text(x: f64) -> String {
    if !x.is_finite() {
        // The parser rejects non-finite floats, so no parsed file holds one.
        return format!("{x}");
    }
    // `{:e}` writes the shortest digits that round-trip: `1.2345e3`, `1e-7`, `0e0`.
    let scientific = format!("{:e}", x.abs());
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return format!("{x:?}");
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return format!("{x:?}");
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let body = if (0..=15).contains(&exponent) {
        let whole = exponent as usize + 1;
        if digits.len() > whole {
            format!("{}.{}", &digits[..whole], &digits[whole..])
        } else {
            format!("{digits}{}.0", "0".repeat(whole - digits.len()))
        }
    } else if (-5..0).contains(&exponent) {
        format!("0.{}{digits}", "0".repeat((-exponent - 1) as usize))
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{first}.{rest}e{exponent}")
    };
    format!("{sign}{body}")
}

/// Display width of a line: characters, not bytes.
fn width(text: &str) -> usize {
    text.chars().count()
}

/// Width of the last line of `text`.
fn last_line_width(text: &str) -> usize {
    width(text.rsplit('\n').next().unwrap_or(text))
}

fn spaces(n: usize) -> String {
    " ".repeat(n)
}

/// The span of a body literal.
fn literal_span(literal: &Literal) -> Span {
    match literal {
        Literal::Pos(atom) => atom.span,
        Literal::Neg(_, span) => *span,
        Literal::Cmp(cmp) => cmp.span,
        Literal::Agg(agg) => agg.span,
    }
}

/// The span of an item, from its first annotation (doc comments excluded) to its `.`.
fn item_span(item: &Item) -> Span {
    match item {
        Item::Decl(decl) => decl.span,
        Item::Clause(clause) => clause.span,
    }
}

/// Precedence of an arithmetic operator: higher binds tighter.
fn precedence(op: BinOp) -> u8 {
    match op {
        BinOp::Add | BinOp::Sub => 1,
        BinOp::Mul | BinOp::Div | BinOp::Rem => 2,
    }
}

/// A comment in a rule at a place the layout has a slot for.
#[derive(Default)]
struct Attached<'c> {
    /// On the line of the annotations before the rule.
    annotations: Vec<&'c Comment<'c>>,
    /// On their own lines between the annotations and the head; `true` when the comment
    /// continues the line of the one before.
    head: Vec<(&'c Comment<'c>, bool)>,
    /// On the line of piece `i` (0 the head, `i` the `i`-th literal), after its `:-`, `,`
    /// or `.`.
    trailing: Vec<Vec<&'c Comment<'c>>>,
    /// On their own lines before literal `i` (index 0 unused).
    leading: Vec<Vec<(&'c Comment<'c>, bool)>>,
}

/// Builds the formatted text.
struct Printer<'a> {
    text: &'a str,
    /// Every comment of the file, in order.
    comments: &'a [Comment<'a>],
    out: String,
}

impl<'a> Printer<'a> {
    /// The comments lying wholly in `range`.
    fn comments_in(&self, range: Range<usize>) -> &'a [Comment<'a>] {
        let comments: &'a [Comment<'a>] = self.comments;
        let from = comments.partition_point(|c| c.start < range.start);
        let to = comments.partition_point(|c| c.start < range.end);
        let slice = &comments[from..to.max(from)];
        let whole = slice.partition_point(|c| c.end <= range.end);
        &slice[..whole]
    }

    /// Whether the source has a line break between two offsets.
    fn breaks(&self, from: usize, to: usize) -> bool {
        self.text[from..to.max(from)].contains('\n')
    }

    /// Starts a new line for the next element, with one blank line before it if the
    /// source had at least one there.
    fn new_line(&mut self, from: usize, to: usize, started: bool) {
        if started {
            self.out.push('\n');
            if self.text[from..to.max(from)].matches('\n').count() >= 2 {
                self.out.push('\n');
            }
        }
    }

    /// Writes the items of `region` (the whole file, or the inside of a block) at
    /// `indent`, with the comments between them: a comment on the line where the previous
    /// element ends stays on that line, any other gets its own line, and runs of blank
    /// lines become one. Writes no final line break.
    fn items(&mut self, items: &[Item], region: Range<usize>, indent: usize) {
        let mut last_end = region.start;
        let mut started = false;
        for item in items {
            let span = item_span(item).range();
            self.gap_comments(last_end, span.start, indent, &mut started, &mut last_end);
            self.new_line(last_end, span.start, started);
            let text = self.item(item, indent);
            self.out.push_str(&text);
            last_end = span.end;
            started = true;
        }
        self.gap_comments(last_end, region.end, indent, &mut started, &mut last_end);
    }

    /// Writes the comments between `from` and `to`, outside any item.
    fn gap_comments(
        &mut self,
        from: usize,
        to: usize,
        indent: usize,
        started: &mut bool,
        last_end: &mut usize,
    ) {
        for comment in self.comments_in(from..to) {
            if *started && !self.breaks(*last_end, comment.start) {
                self.out.push(' ');
            } else {
                self.new_line(*last_end, comment.start, *started);
                self.out.push_str(&spaces(indent));
            }
            self.out.push_str(comment.text);
            *last_end = comment.end;
            *started = true;
        }
    }

    /// One item at `indent`, every line indented, without a final line break.
    fn item(&self, item: &Item, indent: usize) -> String {
        let formatted = match item {
            Item::Decl(decl) => self.decl(decl, indent),
            Item::Clause(clause) => self.clause(clause, indent),
        };
        formatted.unwrap_or_else(|| self.verbatim(item_span(item), indent))
    }

    /// A statement as written, with trailing whitespace removed and its first line
    /// moved to `indent`: for statements holding a comment the layout has no slot for.
    fn verbatim(&self, span: Span, indent: usize) -> String {
        let lines: Vec<&str> = self.text[span.range()].lines().map(str::trim_end).collect();
        format!("{}{}", spaces(indent), lines.join("\n"))
    }

    fn annotation(&self, annotation: &Annotation) -> String {
        let mut out = format!("@{}", annotation.name.text);
        if !annotation.args.is_empty() {
            let args: Vec<String> = annotation
                .args
                .iter()
                .map(|(value, span)| self.constant(value, *span))
                .collect();
            out.push('(');
            out.push_str(&args.join(", "));
            out.push(')');
        }
        out
    }

    /// Annotations on one line, or one per line when that line would be too long.
    fn annotation_lines(&self, annotations: &[Annotation], indent: usize) -> String {
        let texts: Vec<String> = annotations.iter().map(|a| self.annotation(a)).collect();
        let flat = texts.join(" ");
        if texts.len() == 1 || indent + width(&flat) <= MAX_WIDTH {
            format!("{}{flat}", spaces(indent))
        } else {
            let pad = spaces(indent);
            texts
                .iter()
                .map(|t| format!("{pad}{t}"))
                .collect::<Vec<_>>()
                .join("\n")
        }
    }

    fn decl(&self, decl: &Decl, indent: usize) -> Option<String> {
        if !self
            .comments_in(decl.span.start as usize..decl.span.end as usize)
            .is_empty()
        {
            return None;
        }
        let mut out = String::new();
        if !decl.annotations.is_empty() {
            out.push_str(&self.annotation_lines(&decl.annotations, indent));
            out.push('\n');
        }
        let columns: Vec<String> = decl
            .columns
            .iter()
            .map(|c| match &c.name {
                Some(name) => format!("{}: {}", name.text, c.ty.text),
                None => c.ty.text.clone(),
            })
            .collect();
        let flat = format!("rel {}({}).", decl.name.text, columns.join(", "));
        if columns.is_empty() || indent + width(&flat) <= MAX_WIDTH {
            out.push_str(&spaces(indent));
            out.push_str(&flat);
        } else {
            let inner = spaces(indent + INDENT);
            let columns: Vec<String> = columns.iter().map(|c| format!("{inner}{c}")).collect();
            out.push_str(&format!(
                "{pad}rel {}(\n{}\n{pad}).",
                decl.name.text,
                columns.join(",\n"),
                pad = spaces(indent)
            ));
        }
        Some(out)
    }

    fn clause(&self, clause: &Clause, indent: usize) -> Option<String> {
        let inner = self.comments_in(clause.span.range());
        if !clause.has_arrow || clause.body.is_empty() {
            if !inner.is_empty() {
                return None;
            }
            return Some(if clause.has_arrow {
                let mut out = String::new();
                if !clause.annotations.is_empty() {
                    out.push_str(&self.annotation_lines(&clause.annotations, indent));
                    out.push('\n');
                }
                out.push_str(&format!(
                    "{}{} :- .",
                    spaces(indent),
                    self.atom_flat(&clause.head)
                ));
                out
            } else {
                self.fact(clause, indent)
            });
        }
        let attached = self.attach(clause, inner)?;
        Some(self.rule(clause, indent, &attached))
    }

    /// A fact: the atom, then its annotations on the same line when they fit, else on
    /// the next line, indented.
    fn fact(&self, clause: &Clause, indent: usize) -> String {
        let pad = spaces(indent);
        let head = self.atom_flat(&clause.head);
        let annotations: Vec<String> = clause
            .annotations
            .iter()
            .map(|a| self.annotation(a))
            .collect();
        let annotations = annotations.join(" ");
        let one_line = if annotations.is_empty() {
            format!("{head}.")
        } else {
            format!("{head} {annotations}.")
        };
        if indent + width(&one_line) <= MAX_WIDTH {
            return format!("{pad}{one_line}");
        }
        if annotations.is_empty() {
            return format!("{pad}{}.", self.atom(&clause.head, indent, indent, 1));
        }
        let head = format!("{pad}{}", self.atom(&clause.head, indent, indent, 0));
        // One space before the annotations and the final `.`.
        if last_line_width(&head) + width(&annotations) + 2 <= MAX_WIDTH {
            format!("{head} {annotations}.")
        } else {
            format!("{head}\n{}{annotations}.", spaces(indent + INDENT))
        }
    }

    /// Assigns each comment inside a rule to a slot of the layout, or returns `None` when
    /// one has no slot.
    fn attach<'c>(&self, clause: &Clause, inner: &'c [Comment<'c>]) -> Option<Attached<'c>> {
        let n = clause.body.len();
        let mut attached = Attached {
            trailing: vec![Vec::new(); n + 1],
            leading: vec![Vec::new(); n + 1],
            ..Attached::default()
        };
        if inner.is_empty() {
            return Some(attached);
        }
        let head = clause.head.span.range();
        // Pieces in source order: the head, then each literal.
        let mut pieces = vec![head.clone()];
        pieces.extend(clause.body.iter().map(|l| literal_span(l).range()));
        let before: Vec<Range<usize>> = clause
            .annotations
            .iter()
            .map(|a| a.span.range())
            .filter(|r| r.start < head.start)
            .collect();
        let after_start = clause
            .annotations
            .iter()
            .map(|a| a.span.start as usize)
            .find(|&start| start > head.start);
        let spans: Vec<Range<usize>> = pieces
            .iter()
            .cloned()
            .chain(clause.annotations.iter().map(|a| a.span.range()))
            .collect();
        let inside_piece = |at: usize| spans.iter().any(|r| r.start <= at && at < r.end);
        // The gap a comment is in: `None` for the one between the annotations and the
        // head, `Some(i)` for the one after piece `i`.
        let mut current: Option<Option<usize>> = None;
        let mut previous_end = 0;
        let mut trailing_mode = true;
        for comment in inner {
            if inside_piece(comment.start) {
                return None;
            }
            let gap = if comment.start < head.start {
                if before.iter().any(|r| r.start > comment.start) {
                    return None;
                }
                None
            } else {
                if after_start.is_some_and(|start| start < comment.start) {
                    return None;
                }
                Some(pieces.iter().rposition(|r| r.end <= comment.start)?)
            };
            if current != Some(gap) {
                current = Some(gap);
                previous_end = match gap {
                    None => before.last()?.end,
                    Some(i) => pieces[i].end,
                };
                trailing_mode = true;
            }
            let same_line = !self.breaks(previous_end, comment.start);
            if trailing_mode && same_line {
                match gap {
                    None => attached.annotations.push(comment),
                    Some(i) => attached.trailing[i].push(comment),
                }
            } else {
                let joined = !trailing_mode && same_line;
                trailing_mode = false;
                match gap {
                    None => attached.head.push((comment, joined)),
                    // After the last literal, only the rest of its line is a slot.
                    Some(i) if i == n => return None,
                    Some(i) => attached.leading[i + 1].push((comment, joined)),
                }
            }
            previous_end = comment.end;
        }
        // Comments after the last literal move past the `.`, out of the statement,
        // where a doc comment would start documenting the next item.
        if attached.trailing[n].iter().any(|c| c.is_doc()) {
            return None;
        }
        Some(attached)
    }

    /// A rule with a body: on one line if it fits and no comment stands inside it, else
    /// `head :-` and one literal per line.
    fn rule(&self, clause: &Clause, indent: usize, attached: &Attached<'_>) -> String {
        let pad = spaces(indent);
        let mut lines: Vec<String> = Vec::new();
        if !clause.annotations.is_empty() {
            let mut line = self.annotation_lines(&clause.annotations, indent);
            push_trailing(&mut line, &attached.annotations);
            lines.push(line);
        }
        push_own_lines(&mut lines, &attached.head, indent);
        let n = clause.body.len();
        let broken = attached.trailing[..n].iter().any(|t| !t.is_empty())
            || attached.leading.iter().any(|l| !l.is_empty());
        let literals: Vec<String> = clause.body.iter().map(|l| self.literal_flat(l)).collect();
        let one_line = format!(
            "{} :- {}.",
            self.atom_flat(&clause.head),
            literals.join(", ")
        );
        if !broken && indent + width(&one_line) <= MAX_WIDTH {
            let mut line = format!("{pad}{one_line}");
            push_trailing(&mut line, &attached.trailing[n]);
            lines.push(line);
            return lines.join("\n");
        }
        let mut line = format!("{pad}{} :-", self.atom(&clause.head, indent, indent, 3));
        push_trailing(&mut line, &attached.trailing[0]);
        lines.push(line);
        let body_indent = indent + INDENT;
        for (i, literal) in clause.body.iter().enumerate() {
            push_own_lines(&mut lines, &attached.leading[i + 1], body_indent);
            let end = if i + 1 == n { "." } else { "," };
            let mut line = format!(
                "{}{}{end}",
                spaces(body_indent),
                self.literal(literal, body_indent, body_indent, 1)
            );
            push_trailing(&mut line, &attached.trailing[i + 1]);
            lines.push(line);
        }
        lines.join("\n")
    }

    /// A constant as written in canonical form: strings keep their quotes (with
    /// canonical escapes), bare words stay bare, numbers and dates are normalised.
    fn constant(&self, value: &Value, span: Span) -> String {
        match value {
            Value::Text(text) => {
                if self.text[span.range()].starts_with('"') {
                    let mut out = String::new();
                    // Writing to a `String` cannot fail.
                    let _ = write_quoted(&mut out, text);
                    out
                } else {
                    text.to_string()
                }
            }
            Value::Int(i) => i.to_string(),
            Value::Float(x) => float_text(*x),
            Value::Date(_) => value.to_string(),
        }
    }

    fn term(&self, term: &Term) -> String {
        match term {
            Term::Var(name) => name.text.clone(),
            Term::Const(value, span) => self.constant(value, *span),
        }
    }

    fn atom_flat(&self, atom: &Atom) -> String {
        let args: Vec<String> = atom.args.iter().map(|t| self.term(t)).collect();
        format!("{}({})", atom.predicate.text, args.join(", "))
    }

    /// An atom starting at column `column`, followed by `suffix` more characters; when it
    /// does not fit, one argument per line at `indent` plus one step, and the closing
    /// parenthesis at `indent`.
    fn atom(&self, atom: &Atom, column: usize, indent: usize, suffix: usize) -> String {
        let flat = self.atom_flat(atom);
        if atom.args.is_empty() || column + width(&flat) + suffix <= MAX_WIDTH {
            return flat;
        }
        let inner = spaces(indent + INDENT);
        let args: Vec<String> = atom
            .args
            .iter()
            .map(|t| format!("{inner}{}", self.term(t)))
            .collect();
        format!(
            "{}(\n{}\n{})",
            atom.predicate.text,
            args.join(",\n"),
            spaces(indent)
        )
    }

    fn expr(&self, expr: &Expr) -> String {
        match expr {
            Expr::Term(term) => self.term(term),
            Expr::Bin(left, op, right, _) => {
                // The parser groups to the left, so a right operand of the same
                // precedence needs its parentheses, and any operand of a lower one.
                let wrap = |operand: &Expr, needs: &dyn Fn(u8) -> bool| match operand {
                    Expr::Bin(_, inner, _, _) if needs(precedence(*inner)) => {
                        format!("({})", self.expr(operand))
                    }
                    _ => self.expr(operand),
                };
                let level = precedence(*op);
                format!(
                    "{} {} {}",
                    wrap(left, &|p| p < level),
                    op.as_str(),
                    wrap(right, &|p| p <= level)
                )
            }
        }
    }

    fn literal_flat(&self, literal: &Literal) -> String {
        match literal {
            Literal::Pos(atom) => self.atom_flat(atom),
            Literal::Neg(atom, _) => format!("not {}", self.atom_flat(atom)),
            Literal::Cmp(cmp) => format!(
                "{} {} {}",
                self.expr(&cmp.left),
                cmp.op.as_str(),
                self.expr(&cmp.right)
            ),
            Literal::Agg(agg) => {
                let body: Vec<String> = agg.body.iter().map(|l| self.literal_flat(l)).collect();
                format!("{} {})", aggregate_opening(agg), body.join(", "))
            }
        }
    }

    /// A literal starting at column `column` on a line indented `indent`, followed by
    /// `suffix` more characters; atoms and aggregates that do not fit are broken.
    fn literal(&self, literal: &Literal, column: usize, indent: usize, suffix: usize) -> String {
        match literal {
            Literal::Pos(atom) => self.atom(atom, column, indent, suffix),
            Literal::Neg(atom, _) => format!("not {}", self.atom(atom, column + 4, indent, suffix)),
            Literal::Cmp(_) => self.literal_flat(literal),
            Literal::Agg(agg) => {
                let flat = self.literal_flat(literal);
                if column + width(&flat) + suffix <= MAX_WIDTH {
                    return flat;
                }
                let inner = indent + INDENT;
                let body: Vec<String> = agg
                    .body
                    .iter()
                    .map(|l| format!("{}{}", spaces(inner), self.literal(l, inner, inner, 1)))
                    .collect();
                format!(
                    "{}\n{}\n{})",
                    aggregate_opening(agg),
                    body.join(",\n"),
                    spaces(indent)
                )
            }
        }
    }
}

/// `N = count(X, Y :`, or `N = count(:` without variables.
fn aggregate_opening(agg: &Aggregate) -> String {
    let targets: Vec<&str> = agg.targets.iter().map(|t| t.text.as_str()).collect();
    let separator = if targets.is_empty() { ":" } else { " :" };
    format!(
        "{} = {}({}{separator}",
        agg.result.text,
        agg.function.as_str(),
        targets.join(", ")
    )
}

/// Appends comments to the end of a line.
fn push_trailing(line: &mut String, comments: &[&Comment<'_>]) {
    for comment in comments {
        line.push(' ');
        line.push_str(comment.text);
    }
}

/// Adds comments on their own lines at `indent`; a comment that continued the line of
/// the one before in the source continues it here too.
fn push_own_lines(lines: &mut Vec<String>, comments: &[(&Comment<'_>, bool)], indent: usize) {
    for (comment, joined) in comments {
        match lines.last_mut() {
            Some(line) if *joined => {
                line.push(' ');
                line.push_str(comment.text);
            }
            _ => lines.push(format!("{}{}", spaces(indent), comment.text)),
        }
    }
}

#[cfg(test)]
mod tests;
