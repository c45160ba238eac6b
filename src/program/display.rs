//! Writing rules back as text, optionally with variables replaced by their values.
//!
//! Explanations show each rule twice: as written, and instantiated with the values of
//! one derivation. Both come from here, so the two always agree.

use std::fmt::Write;

use super::{Atom, Expr, Literal, Program, Rule, Term};
use crate::syntax::ast::AggFn;
use crate::value::{Interner, ValueId};

/// Values of a rule's variables by `VarId`; `None` where a variable has no value.
pub type Bindings = [Option<ValueId>];

fn write_term(
    out: &mut String,
    rule: &Rule,
    term: Term,
    bindings: Option<&Bindings>,
    interner: &Interner,
) {
    let _ = match term {
        Term::Const(id) => write!(out, "{}", interner.value(id)),
        Term::Var(v) => match bindings.and_then(|b| b.get(v.0 as usize).copied().flatten()) {
            Some(id) => write!(out, "{}", interner.value(id)),
            None => out.write_str(&rule.variables[v.0 as usize]),
        },
    };
}

/// Writes `pred(args)`.
pub fn write_atom(
    out: &mut String,
    program: &Program,
    rule: &Rule,
    atom: &Atom,
    bindings: Option<&Bindings>,
    interner: &Interner,
) {
    out.push_str(&program.predicate(atom.predicate).name);
    out.push('(');
    for (i, term) in atom.args.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_term(out, rule, *term, bindings, interner);
    }
    out.push(')');
}

fn write_expr(
    out: &mut String,
    rule: &Rule,
    expr: &Expr,
    bindings: Option<&Bindings>,
    interner: &Interner,
    nested: bool,
) {
    match expr {
        Expr::Term(term) => write_term(out, rule, *term, bindings, interner),
        Expr::Bin(left, op, right) => {
            if nested {
                out.push('(');
            }
            write_expr(out, rule, left, bindings, interner, true);
            out.push(' ');
            out.push_str(op.as_str());
            out.push(' ');
            write_expr(out, rule, right, bindings, interner, true);
            if nested {
                out.push(')');
            }
        }
    }
}

/// Writes one body literal.
pub fn write_literal(
    out: &mut String,
    program: &Program,
    rule: &Rule,
    literal: &Literal,
    bindings: Option<&Bindings>,
    interner: &Interner,
) {
    match literal {
        Literal::Pos(atom) => write_atom(out, program, rule, atom, bindings, interner),
        Literal::Neg(atom) => {
            out.push_str("not ");
            write_atom(out, program, rule, atom, bindings, interner);
        }
        Literal::Cmp {
            left, op, right, ..
        } => {
            write_expr(out, rule, left, bindings, interner, false);
            out.push(' ');
            out.push_str(op.as_str());
            out.push(' ');
            write_expr(out, rule, right, bindings, interner, false);
        }
        Literal::Assign { var, expr, .. } => {
            write_term(out, rule, Term::Var(*var), bindings, interner);
            out.push_str(" = ");
            write_expr(out, rule, expr, bindings, interner, false);
        }
        Literal::Agg(agg) => {
            write_term(out, rule, Term::Var(agg.result), bindings, interner);
            out.push_str(" = ");
            out.push_str(match agg.function {
                AggFn::Count => "count",
                AggFn::Sum => "sum",
                AggFn::Min => "min",
                AggFn::Max => "max",
            });
            out.push('(');
            for (i, target) in agg.targets.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                // Aggregated variables range over many values: never substitute them.
                write_term(out, rule, Term::Var(*target), None, interner);
            }
            out.push_str(" : ");
            for (i, literal) in agg.body.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let inner = bindings.map(|b| {
                    let mut b = b.to_vec();
                    for local in &agg.locals {
                        b[local.0 as usize] = None;
                    }
                    b
                });
                write_literal(out, program, rule, literal, inner.as_deref(), interner);
            }
            out.push(')');
        }
    }
}

/// Writes `head :- body.`
pub fn write_rule(
    out: &mut String,
    program: &Program,
    rule: &Rule,
    bindings: Option<&Bindings>,
    interner: &Interner,
) {
    write_atom(out, program, rule, &rule.head, bindings, interner);
    out.push_str(" :- ");
    for (i, literal) in rule.body.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_literal(out, program, rule, literal, bindings, interner);
    }
    out.push('.');
}
