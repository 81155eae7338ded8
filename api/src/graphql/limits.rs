//! Bounded parsing and cost, checked before any work is done on a document.
//!
//! 1. The query text, before it is parsed ([`check_query_text`]): its size, its number
//!    of tokens, and how deeply brackets nest — counted by a small scanner that skips
//!    strings and comments. The GraphQL parser recurses on value literals (lists and
//!    objects) with no depth limit of its own, so a 4 KB document of nested lists would
//!    overflow a worker's stack; the scanner refuses it first.
//! 2. The parsed document ([`check_document`]): the number of fragments, fragment
//!    cycles, and what the document expands to — fields counted with every fragment spread
//!    inlined, computed once per fragment, so a chain of fragments that doubles at each
//!    step (1 KB of text, 2^26 fields) is refused in microseconds, before the engine's
//!    own checks (which inline fragments one by one) see it. Also the number of root
//!    fields, and every string in the document: no NUL or other control character may
//!    reach a resolver (or a database).
//! 3. The variables ([`check_variables`]): nesting depth and the same rule for strings.
//!
//! After these, the engine's own limits apply (depth, complexity with per-field weights,
//! see `query.rs`), then [`QueryCost`] makes the most expensive requests take a turn.
//! Each refusal carries an `extensions.code`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, ServerError, ServerResult, ValidationResult, Value, Variables};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::errors::ErrorCode;

/// Longest query text accepted (bytes).
pub const MAX_QUERY_BYTES: usize = 64 * 1024;
/// Most tokens in a query text.
pub const MAX_TOKENS: usize = 10_000;
/// Deepest nesting of `{`, `[` and `(` in a query text.
pub const MAX_NESTING: usize = 48;
/// Most fragments one document may define.
pub const MAX_FRAGMENTS: usize = 100;
/// Most fields an operation may expand to, with every fragment inlined.
pub const MAX_EXPANDED_FIELDS: u64 = 5_000;
/// Most fields at the root of an operation (aliases of expensive fields add up).
pub const MAX_ROOT_FIELDS: u64 = 32;
/// Deepest nesting of the variables' JSON.
pub const MAX_VARIABLE_DEPTH: usize = 32;
/// Deepest selection of the schema's own fields (introspection aside).
pub const MAX_SELECTION_DEPTH: usize = super::MAX_DEPTH;
/// Deepest selection under `__schema` or `__type`: the standard introspection queries
/// (graphql-js's `getIntrospectionQuery()` reaches 13 with its nine `ofType` levels).
pub const MAX_INTROSPECTION_DEPTH: usize = 24;
/// A request of at least this complexity counts as expensive (whole-year aggregates,
/// time travel, proofs): such requests take turns ([`QueryCost`]).
pub const EXPENSIVE_COMPLEXITY: usize = 1_000;
/// How many expensive requests run at once; others wait their turn briefly, then are
/// refused with BUSY.
pub const EXPENSIVE_AT_ONCE: usize = 2;
/// How long an expensive request waits for its turn.
pub const EXPENSIVE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why a document was refused before it was executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError {
    pub code: ErrorCode,
    pub message: String,
}

impl LimitError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn into_server_error(self) -> ServerError {
        let mut error = ServerError::new(self.message, None);
        let mut extensions = async_graphql::ErrorExtensionValues::default();
        extensions.set("code", self.code.as_str());
        error.extensions = Some(extensions);
        error
    }
}

/// The query text's size, tokens and bracket nesting (strings and comments skipped).
pub fn check_query_text(query: &str) -> Result<(), LimitError> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(LimitError::new(
            ErrorCode::QueryTooLarge,
            format!(
                "the query is {} bytes; at most {MAX_QUERY_BYTES} are accepted",
                query.len()
            ),
        ));
    }
    let bytes = query.as_bytes();
    let (mut i, mut depth, mut tokens) = (0, 0usize, 0usize);
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                // A block string ends at the next """ not escaped as \""".
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 3;
                tokens += 1;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                tokens += 1;
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(LimitError::new(
                        ErrorCode::QueryTooDeep,
                        format!("the query nests brackets more than {MAX_NESTING} deep"),
                    ));
                }
                tokens += 1;
                i += 1;
            }
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                tokens += 1;
                i += 1;
            }
            _ => {
                // A name, a number, `...` or another punctuator: one token.
                let start = i;
                while i < bytes.len()
                    && !matches!(
                        bytes[i],
                        b' ' | b'\t'
                            | b'\n'
                            | b'\r'
                            | b','
                            | b'#'
                            | b'"'
                            | b'{'
                            | b'}'
                            | b'['
                            | b']'
                            | b'('
                            | b')'
                    )
                {
                    i += 1;
                }
                if i == start {
                    i += 1;
                }
                tokens += 1;
            }
        }
        if tokens > MAX_TOKENS {
            return Err(LimitError::new(
                ErrorCode::QueryTooLarge,
                format!("the query has more than {MAX_TOKENS} tokens"),
            ));
        }
    }
    Ok(())
}

/// What a selection set expands to: fields, the depth of the schema's own fields, and
/// the depth under introspection fields (`__schema`, `__type`), bounded apart so that the
/// standard introspection queries pass while the schema's fields stay shallow.
#[derive(Debug, Clone, Copy, Default)]
struct Expansion {
    fields: u64,
    depth: usize,
    introspection_depth: usize,
}

/// Fragments, cycles, expansion, root fields and strings of a parsed document.
pub fn check_document(document: &ExecutableDocument) -> Result<(), LimitError> {
    if document.fragments.len() > MAX_FRAGMENTS {
        return Err(LimitError::new(
            ErrorCode::QueryTooComplex,
            format!(
                "the document defines {} fragments; at most {MAX_FRAGMENTS} are accepted",
                document.fragments.len()
            ),
        ));
    }
    let mut expander = Expander {
        document,
        done: HashMap::new(),
        roots_done: HashMap::new(),
        visiting: Vec::new(),
    };
    for (_, operation) in document.operations.iter() {
        let root = &operation.node.selection_set.node;
        let expansion = expander.selection_set(root)?;
        if expansion.fields > MAX_EXPANDED_FIELDS {
            return Err(LimitError::new(
                ErrorCode::QueryTooComplex,
                format!(
                    "the operation expands to more than {MAX_EXPANDED_FIELDS} fields (fragments inlined)"
                ),
            ));
        }
        if expansion.depth > MAX_SELECTION_DEPTH {
            return Err(LimitError::new(
                ErrorCode::QueryTooDeep,
                format!(
                    "selections nest {} deep; at most {MAX_SELECTION_DEPTH} are accepted",
                    expansion.depth
                ),
            ));
        }
        if expansion.introspection_depth > MAX_INTROSPECTION_DEPTH {
            return Err(LimitError::new(
                ErrorCode::QueryTooDeep,
                format!(
                    "introspection selections nest {} deep; at most {MAX_INTROSPECTION_DEPTH} are accepted",
                    expansion.introspection_depth
                ),
            ));
        }
        let roots = expander.root_fields(root)?;
        if roots > MAX_ROOT_FIELDS {
            return Err(LimitError::new(
                ErrorCode::QueryTooComplex,
                format!("the operation asks for {roots} root fields; at most {MAX_ROOT_FIELDS}"),
            ));
        }
        for variable in &operation.node.variable_definitions {
            if let Some(default) = &variable.node.default_value {
                check_const_strings(&default.node)?;
            }
        }
        check_strings_in(root)?;
    }
    for fragment in document.fragments.values() {
        check_strings_in(&fragment.node.selection_set.node)?;
    }
    Ok(())
}

struct Expander<'a> {
    document: &'a ExecutableDocument,
    done: HashMap<&'a Name, Expansion>,
    roots_done: HashMap<&'a Name, u64>,
    visiting: Vec<&'a Name>,
}

impl<'a> Expander<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet) -> Result<Expansion, LimitError> {
        let mut total = Expansion::default();
        for selection in &set.items {
            let inner = match &selection.node {
                Selection::Field(field) => {
                    let child = self.selection_set(&field.node.selection_set.node)?;
                    if field.node.name.node.starts_with("__") {
                        Expansion {
                            fields: child.fields.saturating_add(1),
                            depth: 1,
                            introspection_depth: child.depth.max(child.introspection_depth) + 1,
                        }
                    } else {
                        Expansion {
                            fields: child.fields.saturating_add(1),
                            depth: child.depth + 1,
                            introspection_depth: child.introspection_depth,
                        }
                    }
                }
                Selection::InlineFragment(inline) => {
                    self.selection_set(&inline.node.selection_set.node)?
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(&spread.node.fragment_name.node)?
                }
            };
            total.fields = total.fields.saturating_add(inner.fields);
            total.depth = total.depth.max(inner.depth);
            total.introspection_depth = total.introspection_depth.max(inner.introspection_depth);
            if total.fields > MAX_EXPANDED_FIELDS {
                // Stop counting: the answer is no either way.
                return Ok(total);
            }
        }
        Ok(total)
    }

    fn fragment(&mut self, name: &'a Name) -> Result<Expansion, LimitError> {
        if let Some(done) = self.done.get(name) {
            return Ok(*done);
        }
        if self.visiting.contains(&name) {
            return Err(LimitError::new(
                ErrorCode::GraphqlValidationFailed,
                format!("fragment `{name}` spreads itself"),
            ));
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            // Refused here, not left to the validator: a spread of an unknown fragment
            // expands to nothing, so a doubling chain above it would pass the expansion
            // count and cost the engine's own checks exponential time.
            return Err(LimitError::new(
                ErrorCode::GraphqlValidationFailed,
                format!("unknown fragment `{name}`"),
            ));
        };
        self.visiting.push(name);
        let expansion = self.selection_set(&fragment.node.selection_set.node)?;
        self.visiting.pop();
        self.done.insert(name, expansion);
        Ok(expansion)
    }

    /// Fields at the root, with fragments at the root inlined.
    fn root_fields(&mut self, set: &'a SelectionSet) -> Result<u64, LimitError> {
        let mut count = 0u64;
        for selection in &set.items {
            count = count.saturating_add(match &selection.node {
                Selection::Field(_) => 1,
                Selection::InlineFragment(inline) => {
                    self.root_fields(&inline.node.selection_set.node)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    match self.document.fragments.get(name) {
                        _ if self.roots_done.contains_key(name) => self.roots_done[name],
                        Some(fragment) if !self.visiting.contains(&name) => {
                            self.visiting.push(name);
                            let n = self.root_fields(&fragment.node.selection_set.node)?;
                            self.visiting.pop();
                            // Counted once per fragment: a chain of spreads never makes
                            // this walk exponential.
                            self.roots_done.insert(name, n);
                            n
                        }
                        _ => 0,
                    }
                }
            });
            if count > MAX_ROOT_FIELDS {
                return Ok(count);
            }
        }
        Ok(count)
    }
}

/// Every string literal in the arguments and directives of `set`.
fn check_strings_in(set: &SelectionSet) -> Result<(), LimitError> {
    for selection in &set.items {
        let (directives, arguments, child) = match &selection.node {
            Selection::Field(field) => (
                &field.node.directives,
                Some(&field.node.arguments),
                Some(&field.node.selection_set.node),
            ),
            Selection::InlineFragment(inline) => (
                &inline.node.directives,
                None,
                Some(&inline.node.selection_set.node),
            ),
            Selection::FragmentSpread(spread) => (&spread.node.directives, None, None),
        };
        for (_, value) in arguments.into_iter().flatten() {
            check_value_strings(&value.node)?;
        }
        for directive in directives {
            for (_, value) in &directive.node.arguments {
                check_value_strings(&value.node)?;
            }
        }
        if let Some(child) = child {
            check_strings_in(child)?;
        }
    }
    Ok(())
}

fn check_string(text: &str) -> Result<(), LimitError> {
    match text
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        None => Ok(()),
        Some(refused) => Err(LimitError::new(
            ErrorCode::Validation,
            format!(
                "a string holds U+{:04X}, a control character no input may hold",
                u32::from(refused)
            ),
        )),
    }
}

fn check_value_strings(value: &async_graphql_value::Value) -> Result<(), LimitError> {
    use async_graphql_value::Value as V;
    match value {
        V::String(text) => check_string(text),
        V::List(items) => items.iter().try_for_each(check_value_strings),
        V::Object(fields) => fields.values().try_for_each(check_value_strings),
        _ => Ok(()),
    }
}

fn check_const_strings(value: &Value) -> Result<(), LimitError> {
    check_const(value, 0)
}

fn check_const(value: &Value, depth: usize) -> Result<(), LimitError> {
    if depth > MAX_VARIABLE_DEPTH {
        return Err(LimitError::new(
            ErrorCode::QueryTooDeep,
            format!("a value nests more than {MAX_VARIABLE_DEPTH} deep"),
        ));
    }
    match value {
        Value::String(text) => check_string(text),
        Value::List(items) => items.iter().try_for_each(|v| check_const(v, depth + 1)),
        Value::Object(fields) => fields.values().try_for_each(|v| check_const(v, depth + 1)),
        _ => Ok(()),
    }
}

/// The variables' nesting and strings.
pub fn check_variables(variables: &Variables) -> Result<(), LimitError> {
    variables.values().try_for_each(|v| check_const(v, 1))
}

/// Parse a query after checking its text, then check the document: what the HTTP
/// handler and the engine both use, so the raw text is never parsed unchecked.
pub fn parse_checked(query: &str) -> Result<ExecutableDocument, LimitError> {
    check_query_text(query)?;
    let document = async_graphql::parser::parse_query(query).map_err(|e| {
        LimitError::new(
            ErrorCode::GraphqlParseFailed,
            format!("the query does not parse: {e}"),
        )
    })?;
    check_document(&document)?;
    Ok(document)
}

/// The schema extension that applies these limits to every request, over HTTP and
/// WebSocket alike, and gives the engine's own errors a code.
pub struct QueryCost {
    expensive: Arc<Semaphore>,
}

impl QueryCost {
    pub fn new() -> Self {
        Self {
            expensive: Arc::new(Semaphore::new(EXPENSIVE_AT_ONCE)),
        }
    }
}

impl Default for QueryCost {
    fn default() -> Self {
        Self::new()
    }
}

impl ExtensionFactory for QueryCost {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(QueryCostExtension {
            expensive: self.expensive.clone(),
            turn: Mutex::new(None),
        })
    }
}

struct QueryCostExtension {
    expensive: Arc<Semaphore>,
    /// Held while an expensive request runs; released when the request is done.
    turn: Mutex<Option<OwnedSemaphorePermit>>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for QueryCostExtension {
    async fn request(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextRequest<'_>,
    ) -> async_graphql::Response {
        let mut response = next.run(ctx).await;
        for error in &mut response.errors {
            super::errors::give_engine_error_a_code(error);
        }
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // The text is checked before anything parses it; the document is parsed once —
        // by the HTTP handler (which hands it over with the request) or else by the
        // engine — and checked here whoever parsed it.
        check_query_text(query).map_err(LimitError::into_server_error)?;
        check_variables(variables).map_err(LimitError::into_server_error)?;
        let document = next.run(ctx, query, variables).await?;
        check_document(&document).map_err(LimitError::into_server_error)?;
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if result.complexity >= EXPENSIVE_COMPLEXITY {
            let waited =
                tokio::time::timeout(EXPENSIVE_WAIT, self.expensive.clone().acquire_owned()).await;
            match waited {
                Ok(Ok(permit)) => {
                    *self.turn.lock().expect("the turn lock is not poisoned") = Some(permit);
                }
                _ => {
                    return Err(vec![
                        LimitError::new(
                            ErrorCode::Busy,
                            format!(
                                "{EXPENSIVE_AT_ONCE} expensive requests (whole-year aggregates, time travel, proofs) are running; try again shortly"
                            ),
                        )
                        .into_server_error(),
                    ]);
                }
            }
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(query: &str) -> Option<ErrorCode> {
        parse_checked(query).err().map(|e| e.code)
    }

    #[test]
    fn nested_value_literals_are_refused_before_the_parser_sees_them() {
        let deep = format!(
            "{{ me(x: {}1{}) {{ userId }} }}",
            "[".repeat(1_600),
            "]".repeat(1_600)
        );
        assert_eq!(code_of(&deep), Some(ErrorCode::QueryTooDeep));
        let object = format!(
            "{{ me(x: {}1{}) }}",
            "{a: ".repeat(1_600),
            "}".repeat(1_600)
        );
        assert_eq!(code_of(&object), Some(ErrorCode::QueryTooDeep));
        // Brackets inside strings and comments do not count.
        let quoted = format!(
            "# {}\n{{ me(x: \"{}\") {{ userId }} }}",
            "[".repeat(200),
            "[".repeat(200)
        );
        assert_eq!(code_of(&quoted), None);
        let block = format!(
            "{{ me(x: \"\"\"{}\\\"\"\" still\"\"\") {{ userId }} }}",
            "{".repeat(200)
        );
        assert_eq!(code_of(&block), None);
    }

    #[test]
    fn a_fragment_chain_that_doubles_is_refused_at_once() {
        let mut query = String::from("fragment F0 on QueryRoot { me { userId } }\n");
        for n in 1..=30 {
            query.push_str(&format!(
                "fragment F{n} on QueryRoot {{ ...F{} ...F{} }}\n",
                n - 1,
                n - 1
            ));
        }
        query.push_str("query { ...F30 }");
        let started = std::time::Instant::now();
        assert_eq!(code_of(&query), Some(ErrorCode::QueryTooComplex));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let cycle =
            "fragment A on QueryRoot { ...B } fragment B on QueryRoot { ...A } query { ...A }";
        assert_eq!(code_of(cycle), Some(ErrorCode::GraphqlValidationFailed));
    }

    /// Found by fuzzing: a doubling chain over a spread of an unknown fragment expands
    /// to nothing, passed the expansion count, and the root-field count then walked all
    /// 2^24 paths (54 s).
    #[test]
    fn a_doubling_chain_over_an_unknown_fragment_is_refused_at_once() {
        let mut query = String::from("fragment F7 on QueryRoot { ...F6 ...F6 }\n");
        for n in 8..=30 {
            query.push_str(&format!(
                "fragment F{n} on QueryRoot {{ ...F{m} ...F{m} }}\n",
                m = n - 1
            ));
        }
        query.push_str("query { ...F30 }");
        assert_eq!(code_of(&query), Some(ErrorCode::GraphqlValidationFailed));
        let document = async_graphql::parser::parse_query(&query).unwrap();
        let refused = check_document(&document).unwrap_err();
        assert!(refused.message.contains("`F6`"), "{}", refused.message);
    }

    #[test]
    fn size_tokens_aliases_and_control_characters_are_bounded() {
        assert_eq!(
            code_of(&"x".repeat(MAX_QUERY_BYTES + 1)),
            Some(ErrorCode::QueryTooLarge)
        );
        let aliases: String = (0..40).map(|n| format!("a{n}: me {{ userId }} ")).collect();
        assert_eq!(
            code_of(&format!("{{ {aliases} }}")),
            Some(ErrorCode::QueryTooComplex)
        );
        assert_eq!(
            code_of("{ me(x: \"路\\u0000面\") { userId } }"),
            Some(ErrorCode::Validation)
        );
        assert_eq!(
            code_of("query { me { userId } "),
            Some(ErrorCode::GraphqlParseFailed)
        );
        assert_eq!(code_of("{ me { userId name } }"), None);
    }
}
