//! AFL++ entry point of the `request` target (`hush_fuzz::request`).

fn main() {
    let target = std::panic::AssertUnwindSafe(hush_fuzz::request::RequestTarget::new());
    afl::fuzz(true, |data| target.run(data));
}
