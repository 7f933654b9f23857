//! Fuzz target `playground_form`: see `sessionlab_fuzz::checks::playground_form` for how the
//! bytes are read and what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sessionlab_fuzz::checks::playground_form(data));
