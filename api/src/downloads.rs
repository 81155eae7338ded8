//! Report downloads over HTTP for authorised users: `GET /exports/scorecards`,
//! `/exports/assessment`, `/exports/ledger` (`format=csv|xlsx`) and `/exports/bulletin`,
//! with the same bearer token as GraphQL. Roles that read everything may download.

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;

use whistle_domain::access::reads_every_case;
use whistle_reports::{self as exports, ExportError, ExportFormat};

use crate::extract::{InvalidToken, MaybeActor};
use crate::state::HttpState;

#[derive(Debug, Deserialize)]
pub struct PeriodParams {
    from: NaiveDate,
    to: NaiveDate,
    format: ExportFormat,
}

#[derive(Debug, Deserialize)]
pub struct YearParams {
    year: i32,
    format: ExportFormat,
}

#[derive(Debug, Deserialize)]
pub struct WeekParams {
    week: String,
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.to_owned(),
    )
        .into_response()
}

/// Check the bearer token and the role; `Err` says which status and why.
fn authorise(actor: Result<MaybeActor, InvalidToken>) -> Result<(), (StatusCode, String)> {
    let actor = match actor {
        Ok(MaybeActor(Some(actor))) => actor,
        Ok(MaybeActor(None)) => {
            return Err((
                StatusCode::UNAUTHORIZED,
                "send `Authorization: Bearer <token>`".to_owned(),
            ));
        }
        Err(InvalidToken(error @ crate::auth::AuthError::Unavailable(_))) => {
            return Err((StatusCode::SERVICE_UNAVAILABLE, error.to_string()));
        }
        Err(InvalidToken(error)) => return Err((StatusCode::UNAUTHORIZED, error.to_string())),
    };
    if reads_every_case(actor.role) {
        Ok(())
    } else {
        Err((
            StatusCode::FORBIDDEN,
            "reports are for the cyberspace office, leaders, supervisors, evaluators and inspectors".to_owned(),
        ))
    }
}

fn file(bytes: Vec<u8>, format: ExportFormat, stem: &str) -> Response {
    let (content_type, extension) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Xlsx => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    };
    attachment(bytes, content_type, &format!("{stem}.{extension}"))
}

fn attachment(bytes: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    let mut response = (StatusCode::OK, bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// The report as a download, or why it could not be made.
fn respond(result: Result<Vec<u8>, ExportError>, format: ExportFormat, stem: &str) -> Response {
    match result {
        Ok(bytes) => file(bytes, format, stem),
        Err(error) => failed(error),
    }
}

fn failed(error: ExportError) -> Response {
    match error {
        ExportError::Input(message) => refuse(StatusCode::BAD_REQUEST, &message),
        other => {
            let reference = uuid::Uuid::now_v7();
            tracing::error!(%reference, error = %other, "export failed");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("the export failed (reference {reference}); it has been logged"),
            )
        }
    }
}

pub async fn scorecards(
    State(state): State<HttpState>,
    actor: Result<MaybeActor, InvalidToken>,
    Query(params): Query<PeriodParams>,
) -> Response {
    if let Err((status, message)) = authorise(actor) {
        return refuse(status, &message);
    }
    let now = state.app.clock().now();
    respond(
        exports::scorecards(state.app.pool(), params.from, params.to, now)
            .await
            .and_then(|r| r.write(params.format)),
        params.format,
        &format!("scorecards-{}-{}", params.from, params.to),
    )
}

pub async fn assessment(
    State(state): State<HttpState>,
    actor: Result<MaybeActor, InvalidToken>,
    Query(params): Query<YearParams>,
) -> Response {
    if let Err((status, message)) = authorise(actor) {
        return refuse(status, &message);
    }
    let now = state.app.clock().now();
    let rules = state.app.assessment_rules.clone();
    respond(
        exports::assessment(state.app.pool(), params.year, now, &rules)
            .await
            .and_then(|r| r.write(params.format)),
        params.format,
        &format!("assessment-{}", params.year),
    )
}

pub async fn ledger(
    State(state): State<HttpState>,
    actor: Result<MaybeActor, InvalidToken>,
    Query(params): Query<PeriodParams>,
) -> Response {
    if let Err((status, message)) = authorise(actor) {
        return refuse(status, &message);
    }
    respond(
        exports::ledger(state.app.pool(), params.from, params.to)
            .await
            .and_then(|r| r.write(params.format)),
        params.format,
        &format!("ledger-{}-{}", params.from, params.to),
    )
}

pub async fn bulletin(
    State(state): State<HttpState>,
    actor: Result<MaybeActor, InvalidToken>,
    Query(params): Query<WeekParams>,
) -> Response {
    if let Err((status, message)) = authorise(actor) {
        return refuse(status, &message);
    }
    let monday = match exports::parse_iso_week(&params.week) {
        Ok(monday) => monday,
        Err(error) => return failed(error),
    };
    let now = state.app.clock().now();
    match exports::weekly_bulletin(state.app.pool(), monday, now).await {
        Ok(text) => attachment(
            text.into_bytes(),
            "text/markdown; charset=utf-8",
            &format!("bulletin-{}.md", params.week),
        ),
        Err(error) => failed(error),
    }
}
