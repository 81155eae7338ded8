//! The GraphQL schema as a contract: its SDL ([`sdl`], checked in as `schema.graphql`) and
//! the rule that it only grows ([`breaking_changes`]): nothing a client may rely on is
//! removed or changed unless it was `@deprecated` in the schema before. Types stay; a
//! field, argument, enum value or input field is removed only after its deprecation; a
//! type reference never changes; a new argument or input field must be optional.

use std::collections::HashMap;

use async_graphql::parser::types::{
    FieldDefinition, InputValueDefinition, ServiceDocument, TypeDefinition, TypeKind,
    TypeSystemDefinition,
};

use super::{mutation::MutationRoot, query::QueryRoot, subscription::SubscriptionRoot};

/// The schema's SDL as served (what `schema.graphql` must hold).
pub fn sdl() -> String {
    async_graphql::Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .finish()
        .sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}

fn types(document: &ServiceDocument) -> HashMap<String, &TypeDefinition> {
    document
        .definitions
        .iter()
        .filter_map(|definition| match definition {
            TypeSystemDefinition::Type(ty) => Some((ty.node.name.node.to_string(), &ty.node)),
            _ => None,
        })
        .collect()
}

/// The root operation types by role (`query`, `mutation`, `subscription`): from the
/// `schema` definition, or the default names when there is none.
fn roots(document: &ServiceDocument) -> HashMap<&'static str, String> {
    let mut roots = HashMap::new();
    for definition in &document.definitions {
        if let TypeSystemDefinition::Schema(schema) = definition {
            let schema = &schema.node;
            for (role, name) in [
                ("query", &schema.query),
                ("mutation", &schema.mutation),
                ("subscription", &schema.subscription),
            ] {
                if let Some(name) = name {
                    roots.insert(role, name.node.to_string());
                }
            }
        }
    }
    let types = types(document);
    for (role, default) in [
        ("query", "Query"),
        ("mutation", "Mutation"),
        ("subscription", "Subscription"),
    ] {
        if !roots.contains_key(role) && types.contains_key(default) {
            roots.insert(role, default.to_owned());
        }
    }
    roots
}

fn deprecated(
    directives: &[async_graphql::Positioned<async_graphql::parser::types::ConstDirective>],
) -> bool {
    directives
        .iter()
        .any(|d| d.node.name.node.as_str() == "deprecated")
}

fn fields(kind: &TypeKind) -> Option<&[async_graphql::Positioned<FieldDefinition>]> {
    match kind {
        TypeKind::Object(object) => Some(&object.fields),
        TypeKind::Interface(interface) => Some(&interface.fields),
        _ => None,
    }
}

/// Required: non-null and without a default.
fn required(input: &InputValueDefinition) -> bool {
    !input.ty.node.nullable && input.default_value.is_none()
}

/// What `new` breaks of `old` (both SDL), in words; empty when the change is additive.
pub fn breaking_changes(old: &str, new: &str) -> Result<Vec<String>, String> {
    let old =
        async_graphql::parser::parse_schema(old).map_err(|e| format!("the old schema: {e}"))?;
    let new =
        async_graphql::parser::parse_schema(new).map_err(|e| format!("the new schema: {e}"))?;
    let (old_types, new_types) = (types(&old), types(&new));
    let mut breaks = Vec::new();
    // A root type is found by its role, not its name: clients name the operation
    // (`query`, `mutation`, `subscription`), never the root type.
    let (old_roots, new_roots) = (roots(&old), roots(&new));
    let renamed: HashMap<&String, &String> = old_roots
        .iter()
        .filter_map(|(role, old_name)| new_roots.get(role).map(|new_name| (old_name, new_name)))
        .collect();
    for (role, name) in &old_roots {
        if !new_roots.contains_key(role) {
            breaks.push(format!("the {role} root type `{name}` was removed"));
        }
    }
    let mut names: Vec<&String> = old_types.keys().collect();
    names.sort();
    for name in names {
        let before = old_types[name];
        let Some(after) = new_types.get(*renamed.get(name).unwrap_or(&name)) else {
            breaks.push(format!("type `{name}` was removed"));
            continue;
        };
        match (&before.kind, &after.kind) {
            (TypeKind::Enum(before_enum), TypeKind::Enum(after_enum)) => {
                for value in &before_enum.values {
                    let kept = after_enum
                        .values
                        .iter()
                        .any(|v| v.node.value.node == value.node.value.node);
                    if !kept && !deprecated(&value.node.directives) {
                        breaks.push(format!(
                            "enum value `{name}.{}` was removed without being deprecated first",
                            value.node.value.node
                        ));
                    }
                }
            }
            (TypeKind::InputObject(before_input), TypeKind::InputObject(after_input)) => {
                for field in &before_input.fields {
                    match after_input
                        .fields
                        .iter()
                        .find(|f| f.node.name.node == field.node.name.node)
                    {
                        None if !deprecated(&field.node.directives) => breaks.push(format!(
                            "input field `{name}.{}` was removed without being deprecated first",
                            field.node.name.node
                        )),
                        Some(kept) if kept.node.ty.node != field.node.ty.node => {
                            breaks.push(format!(
                                "input field `{name}.{}` changed type from `{}` to `{}`",
                                field.node.name.node, field.node.ty.node, kept.node.ty.node
                            ))
                        }
                        _ => {}
                    }
                }
                for field in &after_input.fields {
                    let is_new = !before_input
                        .fields
                        .iter()
                        .any(|f| f.node.name.node == field.node.name.node);
                    if is_new && required(&field.node) {
                        breaks.push(format!(
                            "new input field `{name}.{}` is required: give it a default or make it nullable",
                            field.node.name.node
                        ));
                    }
                }
            }
            (TypeKind::Union(before_union), TypeKind::Union(after_union)) => {
                for member in &before_union.members {
                    if !after_union.members.iter().any(|m| m.node == member.node) {
                        breaks.push(format!("`{}` was removed from union `{name}`", member.node));
                    }
                }
            }
            (before_kind, after_kind) => match (fields(before_kind), fields(after_kind)) {
                (Some(before_fields), Some(after_fields)) => {
                    for field in before_fields {
                        let field = &field.node;
                        let Some(kept) = after_fields
                            .iter()
                            .find(|f| f.node.name.node == field.name.node)
                        else {
                            if !deprecated(&field.directives) {
                                breaks.push(format!(
                                    "field `{name}.{}` was removed without being deprecated first",
                                    field.name.node
                                ));
                            }
                            continue;
                        };
                        let kept = &kept.node;
                        if kept.ty.node != field.ty.node {
                            breaks.push(format!(
                                "field `{name}.{}` changed type from `{}` to `{}`",
                                field.name.node, field.ty.node, kept.ty.node
                            ));
                        }
                        for argument in &field.arguments {
                            match kept
                                .arguments
                                .iter()
                                .find(|a| a.node.name.node == argument.node.name.node)
                            {
                                None if !deprecated(&argument.node.directives) => {
                                    breaks.push(format!(
                                        "argument `{name}.{}({})` was removed without being deprecated first",
                                        field.name.node, argument.node.name.node
                                    ))
                                }
                                Some(still) if still.node.ty.node != argument.node.ty.node => {
                                    breaks.push(format!(
                                        "argument `{name}.{}({})` changed type from `{}` to `{}`",
                                        field.name.node,
                                        argument.node.name.node,
                                        argument.node.ty.node,
                                        still.node.ty.node
                                    ))
                                }
                                _ => {}
                            }
                        }
                        for argument in &kept.arguments {
                            let is_new = !field
                                .arguments
                                .iter()
                                .any(|a| a.node.name.node == argument.node.name.node);
                            if is_new && required(&argument.node) {
                                breaks.push(format!(
                                    "new argument `{name}.{}({})` is required: give it a default or make it nullable",
                                    field.name.node, argument.node.name.node
                                ));
                            }
                        }
                    }
                }
                _ if std::mem::discriminant(before_kind) != std::mem::discriminant(after_kind) => {
                    breaks.push(format!("type `{name}` changed kind"));
                }
                _ => {}
            },
        }
    }
    Ok(breaks)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = r#"
        type Query { case(id: ID!): Case!  cases(first: Int): [Case!]! }
        type Case { id: ID!  title: String!  old: Int @deprecated(reason: "use title") }
        enum Level { GENERAL MAJOR }
        input Filter { level: Level }
    "#;

    #[test]
    fn an_additive_change_passes() {
        let after = r#"
            type Query { case(id: ID!): Case!  cases(first: Int, after: String): [Case!]!  units: [String!]! }
            type Case { id: ID!  title: String!  heat: Int }
            enum Level { GENERAL MAJOR SIGNIFICANT }
            input Filter { level: Level  text: String }
            type Unit { id: ID! }
        "#;
        assert_eq!(
            breaking_changes(BEFORE, after).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn each_breaking_change_is_named() {
        let after = r#"
            type Query { case(id: String!): Case  cases(first: Int, mine: Boolean!): [Case!]! }
            type Case { id: ID! }
            enum Level { GENERAL }
            input Filter { level: Level  unit: String! }
        "#;
        let breaks = breaking_changes(BEFORE, after).unwrap();
        for expected in [
            "field `Case.title` was removed without being deprecated first",
            "field `Query.case` changed type from `Case!` to `Case`",
            "argument `Query.case(id)` changed type from `ID!` to `String!`",
            "new argument `Query.cases(mine)` is required",
            "enum value `Level.MAJOR` was removed",
            "new input field `Filter.unit` is required",
        ] {
            assert!(
                breaks.iter().any(|b| b.starts_with(expected)),
                "{expected} in {breaks:#?}"
            );
        }
        // The deprecated field went without a word.
        assert!(
            !breaks.iter().any(|b| b.contains("Case.old")),
            "{breaks:#?}"
        );
        assert_eq!(breaks.len(), 6, "{breaks:#?}");
    }
}

/// What the schema leaves undescribed: every type, field, argument and input field
/// must say what it is in the domain's words (enum values carry their Chinese labels in
/// `vocabularies`). The standard scalars and directives are the specification's.
pub fn undocumented(sdl: &str) -> Result<Vec<String>, String> {
    let document = async_graphql::parser::parse_schema(sdl).map_err(|e| e.to_string())?;
    let mut missing = Vec::new();
    let described = |d: &Option<async_graphql::Positioned<String>>| {
        d.as_ref().is_some_and(|d| !d.node.trim().is_empty())
    };
    for definition in &document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let ty = &ty.node;
        let name = ty.name.node.as_str();
        if !described(&ty.description) {
            missing.push(format!("type `{name}`"));
        }
        if let Some(fields) = fields(&ty.kind) {
            for field in fields {
                let field = &field.node;
                if !described(&field.description) {
                    missing.push(format!("field `{name}.{}`", field.name.node));
                }
                for argument in &field.arguments {
                    if !described(&argument.node.description) {
                        missing.push(format!(
                            "argument `{name}.{}({})`",
                            field.name.node, argument.node.name.node
                        ));
                    }
                }
            }
        }
        if let TypeKind::InputObject(input) = &ty.kind {
            for field in &input.fields {
                if !described(&field.node.description) {
                    missing.push(format!("input field `{name}.{}`", field.node.name.node));
                }
            }
        }
    }
    Ok(missing)
}

#[cfg(test)]
mod description_tests {
    use super::*;

    #[test]
    fn every_type_field_and_argument_is_described() {
        let missing = undocumented(&sdl()).unwrap();
        assert!(
            missing.is_empty(),
            "{} without a description:\n{}",
            missing.len(),
            missing.join("\n")
        );
    }
}
