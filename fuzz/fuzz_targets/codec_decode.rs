//! Fuzz target `codec_decode`: see `sessionlab_fuzz::checks::codec_decode` for how the bytes are read and
//! what must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| sessionlab_fuzz::checks::codec_decode(data));
