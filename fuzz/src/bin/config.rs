//! AFL++ entry point of the `config` target (`hush_fuzz::config`).

fn main() {
    let target = std::panic::AssertUnwindSafe(hush_fuzz::config::ConfigTarget::new());
    afl::fuzz(true, |data| target.run(data));
}
