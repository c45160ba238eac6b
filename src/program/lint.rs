//! Lints: warnings about a checked program that is valid but probably not what its
//! author meant (a rule that can never fire, a relation nobody reads, a redundant rule).
//!
//! Each lint has a stable code and a readable name ([`LINTS`]); both work in
//! `@allow(...)` on a rule, fact or declaration, and in `ascribe check --allow`. The
//! lints run on the lowered [`Program`] (the syntax tree only supplies the spans of
//! annotations) and are near linear in its size: nothing compares all pairs of rules.
//! `docs/lints.md` describes each one.

mod bounds;
mod parties;
mod subsume;

use rustc_hash::FxHashMap;

use super::{Combine, Literal, Program};
use crate::diagnostic::{suggest, Diagnostic, Span};
use crate::syntax::ast;
use crate::value::Value;

/// The confidence at or above which `ascribe report` concludes a candidate by default.
pub const REPORT_THRESHOLD: f64 = 0.5;

/// One lint: its stable code and its readable name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lint {
    /// The stable code, as in `W0602`.
    pub code: &'static str,
    /// The name accepted by `@allow` and `--allow`, as in `rule_never_fires`.
    pub name: &'static str,
}

/// Every lint, by code. `W0201` and `W0202` come from lowering and keep their codes.
pub const LINTS: &[Lint] = &[
    Lint {
        code: "W0201",
        name: "singleton_variable",
    },
    Lint {
        code: "W0202",
        name: "unread_facts",
    },
    Lint {
        code: "W0601",
        name: "unknown_lint",
    },
    Lint {
        code: "W0602",
        name: "rule_never_fires",
    },
    Lint {
        code: "W0603",
        name: "unread_derived",
    },
    Lint {
        code: "W0604",
        name: "duplicate_rule",
    },
    Lint {
        code: "W0605",
        name: "subsumed_rule",
    },
    Lint {
        code: "W0606",
        name: "unused_relation",
    },
    Lint {
        code: "W0607",
        name: "underived_hypothesis",
    },
    Lint {
        code: "W0608",
        name: "zero_strength",
    },
    Lint {
        code: "W0609",
        name: "below_report_threshold",
    },
    Lint {
        code: "W0610",
        name: "speaker_without_party",
    },
    Lint {
        code: "W0620",
        name: "rule_set_warning",
    },
];

/// The lint a code (any case) or name stands for.
pub fn find_lint(text: &str) -> Option<&'static Lint> {
    LINTS
        .iter()
        .find(|lint| lint.code.eq_ignore_ascii_case(text) || lint.name == text)
}

/// `W0601` for a code or name that is no lint, with the closest one suggested.
fn unknown_lint(text: &str, span: Option<Span>, flag: bool) -> Diagnostic {
    let message = if flag {
        format!("--allow {text}: no lint has this code or name")
    } else {
        format!("`@allow({text})`: no lint has this code or name")
    };
    let d = match span {
        Some(span) => Diagnostic::warning("W0601", message, span).with_label("unknown lint"),
        None => Diagnostic {
            severity: crate::diagnostic::Severity::Warning,
            ..Diagnostic::error_unplaced("W0601", message)
        },
    };
    let candidates = LINTS.iter().flat_map(|l| [l.code, l.name]);
    let upper = text.to_ascii_uppercase();
    let guess = if text.starts_with(['W', 'w']) {
        suggest(&upper, candidates)
    } else {
        suggest(text, candidates)
    };
    match guess {
        Some(s) => d.with_help(format!("did you mean `{s}`?")),
        None => d.with_help("the lints are listed in docs/lints.md"),
    }
}

/// Lints allowed for a whole run (`ascribe check --allow`).
#[derive(Clone, Debug, Default)]
pub struct Allowed {
    codes: Vec<&'static str>,
}

impl Allowed {
    /// The lints named by `--allow` flags, and a `W0601` warning for each flag that
    /// names none.
    pub fn from_flags(flags: &[String]) -> (Allowed, Vec<Diagnostic>) {
        let mut allowed = Allowed::default();
        let mut diagnostics = Vec::new();
        for flag in flags {
            match find_lint(flag) {
                Some(lint) => allowed.codes.push(lint.code),
                None => diagnostics.push(unknown_lint(flag, None, true)),
            }
        }
        (allowed, diagnostics)
    }

    /// Drops the warnings of allowed lints.
    pub fn apply(&self, diagnostics: &mut Vec<Diagnostic>) {
        if !self.codes.is_empty() {
            diagnostics.retain(|d| d.is_error() || !self.codes.contains(&d.code));
        }
    }
}

/// Applies the `@allow(...)` annotations of the modules: drops each warning of an
/// allowed lint whose primary place lies in the annotated statement, and adds a `W0601`
/// warning for each `@allow` argument that names no lint.
pub fn apply_allows(modules: &[ast::Module], diagnostics: &mut Vec<Diagnostic>) {
    let (scopes, unknown) = AllowScopes::from_modules(modules);
    scopes.apply(diagnostics);
    diagnostics.extend(unknown);
}

/// The statements annotated `@allow(...)` and the lints each allows, kept so that
/// warnings found after evaluation (`W0620`) are silenced like the others.
#[derive(Clone, Debug, Default)]
pub struct AllowScopes {
    /// Sorted by source and start.
    scopes: Vec<(Span, Vec<&'static str>)>,
}

impl AllowScopes {
    /// The scopes of the modules' `@allow` annotations, and a `W0601` warning for each
    /// argument that names no lint.
    pub fn from_modules(modules: &[ast::Module]) -> (AllowScopes, Vec<Diagnostic>) {
        let mut scopes: Vec<(Span, Vec<&'static str>)> = Vec::new();
        let mut unknown = Vec::new();
        for module in modules {
            for item in &module.items {
                let (annotations, span) = match item {
                    ast::Item::Decl(decl) => (&decl.annotations, decl.span),
                    ast::Item::Clause(clause) => (&clause.annotations, clause.span),
                };
                let mut codes = Vec::new();
                for annotation in annotations.iter().filter(|a| a.name.text == "allow") {
                    if annotation.args.is_empty() {
                        unknown.push(
                            Diagnostic::warning(
                                "W0601",
                                "`@allow` names no lint",
                                annotation.span,
                            )
                            .with_help("name lints by code or name, as in `@allow(W0201)` or `@allow(singleton_variable)`"),
                        );
                    }
                    for (value, arg_span) in &annotation.args {
                        let text = match value {
                            Value::Text(text) => text.to_string(),
                            other => other.to_string(),
                        };
                        match find_lint(&text) {
                            Some(lint) => codes.push(lint.code),
                            None => unknown.push(unknown_lint(&text, Some(*arg_span), false)),
                        }
                    }
                }
                if !codes.is_empty() {
                    scopes.push((span, codes));
                }
            }
        }
        scopes.sort_by_key(|(span, _)| (span.source, span.start));
        (AllowScopes { scopes }, unknown)
    }

    /// Drops each warning of an allowed lint whose primary place lies in a scope.
    pub fn apply(&self, diagnostics: &mut Vec<Diagnostic>) {
        let scopes = &self.scopes;
        if scopes.is_empty() {
            return;
        }
        diagnostics.retain(|d| {
            let Some(primary) = d.primary.as_ref().filter(|_| !d.is_error()) else {
                return true;
            };
            let at = primary.span;
            let index =
                scopes.partition_point(|(s, _)| (s.source, s.start) <= (at.source, at.start));
            let allowed = index > 0 && {
                let (scope, codes) = &scopes[index - 1];
                scope.source == at.source && at.end <= scope.end && codes.contains(&d.code)
            };
            !allowed
        });
    }
}

/// What the lints need to know of the relations beyond the program's own fields.
struct Usage {
    /// Some input fact (in any file) has this relation.
    has_facts: Vec<bool>,
    /// Some rule body (including negations and aggregates) reads it.
    read: Vec<bool>,
    /// Some rule whose head lies in another stratum reads it.
    read_outside: Vec<bool>,
    /// The first rule deriving it, if any.
    first_rule: Vec<Option<super::RuleId>>,
}

fn usage(program: &Program) -> Usage {
    let n = program.predicates().len();
    let mut has_facts = vec![false; n];
    for fact in program.facts() {
        has_facts[fact.predicate.0 as usize] = true;
    }
    let mut stratum_of = vec![usize::MAX; n];
    for (index, stratum) in program.strata().iter().enumerate() {
        for p in &stratum.predicates {
            stratum_of[p.0 as usize] = index;
        }
    }
    fn mark(body: &[Literal], head_stratum: usize, stratum_of: &[usize], usage: &mut Usage) {
        for literal in body {
            match literal {
                Literal::Pos(atom) | Literal::Neg(atom) => {
                    let p = atom.predicate.0 as usize;
                    usage.read[p] = true;
                    if stratum_of[p] != head_stratum {
                        usage.read_outside[p] = true;
                    }
                }
                Literal::Agg(agg) => mark(&agg.body, head_stratum, stratum_of, usage),
                _ => {}
            }
        }
    }
    let mut usage = Usage {
        has_facts,
        read: vec![false; n],
        read_outside: vec![false; n],
        first_rule: vec![None; n],
    };
    for rule in program.rules() {
        usage.first_rule[rule.head.predicate.0 as usize].get_or_insert(rule.id);
        let head_stratum = stratum_of[rule.head.predicate.0 as usize];
        mark(&rule.body, head_stratum, &stratum_of, &mut usage);
    }
    usage
}

/// Runs every lint of this module on a checked program; `modules` are the syntax trees
/// it was lowered from (for the places of annotations). Warnings come out grouped by
/// lint, in program order within each.
pub fn lint(program: &Program, modules: &[ast::Module]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let usage = usage(program);
    let bounds = bounds::bounds(program);
    never_fires(program, &usage, &bounds, &mut out);
    unread_derived(program, &usage, &mut out);
    subsume::check(program, &mut out);
    unused_relations(program, &usage, &mut out);
    zero_strength(program, modules, &mut out);
    below_report_threshold(program, &bounds, &mut out);
    parties::check(program, &mut out);
    out
}

/// `W0602`: a rule with a positive premise that can never hold.
fn never_fires(
    program: &Program,
    usage: &Usage,
    bounds: &[Option<f64>],
    out: &mut Vec<Diagnostic>,
) {
    for rule in program.rules() {
        let Some(atom) = rule
            .positive_atoms()
            .find(|atom| bounds[atom.predicate.0 as usize].is_none())
        else {
            continue;
        };
        let name = &program.predicate(atom.predicate).name;
        let mut d = Diagnostic::warning(
            "W0602",
            format!("{} can never fire: `{name}` never holds", describe(rule)),
            atom.span,
        )
        .with_label(format!("no fact of `{name}` can exist"));
        let deriving = usage.first_rule[atom.predicate.0 as usize].map(|r| program.rule(r));
        if let Some(deriving) = deriving.filter(|r| r.id != rule.id) {
            d = d.with_secondary(
                deriving.head.span,
                "this rule derives it, but can never fire either",
            );
        }
        out.push(
            d.with_note(format!(
                "`{name}` has no facts and no `rel` declaration, and every rule deriving it needs a premise that never holds (a recursive rule needs a base case)"
            ))
            .with_help(format!(
                "add a base rule or facts for `{name}`; if its facts come from fact files, declare it with `rel {name}(...)`"
            )),
        );
    }
}

/// `W0603`: an undeclared derived relation that no rule outside its own recursion reads,
/// in a program that declares some derived relation (so its conclusions are declared).
fn unread_derived(program: &Program, usage: &Usage, out: &mut Vec<Diagnostic>) {
    let predicates = program.predicates();
    if !predicates
        .iter()
        .any(|p| p.derived && p.declared_at.is_some())
    {
        return;
    }
    let read_names: Vec<&str> = predicates
        .iter()
        .zip(&usage.read)
        .filter(|(_, &read)| read)
        .map(|(p, _)| p.name.as_str())
        .collect();
    for (index, predicate) in predicates.iter().enumerate() {
        if !predicate.derived || predicate.declared_at.is_some() || usage.read_outside[index] {
            continue;
        }
        let Some(rule) = usage.first_rule[index].map(|r| program.rule(r)) else {
            continue;
        };
        let name = &predicate.name;
        let help = match suggest(name, read_names.iter().copied()) {
            Some(similar) => format!("did you mean `{similar}`, which rules read?"),
            None => format!(
                "if `{name}` is a conclusion, declare it with `rel {name}(...)`; if it is a helper, the rule that should read it is missing"
            ),
        };
        out.push(
            Diagnostic::warning(
                "W0603",
                format!("`{name}` is derived, but no rule reads it and no `rel` declares it"),
                rule.head.span,
            )
            .with_label("derived here, read nowhere")
            .with_note("this program declares its conclusions with `rel`; an undeclared relation nothing reads is usually a misspelt head or a helper whose reader was removed")
            .with_help(help),
        );
    }
}

/// `W0606`: a declared relation no rule reads or derives and no fact gives;
/// `W0607`: an `@hypothesis` relation no rule derives and no fact gives.
fn unused_relations(program: &Program, usage: &Usage, out: &mut Vec<Diagnostic>) {
    for (index, predicate) in program.predicates().iter().enumerate() {
        let Some(span) = predicate.declared_at else {
            continue;
        };
        if predicate.derived || usage.has_facts[index] {
            continue;
        }
        let name = &predicate.name;
        if predicate.hypothesis.is_some() {
            out.push(
                Diagnostic::warning(
                    "W0607",
                    format!("hypothesis `{name}` is derived by no rule"),
                    span,
                )
                .with_label("declared `@hypothesis` here")
                .with_note("`ascribe report` will never have a candidate for it")
                .with_help(format!(
                    "add rules that conclude `{name}`, or drop `@hypothesis` from its declaration"
                )),
            );
        } else if !usage.read[index] {
            let help = format!(
                "remove the declaration; if `{name}` is meant for fact files and queries only, add `@allow(unused_relation)` to it"
            );
            out.push(
                Diagnostic::warning(
                    "W0606",
                    format!("relation `{name}` is declared but never used"),
                    span,
                )
                .with_label("no rule reads or derives it, and no fact gives it")
                .with_help(help),
            );
        }
    }
}

/// `W0608`: a rule of strength 0, which can only derive facts of confidence 0.
fn zero_strength(program: &Program, modules: &[ast::Module], out: &mut Vec<Diagnostic>) {
    let zero: Vec<_> = program
        .rules()
        .iter()
        .filter(|r| r.strength == 0.0)
        .collect();
    if zero.is_empty() {
        return;
    }
    let mut strength_spans: FxHashMap<Span, Span> = FxHashMap::default();
    for module in modules {
        for item in &module.items {
            if let ast::Item::Clause(clause) = item {
                if let Some(a) = clause
                    .annotations
                    .iter()
                    .find(|a| a.name.text == "strength")
                {
                    strength_spans.insert(clause.span, a.span);
                }
            }
        }
    }
    for rule in zero {
        let span = strength_spans
            .get(&rule.span)
            .copied()
            .unwrap_or(rule.head.span);
        out.push(
            Diagnostic::warning(
                "W0608",
                format!("{} has strength 0", describe(rule)),
                span,
            )
            .with_label("every conclusion of this rule has confidence 0")
            .with_note("a derivation's confidence is the rule's strength times its premises' confidences")
            .with_help("give the rule a strength in (0, 1], or remove it"),
        );
    }
}

/// `W0609`: a rule concluding an `@hypothesis` relation (best derivation counts) whose
/// conclusions can never reach [`REPORT_THRESHOLD`].
fn below_report_threshold(program: &Program, bounds: &[Option<f64>], out: &mut Vec<Diagnostic>) {
    for rule in program.rules() {
        let head = program.predicate(rule.head.predicate);
        if head.hypothesis.is_none() || head.combine == Combine::NoisyOr || rule.strength == 0.0 {
            continue;
        }
        let Some(best) = bounds::rule_bound(rule, bounds) else {
            continue;
        };
        if best >= REPORT_THRESHOLD {
            continue;
        }
        let mut d = Diagnostic::warning(
            "W0609",
            format!(
                "{} concludes `{}` with a confidence of at most {}, below the report threshold {REPORT_THRESHOLD}",
                describe(rule),
                head.name,
                round(best)
            ),
            rule.head.span,
        )
        .with_label(format!("at most {}", round(best)));
        let mut factors = vec![format!("strength {}", round(rule.strength))];
        for atom in rule.positive_atoms() {
            let bound = bounds[atom.predicate.0 as usize].unwrap_or(0.0);
            if bound < 1.0 {
                d = d.with_secondary(atom.span, format!("at most {}", round(bound)));
                factors.push(format!(
                    "`{}` at most {}",
                    program.predicate(atom.predicate).name,
                    round(bound)
                ));
            }
        }
        out.push(
            d.with_note(format!(
                "{}; `ascribe report` concludes a candidate at {REPORT_THRESHOLD} or more by default",
                factors.join(" x ")
            ))
            .with_help("raise the rule's strength if its conclusions should be able to stand on their own; if a weak candidate is intended, add `@allow(below_report_threshold)`"),
        );
    }
}

/// A rule for messages: `rule "its name"`, else `rule #n`.
fn describe(rule: &super::Rule) -> String {
    match &rule.name {
        Some(name) => format!("rule \"{name}\""),
        None => rule.label(),
    }
}

/// A confidence for messages: at most three decimals, no trailing zeros.
fn round(x: f64) -> String {
    let text = format!("{x:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

#[cfg(test)]
mod tests;
