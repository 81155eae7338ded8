//! The `whistle` binary: everything it does is in the `whistle_cli` library.

fn main() -> std::process::ExitCode {
    whistle_cli::main()
}
