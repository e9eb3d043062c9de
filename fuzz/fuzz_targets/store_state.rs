#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cifd::fuzz::store_state(data));
