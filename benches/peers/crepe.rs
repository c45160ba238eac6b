//! The workloads as `crepe!` programs (crepe 0.2), one module per program.
//!
//! Each macro defines one struct per relation and a `Crepe` runtime; `run` evaluates
//! stratum by stratum (`!` is stratified negation) and returns the `@output` relations
//! as hash sets, whose length is the count.

mod tc_program {
    crepe::crepe! {
        @input
        pub struct Edge(pub u32, pub u32);
        @output
        pub struct Path(u32, u32);
        Path(x, y) <- Edge(x, y);
        Path(x, z) <- Path(x, y), Edge(y, z);
    }
}

mod sg_program {
    crepe::crepe! {
        @input
        pub struct Parent(pub u32, pub u32);
        @output
        pub struct Sg(u32, u32);
        Sg(x, y) <- Parent(x, p), Parent(y, p), (x != y);
        Sg(x, y) <- Parent(x, a), Sg(a, b), Parent(y, b);
    }
}

mod neg_program {
    crepe::crepe! {
        @input
        pub struct Edge(pub u32, pub u32);
        @input
        pub struct Bad(pub u32);
        @input
        pub struct Guard(pub u32, pub u32);
        struct Blocked(u32);
        struct Reach(u32, u32);
        @output
        pub struct Oneway(u32, u32);
        Blocked(x) <- Bad(x);
        Blocked(y) <- Blocked(x), Guard(x, y);
        Reach(x, y) <- Edge(x, y), !Blocked(x), !Blocked(y);
        Reach(x, z) <- Reach(x, y), Edge(y, z), !Blocked(z);
        Oneway(x, y) <- Reach(x, y), !Reach(y, x);
    }
}

mod tri_program {
    crepe::crepe! {
        @input
        pub struct Edge(pub u32, pub u32);
        @output
        pub struct Tri(u32, u32, u32);
        Tri(x, y, z) <- Edge(x, y), Edge(y, z), Edge(z, x);
    }
}

/// Size of `path`.
pub fn tc(edges: &[(u32, u32)]) -> usize {
    let mut runtime = tc_program::Crepe::new();
    runtime.extend(edges.iter().map(|&(x, y)| tc_program::Edge(x, y)));
    let (path,) = runtime.run();
    path.len()
}

/// Size of `sg`.
pub fn sg(parents: &[(u32, u32)]) -> usize {
    let mut runtime = sg_program::Crepe::new();
    runtime.extend(parents.iter().map(|&(c, p)| sg_program::Parent(c, p)));
    let (sg,) = runtime.run();
    sg.len()
}

/// Size of `oneway`.
pub fn neg(edges: &[(u32, u32)], bad: &[u32], guards: &[(u32, u32)]) -> usize {
    let mut runtime = neg_program::Crepe::new();
    runtime.extend(edges.iter().map(|&(x, y)| neg_program::Edge(x, y)));
    runtime.extend(bad.iter().map(|&x| neg_program::Bad(x)));
    runtime.extend(guards.iter().map(|&(x, y)| neg_program::Guard(x, y)));
    let (oneway,) = runtime.run();
    oneway.len()
}

/// Size of `tri`.
pub fn tri(edges: &[(u32, u32)]) -> usize {
    let mut runtime = tri_program::Crepe::new();
    runtime.extend(edges.iter().map(|&(x, y)| tri_program::Edge(x, y)));
    let (tri,) = runtime.run();
    tri.len()
}
