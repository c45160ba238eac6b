//! cargo-fuzz target `eval`: see `ascribe_fuzz::targets::eval`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ascribe_fuzz::targets::eval(data));
