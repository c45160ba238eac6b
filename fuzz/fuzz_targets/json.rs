//! cargo-fuzz target `json`: see `ascribe_fuzz::targets::json`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ascribe_fuzz::targets::json(data));
