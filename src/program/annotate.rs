//! Declaration annotations that name other relations or columns, `@ranking("label",
//! detail)`, `@warn("message")` and `@suggest(column, relation)`, read once every
//! relation of the program is known.
//!
//! Errors: `E0150` an annotation with the wrong arguments, `E0151` a relation it names
//! that the program does not have, `E0152` a column or placeholder the declaration does
//! not have, each with a did-you-mean where one is close.

use rustc_hash::FxHashMap;

use super::{PredId, Predicate, Ranking, Warn};
use crate::diagnostic::{suggest, Diagnostic, Span};
use crate::syntax::ast;
use crate::value::Value;

/// The names read by this module (lowering accepts them on declarations).
pub(super) const NAMES: [&str; 3] = ["ranking", "warn", "suggest"];

/// Sets `ranking` and `warn` on the declared relations of `modules`.
pub(super) fn resolve(
    modules: &[ast::Module],
    ids: &FxHashMap<String, PredId>,
    predicates: &mut [Predicate],
    diagnostics: &mut Vec<Diagnostic>,
) {
    for module in modules {
        for item in &module.items {
            let ast::Item::Decl(decl) = item else {
                continue;
            };
            if !decl
                .annotations
                .iter()
                .any(|a| NAMES.contains(&a.name.text.as_str()))
            {
                continue;
            }
            let Some(&id) = ids.get(&decl.name.text) else {
                continue;
            };
            let mut resolver = Resolver {
                ids,
                predicates,
                diagnostics,
            };
            let (ranking, warn) = resolver.read(decl, id);
            let predicate = &mut predicates[id.0 as usize];
            predicate.ranking = ranking;
            predicate.warn = warn;
        }
    }
}

struct Resolver<'a> {
    ids: &'a FxHashMap<String, PredId>,
    predicates: &'a [Predicate],
    diagnostics: &'a mut Vec<Diagnostic>,
}

fn text(value: &Value) -> Option<&str> {
    match value {
        Value::Text(t) => Some(t),
        _ => None,
    }
}

impl Resolver<'_> {
    fn read(&mut self, decl: &ast::Decl, id: PredId) -> (Option<Ranking>, Option<Warn>) {
        let mut ranking = None;
        let mut message = None;
        let mut suggestion = None;
        let arity = self.predicates[id.0 as usize].arity;
        for annotation in &decl.annotations {
            let args = annotation.args.as_slice();
            match annotation.name.text.as_str() {
                "ranking" if arity < 2 => self.diagnostics.push(
                    Diagnostic::error(
                        "E0150",
                        "a `@ranking` relation needs an incident column and a score column",
                        annotation.span,
                    )
                    .with_help("declare it as `rel score(incident: sym, candidate: sym, score: float)`"),
                ),
                "ranking" => match args {
                    [(label, _), (detail, detail_span)] if text(label).is_some() => {
                        let detail = text(detail).and_then(|d| self.relation(d, *detail_span));
                        if let Some(d) = detail.filter(|d| self.predicates[d.0 as usize].arity < 2) {
                            self.diagnostics.push(
                                Diagnostic::error(
                                    "E0150",
                                    format!(
                                        "`@ranking` detail `{}` needs at least two columns, matched on the ranking's first two",
                                        self.predicates[d.0 as usize].name
                                    ),
                                    *detail_span,
                                )
                                .with_help("the detail relation's first two columns are the incident and the candidate"),
                            );
                            continue;
                        }
                        if let Some(detail) = detail {
                            ranking = Some(Ranking {
                                label: text(label).unwrap_or_default().to_string(),
                                detail: Some(detail),
                            });
                        }
                    }
                    [(label, _)] if text(label).is_some() => {
                        ranking = Some(Ranking {
                            label: text(label).unwrap_or_default().to_string(),
                            detail: None,
                        });
                    }
                    _ => self.diagnostics.push(
                        Diagnostic::error(
                            "E0150",
                            "`@ranking` takes a label and optionally the relation of its details",
                            annotation.span,
                        )
                        .with_help("example: `@ranking(\"ATT&CK overlap\", shared_item)` before `rel score(incident: sym, group: sym, score: float)`"),
                    ),
                },
                "warn" => match args {
                    [(text_value, span)] if text(text_value).is_some() => {
                        let written = text(text_value).unwrap_or_default().to_string();
                        if self.placeholders(decl, &written, *span) {
                            message = Some(written);
                        }
                    }
                    _ => self.diagnostics.push(
                        Diagnostic::error("E0150", "`@warn` takes one string, the warning's message", annotation.span)
                            .with_help("example: `@warn(\"{name} names no known group\")`: placeholders name the declaration's columns"),
                    ),
                },
                "suggest" => match args {
                    [(column, column_span), (relation, relation_span)]
                        if text(column).is_some() && text(relation).is_some() =>
                    {
                        let column = self.column(decl, text(column).unwrap_or_default(), *column_span);
                        let relation = self.relation(text(relation).unwrap_or_default(), *relation_span);
                        if let (Some(c), Some(r)) = (column, relation) {
                            suggestion = Some((c, r));
                        }
                    }
                    _ => self.diagnostics.push(
                        Diagnostic::error(
                            "E0150",
                            "`@suggest` takes a column of this declaration and the relation whose first column holds the right values",
                            annotation.span,
                        )
                        .with_help("example: `@suggest(name, names_group)`"),
                    ),
                },
                _ => {}
            }
        }
        let warn = match (message, suggestion) {
            (Some(message), suggest) => Some(Warn { message, suggest }),
            (None, Some(_)) => {
                let span = decl
                    .annotations
                    .iter()
                    .find(|a| a.name.text == "suggest")
                    .map_or(decl.span, |a| a.span);
                self.diagnostics.push(
                    Diagnostic::error("E0150", "`@suggest` without `@warn`", span).with_help(
                        "`@suggest` adds a did-you-mean to the warnings of a `@warn` relation",
                    ),
                );
                None
            }
            (None, None) => None,
        };
        (ranking, warn)
    }

    fn relation(&mut self, name: &str, span: Span) -> Option<PredId> {
        if let Some(&id) = self.ids.get(name) {
            return Some(id);
        }
        let mut d = Diagnostic::error("E0151", format!("no relation `{name}`"), span)
            .with_label("named here");
        d = match suggest(name, self.predicates.iter().map(|p| p.name.as_str())) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => d.with_help("name a relation the program declares, derives or has facts of"),
        };
        self.diagnostics.push(d);
        None
    }

    fn column(&mut self, decl: &ast::Decl, name: &str, span: Span) -> Option<usize> {
        let names: Vec<&str> = decl
            .columns
            .iter()
            .filter_map(|c| c.name.as_ref().map(|n| n.text.as_str()))
            .collect();
        if let Some(index) = decl
            .columns
            .iter()
            .position(|c| c.name.as_ref().is_some_and(|n| n.text == name))
        {
            return Some(index);
        }
        let mut d = Diagnostic::error(
            "E0152",
            format!("`{}` has no column `{name}`", decl.name.text),
            span,
        )
        .with_label("not a column name");
        d = match suggest(name, names.iter().copied()) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => d.with_help(format!("the named columns are: {}", names.join(", "))),
        };
        self.diagnostics.push(d);
        None
    }

    /// Checks that every `{placeholder}` of a message names a column; true if all do.
    fn placeholders(&mut self, decl: &ast::Decl, message: &str, span: Span) -> bool {
        let mut ok = true;
        for name in placeholder_names(message) {
            ok &= self.column(decl, name, span).is_some();
        }
        ok
    }
}

/// The `{name}` placeholders of a message, in order.
pub(crate) fn placeholder_names(message: &str) -> impl Iterator<Item = &str> {
    message
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

/// The message with each `{column}` replaced by that column's value.
pub fn fill(message: &str, columns: &[Option<String>], values: &[String]) -> String {
    let mut out = String::new();
    let mut rest = message;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.split_once('}') {
            Some((name, tail)) => {
                let value = columns
                    .iter()
                    .position(|c| c.as_deref() == Some(name))
                    .and_then(|i| values.get(i));
                match value {
                    Some(v) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = tail;
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn fill_replaces_known_columns_and_keeps_the_rest() {
        let columns = vec![Some("source".to_string()), Some("name".to_string()), None];
        let values = vec![
            "vendor_x".to_string(),
            "Hafnim".to_string(),
            "3".to_string(),
        ];
        assert_eq!(
            fill("{source} wrote {name} ({other}) {", &columns, &values),
            "vendor_x wrote Hafnim ({other}) {"
        );
    }
}
