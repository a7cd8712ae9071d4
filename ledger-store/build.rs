//! Lists the migration files of each engine (`migrations/ENGINE/NNNN_name.sql`) for `schema.rs`,
//! so that adding a migration is adding one file per engine, without sqlx's proc macro
//! `migrate!` (see `schema.rs` for why).

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    // Read at run time: `env!` would bake in the folder the build script was compiled in, and a
    // target directory shared by two checkouts would then embed the other checkout's files.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("migrations");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut code = String::new();
    for engine in ["sqlite", "postgres"] {
        let dir = root.join(engine);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "sql"))
            .collect();
        files.sort();
        writeln!(code, "pub(crate) const {}: &[(i64, &str, &str)] = &[", engine.to_uppercase()).unwrap();
        for path in files {
            let stem = path.file_stem().and_then(|s| s.to_str()).expect("a UTF-8 file name");
            let (version, name) = stem
                .split_once('_')
                .and_then(|(v, name)| Some((v.parse::<i64>().ok()?, name)))
                .unwrap_or_else(|| panic!("{}: expected NNNN_name.sql", path.display()));
            let description = name.replace('_', " ");
            writeln!(code, "    ({version}, {description:?}, include_str!({:?})),", path.display().to_string())
                .unwrap();
        }
        code.push_str("];\n");
    }
    std::fs::write(Path::new(&out).join("migrations.rs"), code).expect("cannot write migrations.rs");
}
