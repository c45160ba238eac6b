//! Fuzz targets for ascribe. The targets are plain functions in [`targets`], so they run
//! under libFuzzer (`cargo fuzz run TARGET`), as a corpus replay on the stable toolchain
//! (`cargo run --bin replay --no-default-features`), and in the regression tests.

pub mod targets;
