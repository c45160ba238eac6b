//! The workloads as hand-written datafrog joins (datafrog 2).
//!
//! Semi-naive evaluation is datafrog's own: each recursive rule is one `from_join` per
//! round against a variable's recent tuples, and each stratum is its own `Iteration`.
//! Variables and relations are keyed by the column the next join needs, so `path(X, Y)`
//! lives as `(Y, X)`; non-recursive joins are `Relation::from_leapjoin`.

use datafrog::{Iteration, Relation, RelationLeaper, ValueFilter};

/// `path(X, Y) :- edge(X, Y).  path(X, Z) :- path(X, Y), edge(Y, Z).`
pub fn tc(edges: &[(u32, u32)]) -> usize {
    let edge: Relation<(u32, u32)> = edges.iter().copied().collect();
    let mut iteration = Iteration::new();
    // path(X, Y) as (Y, X), keyed for the join with edge(Y, Z).
    let path_by_end = iteration.variable::<(u32, u32)>("path_by_end");
    path_by_end.extend(edges.iter().map(|&(x, y)| (y, x)));
    while iteration.changed() {
        path_by_end.from_join(&path_by_end, &edge, |_y, &x, &z| (z, x));
    }
    path_by_end.complete().len()
}

/// `sg(X, Y) :- parent(X, P), parent(Y, P), X != Y.`
/// `sg(X, Y) :- parent(X, A), sg(A, B), parent(Y, B).`
pub fn sg(parents: &[(u32, u32)]) -> usize {
    let parent: Relation<(u32, u32)> = parents.iter().copied().collect();
    // parent(C, P) as (P, C): the children of each parent.
    let children: Relation<(u32, u32)> = parents.iter().map(|&(c, p)| (p, c)).collect();
    let siblings = Relation::from_leapjoin(
        &parent,
        (
            children.extend_with(|&(_x, p)| p),
            ValueFilter::from(|&(x, _p), &y| x != y),
        ),
        |&(x, _p), &y| (x, y),
    );
    let mut iteration = Iteration::new();
    // sg(A, B), keyed by A for parent(X, A).
    let sg = iteration.variable::<(u32, u32)>("sg");
    // parent(X, A), sg(A, B) as (B, X), keyed for parent(Y, B).
    let sg_half = iteration.variable::<(u32, u32)>("sg_half");
    sg.insert(siblings);
    while iteration.changed() {
        sg_half.from_join(&sg, &children, |_a, &b, &x| (b, x));
        sg.from_join(&sg_half, &children, |_b, &x, &y| (x, y));
    }
    sg.complete().len()
}

/// `blocked(X) :- bad(X).  blocked(Y) :- blocked(X), guard(X, Y).`
/// `reach(X, Y) :- edge(X, Y), !blocked(X), !blocked(Y).`
/// `reach(X, Z) :- reach(X, Y), edge(Y, Z), !blocked(Z).`
/// `oneway(X, Y) :- reach(X, Y), !reach(Y, X).`
pub fn neg(edges: &[(u32, u32)], bad: &[u32], guards: &[(u32, u32)]) -> usize {
    // Stratum 1: blocked.
    let guard: Relation<(u32, u32)> = guards.iter().copied().collect();
    let mut iteration = Iteration::new();
    let blocked = iteration.variable::<u32>("blocked");
    blocked.extend(bad.iter().copied());
    while iteration.changed() {
        blocked.from_leapjoin(&blocked, guard.extend_with(|&x| x), |_x, &y| y);
    }
    let blocked = blocked.complete();

    // Stratum 2: reach. `Relation::from_antijoin` of datafrog 2.0.1 always returns an
    // empty relation (rust-lang/datafrog#39), so the antijoins run on variables, whose
    // recent tuples they read: the edges are recent in the first round only.
    let mut iteration = Iteration::new();
    // edge(Y, Z) as (Z, Y), keyed for `!blocked(Z)`.
    let edge_by_end = iteration.variable::<(u32, u32)>("edge_by_end");
    edge_by_end.extend(edges.iter().map(|&(y, z)| (z, y)));
    // edge(Y, Z), !blocked(Z).
    let edge_open = iteration.variable::<(u32, u32)>("edge_open");
    // reach(X, Y) as (Y, X), keyed for the join with edge_open(Y, Z).
    let reach_by_end = iteration.variable::<(u32, u32)>("reach_by_end");
    while iteration.changed() {
        edge_open.from_antijoin(&edge_by_end, &blocked, |&z, &y| (y, z));
        reach_by_end.from_antijoin(&edge_open, &blocked, |&x, &y| (y, x));
        reach_by_end.from_join(&reach_by_end, &edge_open, |_y, &x, &z| (z, x));
    }
    // As a set of pairs, (Y, X) for reach(X, Y) is reach reversed.
    let reach_reversed = reach_by_end.complete();

    // Stratum 3: oneway, antijoin of reach(X, Y) with the reversed reach.
    let mut iteration = Iteration::new();
    let reach = iteration.variable::<((u32, u32), ())>("reach");
    reach.extend(reach_reversed.iter().map(|&(y, x)| ((x, y), ())));
    let oneway = iteration.variable::<(u32, u32)>("oneway");
    while iteration.changed() {
        oneway.from_antijoin(&reach, &reach_reversed, |&(x, y), &()| (x, y));
    }
    oneway.complete().len()
}

/// `tri(X, Y, Z) :- edge(X, Y), edge(Y, Z), edge(Z, X).`
pub fn tri(edges: &[(u32, u32)]) -> usize {
    let edge: Relation<(u32, u32)> = edges.iter().copied().collect();
    // edge(Z, X) as (X, Z), keyed by X.
    let edge_reversed: Relation<(u32, u32)> = edges.iter().map(|&(z, x)| (x, z)).collect();
    Relation::from_leapjoin(
        &edge,
        (
            edge.extend_with(|&(_x, y)| y),
            edge_reversed.extend_with(|&(x, _y)| x),
        ),
        |&(x, y), &z| (x, y, z),
    )
    .len()
}
