//! The syntax tree of a rule or fact file, exactly as written, with spans.
//!
//! Nothing here is checked beyond the grammar: names may be undeclared, variables unsafe,
//! arities inconsistent. `program::lower` turns a tree into the validated program.

use crate::diagnostic::Span;
use crate::value::Value;

/// One parsed file: its items in order.
#[derive(Clone, Debug, Default)]
pub struct Module {
    /// Declarations, rules and facts in file order.
    pub items: Vec<Item>,
}

/// A top-level statement.
#[derive(Clone, Debug)]
pub enum Item {
    /// `rel name(col: type, ...).`
    Decl(Decl),
    /// `head :- body.` or a fact `head.`
    Clause(Clause),
}

/// A name with the span it was written at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    /// The text.
    pub text: String,
    /// Where.
    pub span: Span,
}

/// `@name(args)` before or after a statement.
#[derive(Clone, Debug)]
pub struct Annotation {
    /// The annotation's name, without `@`.
    pub name: Name,
    /// Constant arguments.
    pub args: Vec<(Value, Span)>,
    /// The whole annotation.
    pub span: Span,
}

/// A relation declaration.
#[derive(Clone, Debug)]
pub struct Decl {
    /// `///` lines before it, joined with newlines, without the slashes.
    pub doc: Option<String>,
    /// Annotations.
    pub annotations: Vec<Annotation>,
    /// Relation name.
    pub name: Name,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// The whole statement.
    pub span: Span,
}

/// One column of a declaration: `name: type`, or just `type`.
#[derive(Clone, Debug)]
pub struct Column {
    /// Column name, if given.
    pub name: Option<Name>,
    /// Type name as written (`sym`, `str`, `int`, `float`, `date`, `any`).
    pub ty: Name,
}

/// A rule `head :- body.`, or a fact when the body is empty.
#[derive(Clone, Debug)]
pub struct Clause {
    /// `///` lines before it.
    pub doc: Option<String>,
    /// Annotations before and after, in order of appearance.
    pub annotations: Vec<Annotation>,
    /// The conclusion.
    pub head: Atom,
    /// Premises; empty for a fact.
    pub body: Vec<Literal>,
    /// Whether `:-` was written (a rule with an empty body is an error, not a fact).
    pub has_arrow: bool,
    /// The whole statement, up to and including the final `.`.
    pub span: Span,
}

/// `pred(t1, ..., tn)`.
#[derive(Clone, Debug)]
pub struct Atom {
    /// Relation name.
    pub predicate: Name,
    /// Arguments.
    pub args: Vec<Term>,
    /// The whole atom.
    pub span: Span,
}

/// A variable or a constant.
#[derive(Clone, Debug)]
pub enum Term {
    /// `X`, `Group`, `_x`; `_` alone is anonymous (each occurrence distinct).
    Var(Name),
    /// A constant with its span.
    Const(Value, Span),
}

impl Term {
    /// Where the term was written.
    pub fn span(&self) -> Span {
        match self {
            Term::Var(name) => name.span,
            Term::Const(_, span) => *span,
        }
    }
}

/// A premise of a rule body.
#[derive(Clone, Debug)]
pub enum Literal {
    /// A positive atom.
    Pos(Atom),
    /// `not atom`; the span covers `not`.
    Neg(Atom, Span),
    /// `left op right`; `X = expr` with `X` otherwise unbound is an assignment.
    Cmp(Cmp),
    /// `Var = count|sum|min|max(Vars : body)`.
    Agg(Aggregate),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// `left op right`.
#[derive(Clone, Debug)]
pub struct Cmp {
    /// Left side.
    pub left: Expr,
    /// Operator.
    pub op: CmpOp,
    /// Right side.
    pub right: Expr,
    /// The whole comparison.
    pub span: Span,
}

/// An arithmetic operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}

impl BinOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
        }
    }
}

/// An arithmetic expression over terms.
#[derive(Clone, Debug)]
pub enum Expr {
    /// A variable or constant.
    Term(Term),
    /// `left op right`.
    Bin(Box<Expr>, BinOp, Box<Expr>, Span),
}

impl Expr {
    /// Where the expression was written.
    pub fn span(&self) -> Span {
        match self {
            Expr::Term(term) => term.span(),
            Expr::Bin(_, _, _, span) => *span,
        }
    }
}

/// An aggregate function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggFn {
    /// Number of distinct values of the listed variables.
    Count,
    /// Sum of the variable over the distinct solutions of the body.
    Sum,
    /// Least value.
    Min,
    /// Greatest value.
    Max,
}

impl AggFn {
    /// The function's name as written.
    pub fn as_str(self) -> &'static str {
        match self {
            AggFn::Count => "count",
            AggFn::Sum => "sum",
            AggFn::Min => "min",
            AggFn::Max => "max",
        }
    }
}

/// `Result = fn(Vars : body)`.
#[derive(Clone, Debug)]
pub struct Aggregate {
    /// The variable receiving the result.
    pub result: Name,
    /// The function.
    pub function: AggFn,
    /// Variables before `:`.
    pub targets: Vec<Name>,
    /// The aggregated body: atoms, negations and comparisons.
    pub body: Vec<Literal>,
    /// The whole literal.
    pub span: Span,
}
