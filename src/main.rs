//! The `wsforensics` binary: all logic is in the library.

/// jemalloc instead of glibc's allocator: the worker threads allocate and
/// free per-connection state (inflater windows, reassembly chunks, records)
/// all the time, and glibc's per-thread arenas kept much of what was freed
/// (peak RSS 181 MB against a 137 MB heap peak on a 4.4 GB capture; 163 MB
/// with jemalloc), and the run was 10-15% slower.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    std::process::exit(wsforensics::cli::run());
}
