//! cargo-fuzz target `stix`: see `ascribe_fuzz::targets::stix`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ascribe_fuzz::targets::stix(data));
