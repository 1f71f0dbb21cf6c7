//! Writes the seed corpus: `write_seeds <corpus dir>` (`scripts/fuzz.sh --write-seeds`).

use std::path::{Path, PathBuf};

fn main() {
    let corpus: PathBuf = std::env::args_os().nth(1).map_or_else(|| PathBuf::from("corpus"), PathBuf::from);
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the fuzz package is in the repository");
    hush_fuzz::seeds::write_all(&corpus, repository);
    println!("seeds written to {}", corpus.display());
}
