//! cargo-fuzz target `rules`: see `ascribe_fuzz::targets::rules`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ascribe_fuzz::targets::rules(data));
