//! AFL++ entry point of the `path` target (`hush_fuzz::path`).

fn main() {
    afl::fuzz(true, hush_fuzz::path::run);
}
