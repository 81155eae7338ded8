//! Every look at personal data is recorded. A resolver that shows a post author's
//! identity (the typed `Post.author`, a raw payload the redaction left whole) calls
//! [`record`]; the [`AccessRecorder`] extension collects the looks of one operation and,
//! when it has run, appends one `PersonalDataViewed` event per case on that case's access
//! stream, as the reader. If the looks cannot be recorded the operation's answer is
//! replaced by an error: nothing personal is shown that is not on record.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextPrepareRequest,
};
use async_graphql::{Context, Request, Response, ServerError, ServerResult};
use whistle_app::Envelope;
use whistle_domain::access_record::{AccessCommand, PersonalDataAccessAggregate};
use whistle_domain::{Actor, CaseId};

use super::context::AppState;
use super::errors::{ErrorCode, error};

/// What one reader was shown of one case: the fields, and the paths they came by.
#[derive(Debug, Default)]
struct Look {
    actor: Option<Actor>,
    fields: std::collections::BTreeSet<&'static str>,
    paths: std::collections::BTreeSet<&'static str>,
}

/// The looks of one operation, by reader and case.
#[derive(Debug, Default, Clone)]
pub struct Looks(Arc<Mutex<BTreeMap<(String, CaseId), Look>>>);

impl Looks {
    fn take(&self) -> Vec<(CaseId, Look)> {
        std::mem::take(&mut *self.0.lock().expect("the looks are not poisoned"))
            .into_iter()
            .map(|((_, case_id), look)| (case_id, look))
            .collect()
    }
}

/// Note that `reader` was shown `field` of `case_id` through `path`.
pub fn record(
    ctx: &Context<'_>,
    reader: &Actor,
    case_id: CaseId,
    field: &'static str,
    path: &'static str,
) {
    // Every operation runs with the recorder; without it (a schema built without the
    // extension) nothing personal may be shown unrecorded, so this is a programming
    // error caught by the tests.
    let looks = ctx
        .data::<Looks>()
        .expect("the personal data access recorder is installed");
    let mut looks = looks.0.lock().expect("the looks are not poisoned");
    let look = looks
        .entry((reader.user_id.to_string(), case_id))
        .or_default();
    look.actor.get_or_insert_with(|| reader.clone());
    look.fields.insert(field);
    look.paths.insert(path);
}

/// The extension that records each operation's looks.
pub struct AccessRecorder;

impl ExtensionFactory for AccessRecorder {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AccessRecorderExtension {
            looks: Looks::default(),
        })
    }
}

struct AccessRecorderExtension {
    looks: Looks,
}

#[async_graphql::async_trait::async_trait]
impl Extension for AccessRecorderExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        next.run(ctx, request.data(self.looks.clone())).await
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let response = next.run(ctx, operation_name).await;
        let looks = self.looks.take();
        if looks.is_empty() {
            return response;
        }
        let Ok(state) = ctx.data::<AppState>() else {
            return withheld(response, "the application state is missing".to_owned());
        };
        for (case_id, look) in looks {
            let Some(actor) = look.actor else { continue };
            let command = AccessCommand::RecordView {
                fields: look.fields.iter().map(|f| (*f).to_owned()).collect(),
                path: look.paths.iter().copied().collect::<Vec<_>>().join(", "),
            };
            if let Err(failure) = state
                .handler
                .handle::<PersonalDataAccessAggregate>(Envelope::by(actor), &case_id, command)
                .await
            {
                tracing::error!(%case_id, error = %failure, "a look at personal data could not be recorded");
                return withheld(response, failure.to_string());
            }
        }
        response
    }
}

/// The answer when looks could not be recorded: no data, one error.
fn withheld(_response: Response, reason: String) -> Response {
    let reference = uuid::Uuid::now_v7();
    tracing::error!(%reference, %reason, "personal data withheld");
    let message = format!(
        "personal data was asked for but the look could not be recorded (reference {reference}); nothing is shown"
    );
    let error = error(ErrorCode::Internal, message);
    Response::from_errors(vec![ServerError {
        message: error.message,
        source: None,
        locations: Vec::new(),
        path: Vec::new(),
        extensions: error.extensions,
    }])
}
