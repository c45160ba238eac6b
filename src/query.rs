//! Patterns written on the command line (`conducted_by(I, apt40)`), resolved against a
//! program and matched against its model.

use crate::diagnostic::{suggest, Diagnostic, Sources};
use crate::eval::{FactId, Model};
use crate::program::{PredId, Program};
use crate::syntax::{ast, parse};
use crate::value::{Interner, Value, ValueId};

#[derive(Clone, Debug)]
enum PatternTerm {
    /// A constant; `None` when the value occurs in no fact, so nothing matches.
    Const(Option<ValueId>),
    /// A named variable; repeated names must match equal values.
    Var(String),
    /// `_`.
    Any,
}

/// An atom whose arguments are constants or variables.
#[derive(Clone, Debug)]
pub struct Pattern {
    predicate: PredId,
    terms: Vec<PatternTerm>,
    /// The constants as written, `None` for variables.
    written: Vec<Option<Value>>,
}

impl Pattern {
    /// Parses `text` (one atom, with or without a final `.`) as a pattern over the
    /// program's relations. `text` is registered in `sources` as `<query>` so that
    /// diagnostics can point into it.
    pub fn parse(
        program: &Program,
        model: &Model,
        sources: &mut Sources,
        text: &str,
    ) -> Result<Pattern, Vec<Diagnostic>> {
        let trimmed = text.trim_end();
        let statement = if trimmed.ends_with('.') {
            trimmed.to_string()
        } else {
            format!("{trimmed}.")
        };
        let id = sources.add("<query>", statement.clone());
        let (module, errors) = parse(id, &statement);
        if !errors.is_empty() {
            return Err(errors);
        }
        let whole = crate::diagnostic::Span::new(id, 0, statement.len());
        let atom = match module.items.as_slice() {
            [ast::Item::Clause(clause)] if clause.body.is_empty() && !clause.has_arrow => {
                &clause.head
            }
            _ => {
                return Err(vec![Diagnostic::error(
                    "E0401",
                    "expected exactly one atom",
                    whole,
                )
                .with_help(
                    "write one atom, e.g. 'state_sponsored(nz_pco_2021, State)'",
                )])
            }
        };
        Pattern::resolve(program, model.interner(), atom).map_err(|d| vec![*d])
    }

    /// Resolves a parsed atom against the program's relations: an unknown relation or a
    /// wrong number of arguments is a diagnostic. Constants are looked up in `interner`
    /// (the model's, or the program's to match input facts).
    pub fn resolve(
        program: &Program,
        interner: &Interner,
        atom: &ast::Atom,
    ) -> Result<Pattern, Box<Diagnostic>> {
        let Some(predicate) = program.predicate_id(&atom.predicate.text) else {
            let names = program.predicates().iter().map(|p| p.name.as_str());
            let mut d = Diagnostic::error(
                "E0402",
                format!("unknown relation `{}`", atom.predicate.text),
                atom.predicate.span,
            );
            d = match suggest(&atom.predicate.text, names) {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None => d.with_help("ask about a relation that the rule or fact files define"),
            };
            return Err(Box::new(d));
        };
        let arity = program.predicate(predicate).arity;
        if arity != atom.args.len() {
            return Err(Box::new(
                Diagnostic::error(
                    "E0403",
                    format!(
                        "`{}` takes {arity} argument{}, but the query gives {}",
                        atom.predicate.text,
                        if arity == 1 { "" } else { "s" },
                        atom.args.len()
                    ),
                    atom.span,
                )
                .with_help("use one term per column; `_` matches anything"),
            ));
        }
        Ok(Pattern::from_atom(predicate, atom, interner))
    }

    fn from_atom(predicate: PredId, atom: &ast::Atom, interner: &Interner) -> Pattern {
        let terms = atom
            .args
            .iter()
            .map(|t| match t {
                ast::Term::Var(name) if name.text == "_" => PatternTerm::Any,
                ast::Term::Var(name) => PatternTerm::Var(name.text.clone()),
                ast::Term::Const(value, _) => PatternTerm::Const(interner.get(value)),
            })
            .collect();
        let written = atom
            .args
            .iter()
            .map(|t| match t {
                ast::Term::Const(value, _) => Some(value.clone()),
                ast::Term::Var(_) => None,
            })
            .collect();
        Pattern {
            predicate,
            terms,
            written,
        }
    }

    /// Like [`Pattern::parse`], without diagnostics.
    pub(crate) fn parse_unchecked(program: &Program, model: &Model, text: &str) -> Option<Pattern> {
        let mut sources = Sources::default();
        Pattern::parse(program, model, &mut sources, text).ok()
    }

    /// The relation asked about.
    pub fn predicate(&self) -> PredId {
        self.predicate
    }

    /// Whether the pattern has no variables.
    pub fn is_ground(&self) -> bool {
        self.terms
            .iter()
            .all(|t| matches!(t, PatternTerm::Const(_)))
    }

    /// The constants of a ground pattern, as written.
    pub fn values(&self) -> Option<Vec<Value>> {
        self.written.iter().cloned().collect()
    }

    /// The fact a ground pattern names, if the model has it.
    pub fn ground_fact(&self, model: &Model) -> Option<FactId> {
        let tuple: Option<Vec<ValueId>> = self
            .terms
            .iter()
            .map(|t| match t {
                PatternTerm::Const(v) => *v,
                _ => None,
            })
            .collect();
        model.find(self.predicate, &tuple?)
    }

    /// The facts matching the pattern, sorted by value.
    pub fn matches(&self, model: &Model) -> Vec<FactId> {
        if self
            .terms
            .iter()
            .any(|t| matches!(t, PatternTerm::Const(None)))
        {
            return Vec::new();
        }
        model
            .sorted_facts(self.predicate)
            .into_iter()
            .filter(|&fact| self.matches_tuple(model.tuple(fact)))
            .collect()
    }

    /// Whether a tuple of the pattern's relation matches it.
    pub fn matches_tuple(&self, tuple: &[ValueId]) -> bool {
        let mut seen: Vec<(&str, ValueId)> = Vec::new();
        self.terms
            .iter()
            .zip(tuple)
            .all(|(term, value)| match term {
                PatternTerm::Const(c) => *c == Some(*value),
                PatternTerm::Any => true,
                PatternTerm::Var(name) => match seen.iter().find(|(n, _)| n == name) {
                    Some((_, bound)) => bound == value,
                    None => {
                        seen.push((name, *value));
                        true
                    }
                },
            })
    }
}
