//! Misuses of the typed API that must not compile, each with the error a user reads
//! (tests/compile_fail/*.rs and their .stderr; `TRYBUILD=overwrite` rewrites the .stderr files
//! after a deliberate change of wording).

#[test]
fn typed_misuse_does_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile_fail/*.rs");
}
