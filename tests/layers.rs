//! The architecture's one rule about imports: the run contract (`src/run/`) and the
//! dashboard (`src/tui/`) know nothing of the engine (`train`) or the models
//! (`model`), so a viewer never depends on tensors.

use std::fs;
use std::path::Path;

fn rust_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).expect("source folder") {
        let path = entry.expect("source entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn the_run_contract_and_the_dashboard_do_not_import_the_engine() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root.join("run"), &mut files);
    rust_files(&root.join("tui"), &mut files);
    assert!(files.len() > 10, "found only {files:?}");
    let forbidden = ["crate::train", "crate::model", "fer::train", "fer::model"];
    let offenders: Vec<String> = files
        .iter()
        .flat_map(|path| {
            let text = fs::read_to_string(path).expect("readable source");
            text.lines()
                .enumerate()
                .filter(|(_, line)| !line.trim_start().starts_with("//"))
                .filter(|(_, line)| forbidden.iter().any(|name| line.contains(name)))
                .map(|(number, line)| format!("{}:{}: {}", path.display(), number + 1, line.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}
