//! The `ascribe` command: a thin wrapper that runs the CLI and exits with its code.

fn main() {
    std::process::exit(ascribe::cli::main_with_large_stack());
}
