//! The HTTP surface: `/graphql` following the GraphQL-over-HTTP spec (content
//! negotiation, 400 for request errors, 405 for mutations over GET, 415 for bodies that
//! are not JSON), GraphiQL on `GET /graphql` from a browser, the WebSocket endpoint for
//! subscriptions, and `/healthz` and `/readyz`.

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{Data, Variables};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::body::Bytes;
use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::AuthError;
use crate::extract::{InvalidToken, MaybeActor};
use crate::graphql::RequestActor;
use crate::graphql::errors::ErrorCode;
use crate::graphql::limits;
use crate::state::HttpState;

/// The longest one GraphQL request may run (the bounded `waitForPosition` included).
pub const REQUEST_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// What the client accepts back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accepts {
    GraphqlResponseJson,
    Json,
}

fn negotiate(headers: &HeaderMap) -> Option<Accepts> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(Accepts::Json);
    };
    let mut best: Option<Accepts> = None;
    for part in accept.split(',') {
        let media = part
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            GRAPHQL_RESPONSE => return Some(Accepts::GraphqlResponseJson),
            JSON | "application/*" | "*/*" => best = best.or(Some(Accepts::Json)),
            _ => {}
        }
    }
    best
}

/// The parameters of a GraphQL request, from a JSON body or a query string.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphqlParams {
    query: Option<String>,
    #[serde(default)]
    variables: Option<serde_json::Value>,
    #[serde(default)]
    operation_name: Option<String>,
    #[serde(default)]
    extensions: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetParams {
    query: Option<String>,
    variables: Option<String>,
    operation_name: Option<String>,
    extensions: Option<String>,
}

fn error_body(code: ErrorCode, message: &str) -> serde_json::Value {
    serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] })
}

fn respond(status: StatusCode, accepts: Accepts, body: &serde_json::Value) -> Response {
    let content_type = match accepts {
        Accepts::GraphqlResponseJson => GRAPHQL_RESPONSE,
        Accepts::Json => JSON,
    };
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn request_error(accepts: Accepts, code: ErrorCode, message: &str) -> Response {
    respond(StatusCode::BAD_REQUEST, accepts, &error_body(code, message))
}

/// A GraphQL request error (the document does not parse, or is refused by the limits)
/// in a well-formed HTTP request: 400 for `application/graphql-response+json`, 200 for
/// `application/json`, as the GraphQL-over-HTTP spec says of each.
fn graphql_request_error(accepts: Accepts, code: ErrorCode, message: &str) -> Response {
    let status = match accepts {
        Accepts::GraphqlResponseJson => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    respond(status, accepts, &error_body(code, message))
}

pub async fn graphiql_or_get(
    State(state): State<HttpState>,
    headers: HeaderMap,
    actor: Result<MaybeActor, InvalidToken>,
    Query(params): Query<GetParams>,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if params.query.is_none() && wants_html {
        return crate::graphiql::page();
    }
    let Some(accepts) = negotiate(&headers) else {
        return (
            StatusCode::NOT_ACCEPTABLE,
            "accept application/graphql-response+json or application/json",
        )
            .into_response();
    };
    let parse_json =
        |raw: Option<String>, what: &str| -> Result<Option<serde_json::Value>, String> {
            raw.map(|text| {
                serde_json::from_str(&text).map_err(|e| format!("`{what}` is not JSON: {e}"))
            })
            .transpose()
        };
    let variables = match parse_json(params.variables, "variables") {
        Ok(v) => v,
        Err(message) => return request_error(accepts, ErrorCode::Validation, &message),
    };
    let extensions = match parse_json(params.extensions, "extensions") {
        Ok(v) => v,
        Err(message) => return request_error(accepts, ErrorCode::Validation, &message),
    };
    let params = GraphqlParams {
        query: params.query,
        variables,
        operation_name: params.operation_name,
        extensions,
    };
    execute(state, actor, Method::GET, accepts, params).await
}

pub async fn graphql_post(
    State(state): State<HttpState>,
    headers: HeaderMap,
    actor: Result<MaybeActor, InvalidToken>,
    body: Bytes,
) -> Response {
    let Some(accepts) = negotiate(&headers) else {
        return (
            StatusCode::NOT_ACCEPTABLE,
            "accept application/graphql-response+json or application/json",
        )
            .into_response();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    if content_type.as_deref() != Some(JSON) {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as application/json",
        )
            .into_response();
    }
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return request_error(
            accepts,
            ErrorCode::Validation,
            "the body is a JSON array: batched requests are not accepted; send one request object {\"query\": …, \"variables\": …} per POST",
        );
    }
    let params: GraphqlParams = match serde_json::from_slice(&body) {
        Ok(params) => params,
        Err(e) => {
            return request_error(
                accepts,
                ErrorCode::Validation,
                &format!("the body is not a GraphQL request: {e}"),
            );
        }
    };
    execute(state, actor, Method::POST, accepts, params).await
}

async fn execute(
    state: HttpState,
    actor: Result<MaybeActor, InvalidToken>,
    method: Method,
    accepts: Accepts,
    params: GraphqlParams,
) -> Response {
    let Some(query) = params.query.filter(|q| !q.trim().is_empty()) else {
        return request_error(accepts, ErrorCode::Validation, "the request has no `query`");
    };
    // Size, tokens, nesting, fragments and strings are checked before the document is
    // parsed or expanded, and before the token is looked at.
    let document = match limits::parse_checked(&query) {
        Ok(document) => document,
        Err(refused) => {
            metrics::counter!("whistle_query_limit_refusals_total", "code" => refused.code.as_str())
                .increment(1);
            return graphql_request_error(accepts, refused.code, &refused.message);
        }
    };
    let (operation_type, root_field) = operation_of(&document, params.operation_name.as_deref());
    let started = std::time::Instant::now();
    if method == Method::GET {
        let operation = match &document.operations {
            DocumentOperations::Single(operation) => Some(operation),
            DocumentOperations::Multiple(operations) => match &params.operation_name {
                Some(name) => operations.get(name.as_str()),
                None => None,
            },
        };
        if operation.is_some_and(|op| op.node.ty != OperationType::Query) {
            let mut response = respond(
                StatusCode::METHOD_NOT_ALLOWED,
                accepts,
                &error_body(
                    ErrorCode::Validation,
                    "mutations and subscriptions must be sent with POST",
                ),
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return response;
        }
    }
    let actor = match actor {
        Ok(MaybeActor(actor)) => actor,
        Err(InvalidToken(error @ AuthError::Unavailable(_))) => {
            return respond(
                StatusCode::SERVICE_UNAVAILABLE,
                accepts,
                &error_body(ErrorCode::Internal, &error.to_string()),
            );
        }
        Err(InvalidToken(error)) => {
            return respond(
                StatusCode::UNAUTHORIZED,
                accepts,
                &error_body(ErrorCode::Unauthenticated, &error.to_string()),
            );
        }
    };
    let variables = match params.variables {
        None | Some(serde_json::Value::Null) => Variables::default(),
        Some(value @ serde_json::Value::Object(_)) => Variables::from_json(value),
        Some(_) => {
            return request_error(
                accepts,
                ErrorCode::Validation,
                "`variables` must be a JSON object",
            );
        }
    };
    let mut request = async_graphql::Request::new(query)
        .variables(variables)
        .data(RequestActor(actor));
    // Parsed once: the engine and the limits take the checked document from here.
    request.set_parsed_query(document);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(serde_json::Value::Object(extensions)) = params.extensions {
        for (key, value) in extensions {
            if let Ok(value) = async_graphql::Value::from_json(value) {
                request.extensions.insert(key, value);
            }
        }
    }
    let response = match tokio::time::timeout(REQUEST_BUDGET, state.schema.execute(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(budget = ?REQUEST_BUDGET, "a GraphQL request ran out of time");
            let mut body = error_body(
                ErrorCode::Timeout,
                &format!(
                    "the request took longer than its budget of {} s; a mutation may still have been recorded — retry it with the same commandId",
                    REQUEST_BUDGET.as_secs()
                ),
            );
            body["data"] = serde_json::Value::Null;
            return respond(StatusCode::OK, accepts, &body);
        }
    };
    let mut response = response;
    null_data_for_a_failed_non_null_root(&mut response);
    let is_request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    record_operation(&response, operation_type, root_field, started.elapsed());
    let status = if is_request_error && accepts == Accepts::GraphqlResponseJson {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut body = serde_json::to_value(&response)
        .unwrap_or_else(|e| error_body(ErrorCode::Internal, &e.to_string()));
    if is_request_error && let Some(object) = body.as_object_mut() {
        // A request error happened before execution: the result has no `data` at all.
        object.remove("data");
    }
    respond(status, accepts, &body)
}

/// GraphQL's null propagation at the root (spec §6.4.4, "Handling Field Errors"): a
/// non-null root field that failed leaves no nullable parent, so `data` is null. The
/// engine leaves such a field out of `data` (a nullable one it sets to null), so a field
/// an error names that is missing from `data` is one that failed non-null.
fn null_data_for_a_failed_non_null_root(response: &mut async_graphql::Response) {
    let async_graphql::Value::Object(data) = &response.data else {
        return;
    };
    let failed_non_null = response
        .errors
        .iter()
        .any(|error| match error.path.first() {
            Some(async_graphql::PathSegment::Field(key)) => !data.contains_key(key.as_str()),
            _ => false,
        });
    if failed_non_null {
        response.data = async_graphql::Value::Null;
    }
}

/// The type and first root field of the operation a request runs.
fn operation_of(
    document: &async_graphql::parser::types::ExecutableDocument,
    name: Option<&str>,
) -> (&'static str, Option<String>) {
    use async_graphql::parser::types::Selection;
    let operation = match &document.operations {
        DocumentOperations::Single(operation) => Some(operation),
        DocumentOperations::Multiple(operations) => name.and_then(|name| operations.get(name)),
    };
    let Some(operation) = operation else {
        return ("unknown", None);
    };
    let kind = match operation.node.ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    let root =
        operation
            .node
            .selection_set
            .node
            .items
            .iter()
            .find_map(|selection| match &selection.node {
                Selection::Field(field) => Some(field.node.name.node.to_string()),
                _ => None,
            });
    (kind, root)
}

/// Count and time one GraphQL operation. The root field labels it only when the
/// request was valid (so a field named in an invalid request never becomes a series).
fn record_operation(
    response: &async_graphql::Response,
    kind: &'static str,
    root_field: Option<String>,
    elapsed: std::time::Duration,
) {
    let code = response.errors.first().and_then(|error| {
        error
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .and_then(|code| match code {
                async_graphql::Value::String(code) => Some(code.clone()),
                _ => None,
            })
    });
    let invalid = matches!(
        code.as_deref(),
        Some(
            "GRAPHQL_VALIDATION_FAILED"
                | "GRAPHQL_PARSE_FAILED"
                | "QUERY_TOO_COMPLEX"
                | "QUERY_TOO_DEEP"
        )
    );
    let operation = match root_field {
        Some(field) if !invalid => field,
        _ => "invalid".to_owned(),
    };
    let outcome = code.unwrap_or_else(|| "OK".to_owned());
    metrics::counter!(
        "whistle_graphql_operations_total",
        "operation" => operation.clone(),
        "type" => kind,
        "outcome" => outcome
    )
    .increment(1);
    metrics::histogram!(
        "whistle_graphql_operation_duration_seconds",
        "operation" => operation,
        "type" => kind
    )
    .record(elapsed.as_secs_f64());
}

/// GraphQL over WebSocket; the token comes in the connection's init payload.
pub async fn graphql_ws(
    State(state): State<HttpState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Ok(session) = state.websockets.clone().try_acquire_owned() else {
        metrics::counter!("whistle_websockets_refused_total").increment(1);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            "too many WebSocket sessions are open; try again shortly",
        )
            .into_response();
    };
    let schema = state.schema.clone();
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| async move {
            // The session holds its permit until the socket closes.
            let _session = session;
            serve_websocket(socket, schema, protocol, state).await;
        })
}

/// How a WebSocket session ends early: the close frame an unacceptable
/// `connection_init` gets, and when the token expires.
#[derive(Default)]
struct SessionEnd {
    refusal: Option<(u16, String)>,
    expires: Option<chrono::DateTime<chrono::Utc>>,
}

/// The graphql-transport-ws close codes: 4401 unauthorised (no token, a bad one, an
/// expired one), 4403 forbidden (a valid token whose identity is not admitted), 4500
/// the identity could not be checked now. The reason is short and names no parser.
fn close_for(error: &AuthError) -> (u16, String) {
    match error {
        AuthError::NotAdmitted(reason) => (4403, format!("forbidden: {reason}")),
        AuthError::Unavailable(_) => (4500, "the identity could not be checked now".to_owned()),
        _ => (
            4401,
            "unauthorized: send a valid bearer token in connectionParams".to_owned(),
        ),
    }
}

/// Serve one WebSocket session: GraphQL over `graphql-transport-ws`, the token checked at
/// `connection_init` (refused with 4401/4403), and the session closed with 4401 when the
/// token expires — subscriptions stop and no new one is accepted.
async fn serve_websocket(
    socket: axum::extract::ws::WebSocket,
    schema: crate::graphql::WhistleSchema,
    protocol: GraphQLProtocol,
    state: HttpState,
) {
    use axum::extract::ws::{CloseFrame, Message};
    use futures::{SinkExt, StreamExt};
    let (mut to_client, from_client) = socket.split();
    let (queue, mut queued) = futures::channel::mpsc::channel::<Message>(32);
    let end = std::sync::Arc::new(std::sync::Mutex::new(SessionEnd::default()));
    let end_at_init = end.clone();
    let serve = GraphQLWebSocket::new_with_pair(queue, from_client, schema, protocol)
        .on_connection_init(move |payload| async move {
            let authorization = payload
                .get("Authorization")
                .or_else(|| payload.get("authorization"))
                .and_then(|v| v.as_str());
            let admitted = state
                .authenticator
                .authenticate_until(&state.app.handler, authorization)
                .await;
            let mut end = end_at_init.lock().expect("the session end is not poisoned");
            let actor = match admitted {
                Ok(Some((actor, expires))) => {
                    end.expires = Some(expires);
                    Some(actor)
                }
                Ok(None) => None,
                Err(error) => {
                    let (code, reason) = close_for(&error);
                    end.refusal = Some((code, reason.clone()));
                    return Err(async_graphql::Error::new(reason));
                }
            };
            let mut data = Data::default();
            data.insert(RequestActor(actor));
            Ok(data)
        })
        .serve();
    let forward = async {
        loop {
            let expires = end.lock().expect("the session end is not poisoned").expires;
            let until_expiry = async {
                match expires {
                    Some(at) => {
                        let left = (at - chrono::Utc::now()).to_std().unwrap_or_default();
                        tokio::time::sleep(left).await
                    }
                    None => std::future::pending().await,
                }
            };
            let message = tokio::select! {
                message = queued.next() => match message {
                    Some(message) => message,
                    None => break,
                },
                () = until_expiry => {
                    let _ = to_client
                        .send(Message::Close(Some(CloseFrame {
                            code: 4401,
                            reason: "unauthorized: the token has expired".into(),
                        })))
                        .await;
                    break;
                }
            };
            // The engine closes a refused init with 1002 and the refusal's text; the
            // protocol's codes say it better.
            let message = match message {
                Message::Close(Some(frame)) if frame.code == 1002 => {
                    match end
                        .lock()
                        .expect("the session end is not poisoned")
                        .refusal
                        .take()
                    {
                        Some((code, reason)) => Message::Close(Some(CloseFrame {
                            code,
                            reason: reason.into(),
                        })),
                        None => Message::Close(Some(frame)),
                    }
                }
                other => other,
            };
            if to_client.send(message).await.is_err() {
                break;
            }
        }
    };
    tokio::pin!(serve, forward);
    tokio::select! {
        () = &mut forward => {}
        () = &mut serve => forward.await,
    }
}

pub async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok")
}

/// Ready when the database answers and accepts writes, no projection is stuck and none
/// is being rebuilt; reports how far the read models are behind, what fails, which read
/// models are rebuilding and how far, and calendar warnings. 503 when not ready
/// (`unavailable`), when a projection cannot move on (`degraded`), or while a projection
/// whose version changed is rebuilt from the log (`rebuilding`: its tables hold only
/// part of the log, so its answers are incomplete).
pub async fn readyz(State(state): State<HttpState>) -> Response {
    let database = state.app.store().database();
    let backend = format!("{:?}", database.backend()).to_lowercase();
    let head = match state.app.store().head_position().await {
        Ok(head) => head,
        Err(error) => {
            tracing::warn!(%error, "readiness: the database does not answer");
            return not_ready("unavailable", &backend, "the database does not answer");
        }
    };
    if let Err(error) = database
        .probe_writable(std::time::Duration::from_secs(1))
        .await
    {
        tracing::warn!(%error, "readiness: the database accepts no writes");
        return not_ready(
            "unavailable",
            &backend,
            &format!("the database accepts no writes: {error}"),
        );
    }
    let read_models = state.app.progress.current();
    let failure = state.app.progress.failure();
    let rebuilding = state.app.progress.rebuilding();
    let mut warnings = Vec::new();
    if let Some(warning) = whistle_app::calendar_files::next_year_warning(
        &state.app.handler.rules().calendar,
        state.app.clock().now(),
    ) {
        warnings.push(warning);
    }
    let status = match (&failure, rebuilding.is_empty()) {
        (Some(_), _) => "degraded",
        (None, false) => "rebuilding",
        (None, true) => "ready",
    };
    let body = serde_json::json!({
        "status": status,
        "backend": backend,
        "head": head,
        "readModels": read_models,
        "lag": head - read_models,
        "runsProjections": state.app.progress.runs_projections(),
        "failingProjection": failure.as_ref().map(|f| serde_json::json!({
            "projection": f.projection,
            "position": f.position,
            "error": f.error,
        })),
        "rebuilding": rebuilding.iter().map(|r| serde_json::json!({
            "projection": r.projection,
            "fromVersion": r.from_version,
            "toVersion": r.to_version,
            "reached": r.reached,
            "head": r.head,
        })).collect::<Vec<_>>(),
        "warnings": warnings,
    });
    let status = if status == "ready" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

fn not_ready(status: &str, backend: &str, reason: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(serde_json::json!({ "status": status, "backend": backend, "reason": reason })),
    )
        .into_response()
}
