//! The `whistle-bench` program, built inside the test package so that the end-to-end
//! suite can run its subcommands (`CARGO_BIN_EXE_whistle-bench-under-test`).

fn main() -> std::process::ExitCode {
    whistle_bench::cli::main()
}
