//! The `whistle` program, built inside the test package so that the end-to-end suite
//! can start it as separate processes (`CARGO_BIN_EXE_whistle-under-test`).

fn main() -> std::process::ExitCode {
    whistle_cli::main()
}
