//! Fuzz target `unsign`: see `sessionlab_fuzz::checks::unsign` for how the bytes are read and
//! what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sessionlab_fuzz::checks::unsign(data));
