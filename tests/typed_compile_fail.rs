//! Misuses of the typed API that must not compile, each with the error a user reads
//! (tests/compile_fail/*.rs and their .stderr; `TRYBUILD=overwrite` rewrites the .stderr files
//! after a deliberate change of wording). rustc's help lists the types that do implement a
//! trait, this crate's `grants::schema` among them, so a new table there changes a few .stderr
//! files too.

#[test]
fn typed_misuse_does_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile_fail/*.rs");
}
