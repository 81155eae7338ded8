//! The end-to-end suite's package holds no library code: the tests are in `end_to_end/`
//! (one test binary), and the two programs it runs as processes are built from
//! `whistle_under_test.rs` and `whistle_bench_under_test.rs`.
