//! Strata: the predicate dependency graph, its strongly connected components, and the
//! check that negation and aggregation never go through recursion.
//!
//! A stratum is one strongly connected component of the graph whose edges run from a
//! rule's head to the relations of its body. Strata come out in evaluation order: every
//! relation a stratum reads is complete before the stratum starts. Relations read through
//! `not` or inside an aggregate must lie in an earlier stratum; otherwise lowering fails
//! with a diagnostic naming the cycle.

use std::collections::VecDeque;

use super::{Literal, PredId, Predicate, Rule, RuleId};
use crate::diagnostic::{Diagnostic, Span};

/// One unit of evaluation: relations that depend on each other, and the rules deriving them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stratum {
    /// The relations defined here, sorted.
    pub predicates: Vec<PredId>,
    /// The rules whose heads are here, in program order.
    pub rules: Vec<RuleId>,
    /// Whether some rule here reads a relation of this stratum (needs a fixpoint loop).
    pub recursive: bool,
}

/// A dependency of a rule's head on a body relation.
struct Edge {
    to: PredId,
    negative: bool,
    /// Whether the dependency is through an aggregate (else through `not`, if negative).
    aggregate: bool,
    span: Span,
    rule: RuleId,
}

fn edges_of(rule: &Rule) -> Vec<Edge> {
    fn walk(
        body: &[Literal],
        in_aggregate: bool,
        rule: RuleId,
        span: Option<Span>,
        out: &mut Vec<Edge>,
    ) {
        for literal in body {
            match literal {
                Literal::Pos(atom) => out.push(Edge {
                    to: atom.predicate,
                    negative: in_aggregate,
                    aggregate: in_aggregate,
                    span: span.unwrap_or(atom.span),
                    rule,
                }),
                Literal::Neg(atom) => out.push(Edge {
                    to: atom.predicate,
                    negative: true,
                    aggregate: in_aggregate,
                    span: span.unwrap_or(atom.span),
                    rule,
                }),
                Literal::Agg(agg) => walk(&agg.body, true, rule, Some(agg.span), out),
                Literal::Cmp { .. } | Literal::Assign { .. } => {}
            }
        }
    }
    let mut out = Vec::new();
    walk(&rule.body, false, rule.id, None, &mut out);
    out
}

/// Computes strata in evaluation order, or one diagnostic per rule literal that negates
/// or aggregates through recursion.
pub fn stratify(predicates: &[Predicate], rules: &[Rule]) -> Result<Vec<Stratum>, Vec<Diagnostic>> {
    let n = predicates.len();
    let mut graph: Vec<Vec<Edge>> = (0..n).map(|_| Vec::new()).collect();
    for rule in rules {
        graph[rule.head.predicate.0 as usize].extend(edges_of(rule));
    }
    let components = tarjan(n, &graph);
    let mut component_of = vec![0usize; n];
    for (index, component) in components.iter().enumerate() {
        for p in component {
            component_of[p.0 as usize] = index;
        }
    }
    let mut errors = Vec::new();
    // Each edge once, in rule order (an edge belongs to the rule that made it): looking
    // at a head's edges once per rule was quadratic in the rules of one relation.
    let mut negative: Vec<(RuleId, PredId, &Edge)> = graph
        .iter()
        .enumerate()
        .flat_map(|(head, edges)| {
            edges
                .iter()
                .filter(|e| e.negative)
                .map(move |e| (e.rule, PredId(head as u32), e))
        })
        .collect();
    negative.sort_by_key(|(rule, _, _)| *rule);
    for (_, head, edge) in negative {
        {
            if component_of[edge.to.0 as usize] == component_of[head.0 as usize] {
                let cycle = cycle_description(predicates, &graph, head, edge);
                let aggregate = edge.aggregate;
                let (code, what) = if aggregate {
                    ("E0204", "aggregation")
                } else {
                    ("E0203", "negation")
                };
                errors.push(
                    Diagnostic::error(
                        code,
                        format!(
                            "{what} through recursion: `{}` depends on itself through {}",
                            predicates[head.0 as usize].name,
                            if aggregate { "an aggregate" } else { "`not`" }
                        ),
                        edge.span,
                    )
                    .with_label(format!("{what} of `{}` here", predicates[edge.to.0 as usize].name))
                    .with_note(format!("the cycle is: {cycle}"))
                    .with_help(format!(
                        "{what} needs the relation to be complete first; break the cycle so that `{}` does not depend on `{}`",
                        predicates[edge.to.0 as usize].name,
                        predicates[head.0 as usize].name
                    )),
                );
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Rules grouped by the component of their head, in one pass (filtering every rule
    // once per component was quadratic).
    let mut rules_of: Vec<Vec<RuleId>> = vec![Vec::new(); components.len()];
    for rule in rules {
        rules_of[component_of[rule.head.predicate.0 as usize]].push(rule.id);
    }
    let mut strata = Vec::new();
    for (index, component) in components.into_iter().enumerate() {
        let mut rule_ids = std::mem::take(&mut rules_of[index]);
        if rule_ids.is_empty() {
            continue;
        }
        rule_ids.sort();
        let recursive = component.iter().any(|p| {
            graph[p.0 as usize]
                .iter()
                .any(|e| component_of[e.to.0 as usize] == index)
        });
        let mut predicates = component;
        predicates.sort();
        strata.push(Stratum {
            predicates,
            rules: rule_ids,
            recursive,
        });
    }
    Ok(strata)
}

/// `a` depends on `not b`, `b` depends on ..., back to `a`.
fn cycle_description(
    predicates: &[Predicate],
    graph: &[Vec<Edge>],
    head: PredId,
    first: &Edge,
) -> String {
    let negated = first.to;
    // Breadth-first search from `negated` back to `head` along dependency edges.
    let mut previous: Vec<Option<(PredId, bool)>> = vec![None; predicates.len()];
    let mut queue = VecDeque::from([negated]);
    let mut seen = vec![false; predicates.len()];
    seen[negated.0 as usize] = true;
    while let Some(p) = queue.pop_front() {
        if p == head {
            break;
        }
        for edge in &graph[p.0 as usize] {
            if !seen[edge.to.0 as usize] {
                seen[edge.to.0 as usize] = true;
                previous[edge.to.0 as usize] = Some((p, edge.negative));
                queue.push_back(edge.to);
            }
        }
    }
    let mut path = vec![(head, false)];
    let mut at = head;
    while at != negated {
        match previous[at.0 as usize] {
            Some((p, negative)) => {
                path.push((p, negative));
                at = p;
            }
            None => break,
        }
    }
    path.reverse();
    // path runs negated -> ... -> head; the cycle starts at head with the negated edge.
    let name = |p: PredId| predicates[p.0 as usize].name.as_str();
    let step = |edge: &Edge, from: PredId| {
        if edge.aggregate {
            format!("`{}` aggregates over `{}`", name(from), name(edge.to))
        } else if edge.negative {
            format!("`{}` depends on `not {}`", name(from), name(edge.to))
        } else {
            format!("`{}` depends on `{}`", name(from), name(edge.to))
        }
    };
    let mut text = step(first, head);
    for window in path.windows(2) {
        let (from, _) = window[0];
        let (to, _) = window[1];
        let edge = graph[from.0 as usize]
            .iter()
            .find(|e| e.to == to)
            .expect("the path follows graph edges");
        text.push_str(", ");
        text.push_str(&step(edge, from));
    }
    text
}

/// Strongly connected components, each emitted after every component it depends on.
fn tarjan(n: usize, graph: &[Vec<Edge>]) -> Vec<Vec<PredId>> {
    struct State {
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<PredId>>,
    }
    let mut state = State {
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    // Iterative depth-first search, so deep dependency chains cannot overflow the stack.
    for root in 0..n {
        if state.index[root].is_some() {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        state.index[root] = Some(state.next);
        state.low[root] = state.next;
        state.next += 1;
        state.stack.push(root);
        state.on_stack[root] = true;
        while let Some(&mut (v, ref mut edge_index)) = work.last_mut() {
            if let Some(edge) = graph[v].get(*edge_index) {
                *edge_index += 1;
                let w = edge.to.0 as usize;
                match state.index[w] {
                    None => {
                        state.index[w] = Some(state.next);
                        state.low[w] = state.next;
                        state.next += 1;
                        state.stack.push(w);
                        state.on_stack[w] = true;
                        work.push((w, 0));
                    }
                    Some(wi) if state.on_stack[w] => {
                        state.low[v] = state.low[v].min(wi);
                    }
                    Some(_) => {}
                }
            } else {
                work.pop();
                if let Some(&(parent, _)) = work.last() {
                    state.low[parent] = state.low[parent].min(state.low[v]);
                }
                if Some(state.low[v]) == state.index[v] {
                    let mut component = Vec::new();
                    loop {
                        let w = state
                            .stack
                            .pop()
                            .expect("tarjan: component root is on the stack");
                        state.on_stack[w] = false;
                        component.push(PredId(w as u32));
                        if w == v {
                            break;
                        }
                    }
                    state.out.push(component);
                }
            }
        }
    }
    state.out
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::Sources;
    use crate::program::{lower, Program};
    use crate::syntax::parse;

    fn program(text: &str) -> Result<Program, Vec<String>> {
        let mut sources = Sources::default();
        let id = sources.add("t.rules", text);
        let (module, errors) = parse(id, text);
        assert!(errors.is_empty(), "{errors:?}");
        match lower(&[module], Vec::new(), &sources) {
            (Some(program), _) => Ok(program),
            (None, diagnostics) => Err(diagnostics
                .iter()
                .map(|d| format!("{}: {}", d.code, d.message))
                .collect()),
        }
    }

    /// Strata as `name name* (recursive)`, in evaluation order.
    fn check(text: &str, expected: &[&str]) {
        let program = program(text).expect("stratifiable");
        let strata: Vec<String> = program
            .strata()
            .iter()
            .map(|s| {
                let names: Vec<&str> = s
                    .predicates
                    .iter()
                    .map(|p| program.predicate(*p).name.as_str())
                    .collect();
                format!(
                    "{}{}",
                    names.join(" "),
                    if s.recursive { " (recursive)" } else { "" }
                )
            })
            .collect();
        assert_eq!(strata, expected);
    }

    #[test]
    fn strata_come_in_dependency_order() {
        check(
            "e(1, 2).\nr(X, Y) :- e(X, Y).\nr(X, Z) :- r(X, Y), e(Y, Z).\nu(X) :- e(X, _), not r(X, X).\nc(N) :- u(_), N = count(X : u(X)).",
            &["r (recursive)", "u", "c"],
        );
    }

    #[test]
    fn mutual_recursion_is_one_stratum() {
        check(
            "n(0, 1).\ns(0).\neven(X) :- s(X).\nodd(Y) :- even(X), n(X, Y).\neven(Y) :- odd(X), n(X, Y).",
            &["even odd (recursive)"],
        );
    }

    #[test]
    fn negation_through_recursion_names_the_cycle() {
        let errors = program("m(a, b).\np(X) :- m(X, _), not q(X).\nq(X) :- r(X).\nr(X) :- p(X).")
            .expect_err("not stratifiable");
        assert_eq!(
            errors,
            vec!["E0203: negation through recursion: `p` depends on itself through `not`"]
        );
    }

    #[test]
    fn negation_of_a_lower_stratum_inside_recursion_is_fine() {
        check(
            "v(a, b). bad(c).\nt(X) :- v(X, _).\nt(Y) :- t(X), v(X, Y), not bad(Y).",
            &["t (recursive)"],
        );
    }
}
