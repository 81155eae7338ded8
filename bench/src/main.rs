//! The `whistle-bench` binary: everything it does is in [`whistle_bench::cli`].

fn main() -> std::process::ExitCode {
    whistle_bench::cli::main()
}
