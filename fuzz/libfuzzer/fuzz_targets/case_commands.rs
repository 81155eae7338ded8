//! libFuzzer entry for `whistle_fuzz::case_commands`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| whistle_fuzz::case_commands::run(data));
