//! The workloads as `ascent!` programs (ascent 0.8), one module per program.
//!
//! Each macro defines a program struct with one `Vec` field per relation; the inputs are
//! copied in, `run` evaluates stratum by stratum (`!` is stratified negation), and the
//! output's length is the count.

mod tc_program {
    ascent::ascent! {
        pub struct Program;
        relation edge(u32, u32);
        relation path(u32, u32);
        path(x, y) <-- edge(x, y);
        path(x, z) <-- path(x, y), edge(y, z);
    }
}

mod sg_program {
    ascent::ascent! {
        pub struct Program;
        relation parent(u32, u32);
        relation sg(u32, u32);
        sg(x, y) <-- parent(x, p), parent(y, p), if x != y;
        sg(x, y) <-- parent(x, a), sg(a, b), parent(y, b);
    }
}

mod neg_program {
    ascent::ascent! {
        pub struct Program;
        relation edge(u32, u32);
        relation bad(u32);
        relation guard(u32, u32);
        relation blocked(u32);
        relation reach(u32, u32);
        relation oneway(u32, u32);
        blocked(x) <-- bad(x);
        blocked(y) <-- blocked(x), guard(x, y);
        reach(x, y) <-- edge(x, y), !blocked(x), !blocked(y);
        reach(x, z) <-- reach(x, y), edge(y, z), !blocked(z);
        oneway(x, y) <-- reach(x, y), !reach(y, x);
    }
}

mod tri_program {
    ascent::ascent! {
        pub struct Program;
        relation edge(u32, u32);
        relation tri(u32, u32, u32);
        tri(x, y, z) <-- edge(x, y), edge(y, z), edge(z, x);
    }
}

/// Size of `path`.
pub fn tc(edges: &[(u32, u32)]) -> usize {
    let mut program = tc_program::Program::default();
    program.edge = edges.to_vec();
    program.run();
    program.path.len()
}

/// Size of `sg`.
pub fn sg(parents: &[(u32, u32)]) -> usize {
    let mut program = sg_program::Program::default();
    program.parent = parents.to_vec();
    program.run();
    program.sg.len()
}

/// Size of `oneway`.
pub fn neg(edges: &[(u32, u32)], bad: &[u32], guards: &[(u32, u32)]) -> usize {
    let mut program = neg_program::Program::default();
    program.edge = edges.to_vec();
    program.bad = bad.iter().map(|&x| (x,)).collect();
    program.guard = guards.to_vec();
    program.run();
    program.oneway.len()
}

/// Size of `tri`.
pub fn tri(edges: &[(u32, u32)]) -> usize {
    let mut program = tri_program::Program::default();
    program.edge = edges.to_vec();
    program.run();
    program.tri.len()
}
