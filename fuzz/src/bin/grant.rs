//! AFL++ entry point of the `grant` target (`hush_fuzz::grant`).

fn main() {
    let target = std::panic::AssertUnwindSafe(hush_fuzz::grant::GrantTarget::new());
    afl::fuzz(true, |data| target.run(data));
}
