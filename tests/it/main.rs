//! The integration test binary: fixtures, examples, diagnostics, the CLI and hygiene.

mod cli;
mod common;
#[cfg(feature = "dataflow")]
mod dataflow;
mod diagnostics;
mod differential;
mod docs;
mod eval;
mod examples;
mod explain;
mod fmt;
mod html;
mod lints;
mod lossless;
mod misp;
mod output;
mod progress;
mod report;
mod stix;
mod stix_export;
mod taxii;
mod testing;
mod threads;
mod tidy;
#[cfg(feature = "dataflow")]
mod watch;
mod workloads;
