//! cargo-fuzz target `delimited`: see `ascribe_fuzz::targets::delimited`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ascribe_fuzz::targets::delimited(data));
