//! The `wsforensics` binary: all logic is in the library.

fn main() {
    std::process::exit(wsforensics::cli::run());
}
