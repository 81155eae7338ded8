//! The `whistle` binary: everything it does is in [`whistle_api::entry`].

fn main() -> std::process::ExitCode {
    whistle_api::entry::main()
}
