//! The standard Datalog workloads of `benches/` on their `--small` data: every count
//! must be exactly the one all peers derive, with and without recorded derivations.

use std::path::{Path, PathBuf};
use std::process::Command;

use ascribe::eval::{evaluate, EvalOptions};

use crate::common::load;

/// `(dataset, workload, input relations, output relation, expected size)`; the sizes
/// are those in `benches/common/mod.rs`, agreed by datafrog, ascent and crepe.
const SMALL: [(&str, &str, &[&str], &str, usize); 6] = [
    ("tc_chain1000", "tc", &["edge"], "path", 1_770),
    ("tc_chain4000", "tc", &["edge"], "path", 7_140),
    ("tc_rand2000", "tc", &["edge"], "path", 8_835),
    ("sg_tree8000", "sg", &["parent"], "sg", 11_100),
    (
        "neg_rand2000",
        "neg",
        &["edge", "bad", "guard"],
        "oneway",
        1_784,
    ),
    ("tri_rand2000", "tri", &["edge"], "tri", 3_282),
];

fn small_data() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("workloads-small");
    if !dir.join("tri_rand2000").join("edge.tsv").exists() {
        let status = Command::new("python3")
            .args(["benches/gen_data.py", "--small", "--out"])
            .arg(&dir)
            .status()
            .expect("python3 runs benches/gen_data.py");
        assert!(status.success(), "gen_data.py failed");
    }
    dir
}

#[test]
fn small_workloads_derive_the_agreed_counts() {
    let data = small_data();
    for (dataset, workload, inputs, output, expected) in SMALL {
        let mut paths = vec![PathBuf::from(format!("benches/workloads/{workload}.rules"))];
        paths.extend(
            inputs
                .iter()
                .map(|r| data.join(dataset).join(format!("{r}.tsv"))),
        );
        let (program, _) = load(&paths);
        let output = program
            .predicate_id(output)
            .expect("output relation declared");
        for record in [true, false] {
            let options = EvalOptions {
                record_derivations: record,
                ..EvalOptions::default()
            };
            let model = evaluate(&program, &options);
            assert_eq!(
                model.len(output),
                expected,
                "{dataset} (recording {record})"
            );
        }
    }
}
