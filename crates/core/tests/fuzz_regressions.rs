//! Every saved input of the core fuzz target (seeds, and crashes found), replayed as a test: a
//! script of joins, real publishes, signaling messages, datagrams and time must never make the
//! core panic (`summit_testkit::script`).

use std::path::Path;

#[test]
fn saved_core_scripts_run_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut n = 0;
    for dir in ["seeds/core", "regressions/core"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            panic!("{dir} is missing");
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.file_name().is_some_and(|f| f == ".keep") {
                continue;
            }
            let Ok(script) = std::fs::read(&path) else {
                panic!("cannot read {}", path.display());
            };
            let _ = summit_testkit::script::run(&script);
            n += 1;
        }
    }
    assert!(n >= 4, "the seeds should be there ({n} ran)");
}
