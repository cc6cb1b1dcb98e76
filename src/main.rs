//! The `hull` binary: argv → cli → exit status.

fn main() {
    std::process::exit(hull::cli::main());
}
