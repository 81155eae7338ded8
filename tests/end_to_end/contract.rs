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

/// Every committed version of `schema.graphql`, oldest first, each with its commit.
fn history() -> Vec<(String, String)> {
    let output = Command::new("git")
        .args(["log", "--reverse", "--format=%h", "--", "schema.graphql"])
        .current_dir(repository())
        .output()
        .expect("git runs in the repository");
    assert!(output.status.success(), "git log fails: {output:?}");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|commit| {
            let schema = schema_at(commit)
                .unwrap_or_else(|| panic!("schema.graphql at {commit} cannot be read"));
            (commit.to_owned(), schema)
        })
        .collect()
}

/// The breaking changes that were made on purpose, each reviewed with its migration
/// path: the lines inside the fenced blocks of docs/graphql/accepted-breaking-changes.md.
fn accepted_breaks() -> Vec<String> {
    let text =
        std::fs::read_to_string(repository().join("docs/graphql/accepted-breaking-changes.md"))
            .expect("docs/graphql/accepted-breaking-changes.md is checked in");
    let mut inside = false;
    let mut accepted = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            inside = !inside;
        } else if inside && !line.trim().is_empty() {
            accepted.push(line.trim().to_owned());
        }
    }
    accepted
}

/// The breaks of `new` against `old` that nobody accepted on purpose.
fn unaccepted(old: &str, new: &str, accepted: &[String]) -> Vec<String> {
    whistle_api::graphql::contract::breaking_changes(old, new)
        .expect("both schemas parse")
        .into_iter()
        .filter(|change| !accepted.contains(change))
        .collect()
}

#[test]
fn the_schema_only_grows_from_each_version_to_the_next() {
    // Every committed version against the one before it, and the working tree against
    // the last commit: a break anywhere in the history fails, not only in the last step.
    let accepted = accepted_breaks();
    let mut versions = history();
    let current = checked_in();
    if versions.last().is_none_or(|(_, last)| *last != current) {
        versions.push(("the working tree".to_owned(), current));
    }
    let mut failures = Vec::new();
    for pair in versions.windows(2) {
        let ((before, old), (after, new)) = (&pair[0], &pair[1]);
        let breaks = unaccepted(old, new, &accepted);
        if !breaks.is_empty() {
            failures.push(format!(
                "{after} against {before}:\n- {}",
                breaks.join("\n- ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "schema.graphql breaks the contract:\n{}\nDeprecate (`#[graphql(deprecation = \"…\")]`) \
         for at least one release before removing, never change a type, and make new \
         arguments and input fields optional (README, \"The GraphQL contract\"). A break \
         made on purpose is listed, with the clients' migration path, in \
         docs/graphql/accepted-breaking-changes.md",
        failures.join("\n")
    );
}

#[test]
fn the_contract_check_fails_a_breaking_change_and_passes_an_additive_one() {
    let schema = checked_in();
    let accepted = accepted_breaks();
    // Additive: a new optional argument, a new field, a new type.
    let additive = schema
        .replacen(
            "type Query {",
            "type Query {\n\t\"\"\"A new field.\"\"\"\n\tnewField(hint: String): Int\n",
            1,
        )
        .replacen(
            "scalar Position",
            "scalar Position\n\ntype Extra {\n\tx: Int\n}",
            1,
        );
    assert_eq!(
        unaccepted(&schema, &additive, &accepted),
        Vec::<String>::new()
    );
    // Breaking: a field removed without deprecation, a type changed, a required
    // argument added.
    let breaking = schema
        .replacen("\ttitle: String!\n", "\ttitleText: String!\n", 1)
        .replacen("\tpostCount: Int!", "\tpostCount: String!", 1)
        .replacen("me: Me!", "me(unit: ID!): Me!", 1);
    let breaks = unaccepted(&schema, &breaking, &accepted);
    assert_eq!(breaks.len(), 3, "{breaks:#?}");
    // A root type renamed is not a break: clients name the operation, not the type.
    let renamed = schema
        .replace("type Query {", "type QueryRoot {")
        .replace("query: Query\n", "query: QueryRoot\n");
    assert_eq!(
        unaccepted(&schema, &renamed, &accepted),
        Vec::<String>::new()
    );
    let renamed_and_emptied = renamed.replacen("\tme: Me!\n", "\tmyself: Me!\n", 1);
    assert_eq!(
        unaccepted(&schema, &renamed_and_emptied, &accepted),
        vec!["field `Query.me` was removed without being deprecated first".to_owned()]
    );
}
