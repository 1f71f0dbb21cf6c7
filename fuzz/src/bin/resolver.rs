//! AFL++ entry point of the `resolver` target (`hush_fuzz::resolver`).

fn main() {
    let target = std::panic::AssertUnwindSafe(hush_fuzz::resolver::ResolverTarget::new());
    afl::fuzz(true, |data| target.run(data));
}
