//! Fuzz target `memory_store`: see `sessionlab_fuzz::checks::memory_store` for how the bytes are read and
//! what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sessionlab_fuzz::checks::memory_store(data));
