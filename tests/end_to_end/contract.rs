//! The GraphQL schema is a contract (README "The GraphQL contract"): the SDL the service
//! serves is the one checked in as `schema.graphql`, and it only grows — against the
//! schema of the commit before, nothing a client relies on is removed or changed unless
//! it was deprecated first.

use std::path::Path;
use std::process::Command;

/// The command that refreshes `schema.graphql` after an intended change.
const REFRESH: &str = "cargo run -q --bin whistle -- schema > schema.graphql";

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the repository")
}

fn checked_in() -> String {
    std::fs::read_to_string(repository().join("schema.graphql"))
        .expect("schema.graphql is checked in at the repository's root")
}

#[test]
fn the_served_schema_is_the_one_checked_in() {
    let served = whistle_api::graphql::contract::sdl();
    assert!(
        served == checked_in(),
        "the GraphQL schema the service serves differs from schema.graphql: if the change is \
         meant, run `{REFRESH}` and commit the file with the change (reviewers see the diff)"
    );
}

/// `git show REV:schema.graphql` in the repository, if git and that revision have it.
fn schema_at(revision: &str) -> Option<String> {
    let output = Command::new("git")
        .args(["show", &format!("{revision}:schema.graphql")])
        .current_dir(repository())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn the_schema_only_grows_against_the_commit_before() {
    let current = checked_in();
    // In a working tree with an uncommitted change to the schema, compare with HEAD;
    // in a clean checkout (CI), compare HEAD with the commit before it.
    let head = schema_at("HEAD");
    let (base, name) = match head {
        Some(head) if head != current => (Some(head), "HEAD"),
        _ => (schema_at("HEAD~1"), "HEAD~1"),
    };
    let Some(base) = base else {
        // The commit that introduced schema.graphql has nothing before it to compare
        // with; every later commit does.
        let introduced = Command::new("git")
            .args(["log", "--format=%H", "--", "schema.graphql"])
            .current_dir(repository())
            .output()
            .expect("git runs");
        let commits = String::from_utf8_lossy(&introduced.stdout).lines().count();
        assert!(
            commits <= 1,
            "schema.graphql has a history of {commits} commits but {name} has none"
        );
        return;
    };
    let breaks = whistle_api::graphql::contract::breaking_changes(&base, &current)
        .expect("both schemas parse");
    assert!(
        breaks.is_empty(),
        "schema.graphql breaks the contract of {name}:\n- {}\nDeprecate (`#[graphql(deprecation = \"…\")]`) \
         for at least one release before removing, never change a type, and make new \
         arguments and input fields optional (README, \"The GraphQL contract\")",
        breaks.join("\n- ")
    );
}
