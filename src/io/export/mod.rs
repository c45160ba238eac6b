//! Writers of conclusions in formats other tools read: [`stix`] (STIX 2.1 bundles).
//!
//! Writers take plain data (strings and numbers gathered by a later stage from a model
//! and its explanations), so `io` stays ignorant of evaluation.

pub mod stix;
