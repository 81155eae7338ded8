//! libFuzzer entry for `whistle_fuzz::graphql_request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| whistle_fuzz::graphql_request::run(data));
