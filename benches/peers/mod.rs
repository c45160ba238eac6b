//! Peer Datalog engines on the standard workloads, each returning its output's size.
//!
//! Every peer evaluates the rules of `benches/workloads/*.rules` (the neutral `*.dl` of the
//! shared bench README) on the tuples loaded from the dataset's TSV files and returns the
//! number of tuples in the output relation: `path` (tc), `sg` (sg), `oneway` (neg) and
//! `tri` (tri).

pub mod ascent;
pub mod crepe;
pub mod datafrog;

/// `neg(edge, bad, guard)`: size of `oneway`.
pub type NegFn = fn(&[(u32, u32)], &[u32], &[(u32, u32)]) -> usize;

/// One peer: a function per workload, all from loaded input tuples to the output's size.
#[derive(Clone, Copy)]
pub struct Peer {
    /// Name used in benchmark ids, `<peer>/<dataset>`.
    pub name: &'static str,
    /// `tc(edge)`: size of `path`.
    pub tc: fn(&[(u32, u32)]) -> usize,
    /// `sg(parent)`: size of `sg`.
    pub sg: fn(&[(u32, u32)]) -> usize,
    /// `neg(edge, bad, guard)`: size of `oneway`.
    pub neg: NegFn,
    /// `tri(edge)`: size of `tri`.
    pub tri: fn(&[(u32, u32)]) -> usize,
}

/// All peers, fastest first on the shared bench README's machine.
pub const PEERS: [Peer; 3] = [
    Peer {
        name: "datafrog",
        tc: datafrog::tc,
        sg: datafrog::sg,
        neg: datafrog::neg,
        tri: datafrog::tri,
    },
    Peer {
        name: "ascent",
        tc: ascent::tc,
        sg: ascent::sg,
        neg: ascent::neg,
        tri: ascent::tri,
    },
    Peer {
        name: "crepe",
        tc: crepe::tc,
        sg: crepe::sg,
        neg: crepe::neg,
        tri: crepe::tri,
    },
];
