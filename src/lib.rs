//! ascribe: rule-based attribution reasoning.
//!
//! Evidence is written as facts and attribution logic as rules; [`evaluate`] derives
//! every conclusion the rules allow, each with a confidence in the max-product semiring,
//! and [`explain()`] traces any conclusion back to the input facts and their sources.
//!
//! ```
//! use ascribe::{diagnostic::Sources, evaluate, explain, parse, EvalOptions, Program};
//!
//! let mut sources = Sources::default();
//! let text = r#"
//!     claims(gcsb, nz_pco_2021, apt40) @source("GCSB 2024-03-26") @confidence(0.9).
//!     @name("official attribution") @strength(0.9)
//!     conducted_by(I, G) :- claims(_, I, G).
//! "#;
//! let id = sources.add("example.rules", text);
//! let (module, errors) = parse(id, text);
//! assert!(errors.is_empty());
//! let program = Program::from_modules(&[module], Vec::new(), &sources).expect("valid program");
//! let model = evaluate(&program, &EvalOptions::default());
//! let tree = explain::explain_text(&program, &model, "conducted_by(nz_pco_2021, apt40)").expect("derived");
//! assert!(tree.contains("official attribution"));
//! ```

#![warn(missing_docs)]

pub mod cli;
#[cfg(feature = "dataflow")]
pub mod dataflow;
pub mod diagnostic;
pub mod eval;
pub mod explain;
pub mod export;
pub mod html;
pub mod io;
pub mod load;
pub mod program;
pub mod progress;
pub mod query;
pub mod report;
pub mod syntax;
pub mod test;
pub mod value;

pub use eval::{evaluate, EvalOptions, Model};
pub use explain::explain;
pub use program::Program;
pub use syntax::parse;
