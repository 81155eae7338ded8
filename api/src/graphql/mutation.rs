//! Mutations: one per command of docs/domain/events.md. Each parses its input into
//! domain types (bad input → VALIDATION, nothing written), runs the command through the
//! command handler, and returns where its events landed. Every mutation accepts
//! `commandId` (retrying with the same id returns the first result and writes nothing);
//! those where a client edits what it has read (attach a post, triage, change the level,
//! assign, close) also accept `expectedVersion` (refuse with CONFLICT if the case moved
//! since it was read).

use super::node::{NodeKind, key_of};
use super::scalars::{Date, Instant, Position, StreamVersion};
use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{Datelike, NaiveDate};
use uuid::Uuid;
use whistle_app::{CommandReceipt, Envelope};
use whistle_domain::access_record::{AccessCommand, PersonalDataAccessAggregate};
use whistle_domain::events::{Heat, Period, Post};
use whistle_domain::text::{MAX_TEXT_CHARS, RequiredText, TextKind, normalize, optional_text};
use whistle_domain::*;

use super::context::{actor, state};
use super::enums;
use super::errors::{from_command, from_refusal, from_store, validation};
use super::types::CommandResult;

pub struct MutationRoot;

/// A post as a monitor saw it.
#[derive(InputObject)]
pub struct PostInput {
    /// Where it was posted.
    pub platform: enums::Platform,
    /// Its address (normalised: tracking parameters and mobile hosts are removed).
    pub url: String,
    /// Its title (one line, at most 500 characters).
    pub title: String,
    /// What it says, excerpted.
    #[graphql(default)]
    pub excerpt: String,
    /// When it was posted, if known.
    pub posted_at: Option<Instant>,
    /// The author's identity on the platform; restricted to the cyberspace office,
    /// police and inspectors.
    pub author: Option<String>,
    /// Views (阅读量) now.
    #[graphql(default)]
    pub views: u64,
    /// Reposts (转发) now.
    #[graphql(default)]
    pub reposts: u64,
    /// Comments (评论) now.
    #[graphql(default)]
    pub comments: u64,
    /// Likes (点赞) now.
    #[graphql(default)]
    pub likes: u64,
}

impl PostInput {
    fn parse(self) -> Result<Post> {
        let title =
            RequiredText::parse_as("title", &self.title, TextKind::Line).map_err(validation)?;
        if title.as_str().chars().count() > 500 {
            return Err(validation(ParseError::new(
                "title",
                "is longer than 500 characters",
            )));
        }
        let excerpt = normalize("excerpt", &self.excerpt, TextKind::Prose).map_err(validation)?;
        if excerpt.chars().count() > MAX_TEXT_CHARS {
            return Err(validation(ParseError::new(
                "excerpt",
                format!("is longer than {MAX_TEXT_CHARS} characters"),
            )));
        }
        let author = match self.author.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => Some(
                RequiredText::parse_as("author", raw, TextKind::Line)
                    .map_err(validation)?
                    .to_string(),
            ),
        };
        Ok(Post {
            platform: self.platform.into(),
            url: PostUrl::parse(&self.url).map_err(validation)?,
            title: title.as_str().to_owned(),
            excerpt,
            posted_at: self.posted_at.map(|i| i.0),
            author,
            heat: Heat {
                views: self.views,
                reposts: self.reposts,
                comments: self.comments,
                likes: self.likes,
            },
        })
    }
}

fn text(field: &'static str, raw: &str) -> Result<RequiredText> {
    RequiredText::parse(field, raw).map_err(validation)
}

/// A unit's name: one line, nothing invisible, so two names that look alike are alike.
fn unit_name(raw: &str) -> Result<RequiredText> {
    RequiredText::parse_as("name", raw, TextKind::Name).map_err(validation)
}

fn opt_text(field: &'static str, raw: Option<String>) -> Result<Option<RequiredText>> {
    optional_text(field, raw.as_deref()).map_err(validation)
}

fn case_id(raw: &ID) -> Result<CaseId> {
    CaseId::parse(&key_of(raw, NodeKind::Case)?).map_err(validation)
}

/// The cases an assessment command names: each parsed, duplicates dropped, at most
/// [`whistle_domain::commands::MAX_CASES_PER_COMMAND`].
fn case_id_list(raw: &[ID]) -> Result<Vec<CaseId>> {
    // Bounded before any id is parsed.
    whistle_domain::commands::check_case_count(raw.len()).map_err(validation)?;
    let mut ids: Vec<CaseId> = Vec::with_capacity(raw.len());
    for id in raw {
        let id = case_id(id)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

fn assignment_id(raw: &ID) -> Result<AssignmentId> {
    AssignmentId::parse(&key_of(raw, NodeKind::Assignment)?).map_err(validation)
}

fn unit_id(raw: &str) -> Result<UnitId> {
    UnitId::parse(&key_of(raw, NodeKind::Unit)?).map_err(validation)
}

fn new_id() -> Uuid {
    Uuid::now_v7()
}

fn issue(
    ctx: &Context<'_>,
    command_id: Option<ID>,
    expected_version: Option<StreamVersion>,
) -> Result<Envelope> {
    let mut issue = Envelope::by(actor(ctx)?.clone());
    issue.command_id = command_id
        .map(|id| CommandId::parse(&id).map_err(validation))
        .transpose()?;
    issue.expected_version = expected_version.map(|v| v.0);
    Ok(issue)
}

fn result(receipt: CommandReceipt) -> CommandResult {
    let case_id = receipt
        .outcome
        .stream_id
        .case_id()
        .map(|id| ID(id.to_string()));
    CommandResult {
        position: Position(receipt.outcome.last_position),
        first_position: Position(receipt.outcome.first_position),
        stream_id: receipt.outcome.stream_id.to_string(),
        stream_version: StreamVersion(receipt.outcome.stream_version),
        command_id: ID(receipt.command_id.to_string()),
        replayed: receipt.outcome.replayed,
        case_id,
        created_id: None,
    }
}

/// Set the id of what the command created (assignment, reply, memo, …).
fn created(result: Result<CommandResult>, id: impl ToString) -> Result<CommandResult> {
    result.map(|mut r| {
        r.created_id = Some(ID(id.to_string()));
        r
    })
}

async fn run_case(
    ctx: &Context<'_>,
    case: CaseId,
    command_id: Option<ID>,
    expected_version: Option<StreamVersion>,
    body: CaseCommand,
) -> Result<CommandResult> {
    let issue = issue(ctx, command_id, expected_version)?;
    let receipt = state(ctx)?
        .handler
        .handle_case(issue, case, body)
        .await
        .map_err(from_command)?;
    Ok(result(receipt))
}

/// A command on a case's personal data record; the case must exist.
async fn run_access(
    ctx: &Context<'_>,
    case: CaseId,
    command_id: Option<ID>,
    body: AccessCommand,
) -> Result<CommandResult> {
    let issue = issue(ctx, command_id, None)?;
    let state = state(ctx)?;
    let missing = state
        .store()
        .missing_streams(&[whistle_domain::StreamId::Case(case)])
        .await
        .map_err(from_store)?;
    if !missing.is_empty() {
        return Err(from_refusal(&Refusal::NoSuchCase));
    }
    let receipt = state
        .handler
        .handle::<PersonalDataAccessAggregate>(issue, &case, body)
        .await
        .map_err(from_command)?;
    let mut result = result(receipt);
    result.case_id = Some(ID(case.to_string()));
    Ok(result)
}

async fn resolve_unit(ctx: &Context<'_>, unit: &UnitId) -> Result<commands::ReferencedUnit> {
    state(ctx)?
        .handler
        .resolve_unit(unit)
        .await
        .map_err(from_command)
}

fn period(from: NaiveDate, to: NaiveDate) -> Period {
    Period { from, to }
}

/// Every command, one mutation each: each is decided against the case (or unit, or
/// assessment year) as recorded, appended as events, and answered with where they
/// landed.
#[Object(name = "Mutation")]
impl MutationRoot {
    /// 吹哨: flag a post; opens a new case. The same URL never opens two cases.
    async fn flag_post(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The post, as the monitor saw it.")] post: PostInput,
        #[graphql(desc = "A note for the record.")] note: Option<String>,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        // A retry names the same command id, so it must name the same new case: the
        // case id is derived from the command id when one is given.
        let new_case = match &command_id {
            Some(raw) => {
                let command = CommandId::parse(raw).map_err(validation)?;
                CaseId::from_uuid(uuid::Uuid::new_v5(
                    &uuid::Uuid::NAMESPACE_OID,
                    format!("whistle/case-flagged-by-command/{command}").as_bytes(),
                ))
            }
            None => CaseId::from_uuid(new_id()),
        };
        let body = CaseCommand::FlagPost {
            post: post.parse()?,
            note: opt_text("note", note)?,
        };
        run_case(ctx, new_case, command_id, None, body).await
    }

    /// Attach a further post about the same problem to a case.
    async fn attach_post(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The post, as the monitor saw it.")] post: PostInput,
        #[graphql(desc = "A note for the record.")] note: Option<String>,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
        #[graphql(
            desc = "Refuse with CONFLICT unless the case is still at this version (its `streamVersion` when you read it)."
        )]
        expected_version: Option<StreamVersion>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::AttachPost {
            post: post.parse()?,
            note: opt_text("note", note)?,
        };
        run_case(
            ctx,
            self::case_id(&case_id)?,
            command_id,
            expected_version,
            body,
        )
        .await
    }

    /// Record a post's heat now.
    #[allow(clippy::too_many_arguments)]
    async fn record_heat(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The post's address on its platform.")] url: String,
        #[graphql(desc = "Views (阅读量) now.")] views: u64,
        #[graphql(desc = "Reposts (转发) now.")] reposts: u64,
        #[graphql(desc = "Comments (评论) now.")] comments: u64,
        #[graphql(desc = "Likes (点赞) now.")] likes: u64,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::RecordHeat {
            url: PostUrl::parse(&url).map_err(validation)?,
            heat: Heat {
                views,
                reposts,
                comments,
                likes,
            },
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// Follow-up monitoring after handling (跟踪监测).
    async fn record_follow_up(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "What monitoring observed.")] observation: String,
        #[graphql(desc = "How public opinion stands now.")] sentiment: enums::FollowUpSentiment,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::RecordFollowUp {
            observation: text("observation", &observation)?,
            sentiment: sentiment.into(),
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// 研判: set level, key categories, problem class and jurisdiction.
    #[allow(clippy::too_many_arguments)]
    async fn triage_case(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The level (事项等级): it sets the feedback deadlines.")]
        level: enums::Level,
        #[graphql(default, desc = "The key categories (重点类别) that apply.")] categories: Vec<
            enums::KeyCategory,
        >,
        #[graphql(desc = "The problem class (问题类别), e.g. 道路塌陷.")] problem_class: String,
        #[graphql(
            desc = "The unit whose jurisdiction the problem lies in: its code or global id."
        )]
        jurisdiction_unit_id: Option<ID>,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
        #[graphql(
            desc = "Refuse with CONFLICT unless the case is still at this version (its `streamVersion` when you read it)."
        )]
        expected_version: Option<StreamVersion>,
    ) -> Result<CommandResult> {
        let jurisdiction = match jurisdiction_unit_id {
            Some(raw) => Some(resolve_unit(ctx, &unit_id(&raw)?).await?),
            None => None,
        };
        let body = CaseCommand::TriageCase {
            level: level.into(),
            // A set of at most five: duplicates dropped, first mention first.
            categories: categories.into_iter().map(Into::into).fold(
                Vec::new(),
                |mut set: Vec<KeyCategory>, category| {
                    if !set.contains(&category) {
                        set.push(category);
                    }
                    set
                },
            ),
            problem_class: ProblemClass::parse(&problem_class).map_err(validation)?,
            jurisdiction,
        };
        run_case(
            ctx,
            self::case_id(&case_id)?,
            command_id,
            expected_version,
            body,
        )
        .await
    }

    /// Change a case's level, with a reason; open feedback deadlines are recomputed.
    async fn change_case_level(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The new level.")] level: enums::Level,
        #[graphql(desc = "Why, in words that will stand in the audit trail.")] reason: String,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
        #[graphql(
            desc = "Refuse with CONFLICT unless the case is still at this version (its `streamVersion` when you read it)."
        )]
        expected_version: Option<StreamVersion>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::ChangeCaseLevel {
            to: level.into(),
            reason: text("reason", &reason)?,
        };
        run_case(
            ctx,
            self::case_id(&case_id)?,
            command_id,
            expected_version,
            body,
        )
        .await
    }

    /// 转办: assign the case to a unit as lead or co-handler; the feedback deadline comes
    /// from the rules. The result's stream has the new assignment; its id is in the case.
    #[allow(clippy::too_many_arguments)]
    async fn assign_case(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The unit: its code (e.g. `city-housing`) or its global id.")] unit_id: ID,
        #[graphql(desc = "Lead (主办) or co-handler (协办).")] role: enums::AssignmentRole,
        #[graphql(desc = "The instruction, as written.")] instruction: Option<String>,
        #[graphql(desc = "Your id for the new assignment (a UUID; one is made when omitted).")]
        assignment_id: Option<ID>,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
        #[graphql(
            desc = "Refuse with CONFLICT unless the case is still at this version (its `streamVersion` when you read it)."
        )]
        expected_version: Option<StreamVersion>,
    ) -> Result<CommandResult> {
        let unit = resolve_unit(ctx, &self::unit_id(&unit_id)?).await?;
        let assignment_id = match assignment_id {
            Some(id) => self::assignment_id(&id)?,
            None => AssignmentId::from_uuid(new_id()),
        };
        let body = CaseCommand::AssignCase {
            assignment_id,
            unit,
            role: role.into(),
            instruction: opt_text("instruction", instruction)?,
        };
        created(
            run_case(
                ctx,
                self::case_id(&case_id)?,
                command_id,
                expected_version,
                body,
            )
            .await,
            assignment_id,
        )
    }

    /// 签收: the unit accepts its assignment.
    async fn accept_assignment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The assignment: its id or its global id.")] assignment_id: ID,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::AcceptAssignment {
            assignment_id: self::assignment_id(&assignment_id)?,
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// 退回: the unit returns its assignment, with a reason.
    async fn return_assignment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The assignment: its id or its global id.")] assignment_id: ID,
        #[graphql(desc = "Why, in words that will stand in the audit trail.")] reason: String,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::ReturnAssignment {
            assignment_id: self::assignment_id(&assignment_id)?,
            reason: text("reason", &reason)?,
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// The dispatcher accepts a return (then reassigns).
    async fn accept_return(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The assignment: its id or its global id.")] assignment_id: ID,
        #[graphql(desc = "A note for the record.")] note: Option<String>,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::AcceptReturn {
            assignment_id: self::assignment_id(&assignment_id)?,
            note: opt_text("note", note)?,
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// The dispatcher rejects a return: the unit must handle it; recorded as 推诿.
    async fn reject_return(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The assignment: its id or its global id.")] assignment_id: ID,
        #[graphql(desc = "Why the unit must handle it.")] note: String,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::RejectReturn {
            assignment_id: self::assignment_id(&assignment_id)?,
            note: text("note", &note)?,
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// Withdraw an open assignment, with a reason.
    async fn withdraw_assignment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The assignment: its id or its global id.")] assignment_id: ID,
        #[graphql(desc = "Why, in words that will stand in the audit trail.")] reason: String,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::WithdrawAssignment {
            assignment_id: self::assignment_id(&assignment_id)?,
            reason: text("reason", &reason)?,
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// 核查: record what verification found.
    async fn verify_facts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The assignment: its id or its global id.")] assignment_id: ID,
        #[graphql(desc = "What verification found: true, partly true or not true.")]
        finding: enums::Finding,
        #[graphql(desc = "What verification established.")] summary: String,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::VerifyFacts {
            assignment_id: self::assignment_id(&assignment_id)?,
            finding: finding.into(),
            summary: text("summary", &summary)?,
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// 反馈: submit a reply for the unit head's approval.
    async fn submit_reply(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The assignment: its id or its global id.")] assignment_id: ID,
        #[graphql(desc = "The reply (反馈), for the unit head to approve.")] content: String,
        #[graphql(desc = "Your id for the new reply (a UUID; one is made when omitted).")]
        reply_id: Option<ID>,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let reply_id = match reply_id {
            Some(id) => ReplyId::parse(&id).map_err(validation)?,
            None => ReplyId::from_uuid(new_id()),
        };
        let body = CaseCommand::SubmitReply {
            assignment_id: self::assignment_id(&assignment_id)?,
            reply_id,
            content: text("content", &content)?,
        };
        created(
            run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await,
            reply_id,
        )
    }

    /// The unit head approves a reply; it then counts as feedback.
    async fn approve_reply(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The reply: its id or its global id.")] reply_id: ID,
        #[graphql(desc = "A note for the record.")] note: Option<String>,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::ApproveReply {
            reply_id: ReplyId::parse(&key_of(&reply_id, NodeKind::Reply)?).map_err(validation)?,
            note: opt_text("note", note)?,
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// The unit head sends a reply back for revision.
    async fn send_back_reply(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The reply: its id or its global id.")] reply_id: ID,
        #[graphql(desc = "What to revise.")] note: String,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::SendBackReply {
            reply_id: ReplyId::parse(&key_of(&reply_id, NodeKind::Reply)?).map_err(validation)?,
            note: text("note", &note)?,
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// 公开回应: publish a public response.
    async fn publish_response(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "Where it was published.")] channel: enums::ResponseChannel,
        #[graphql(desc = "The response as published.")] content: String,
        #[graphql(desc = "The post's address on its platform.")] url: Option<String>,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let url = match url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            Some(raw) => Some(PostUrl::parse(raw).map_err(validation)?),
            None => None,
        };
        let body = CaseCommand::PublishResponse {
            channel: channel.into(),
            content: text("content", &content)?,
            url,
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// 承诺办结时限: promise rectification by a date (due at the end of that day, Shanghai).
    async fn promise_rectification(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The assignment: its id or its global id.")] assignment_id: ID,
        #[graphql(desc = "The promised day (Asia/Shanghai); due at its end.")] due_date: Date,
        #[graphql(desc = "The measures promised.")] measures: String,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::PromiseRectification {
            assignment_id: self::assignment_id(&assignment_id)?,
            due_date: due_date.0,
            measures: text("measures", &measures)?,
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// Record that the promised rectification is done.
    async fn complete_rectification(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The assignment: its id or its global id.")] assignment_id: ID,
        #[graphql(desc = "What was done, as the record should show it.")] result: String,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::CompleteRectification {
            assignment_id: self::assignment_id(&assignment_id)?,
            result: text("result", &result)?,
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// 办结 an assignment (needs an approved reply and no unfinished rectification).
    async fn complete_assignment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The assignment: its id or its global id.")] assignment_id: ID,
        #[graphql(desc = "What was done (办结情况).")] summary: String,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::CompleteAssignment {
            assignment_id: self::assignment_id(&assignment_id)?,
            summary: text("summary", &summary)?,
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// 抄告单: send the case to a leader for a written instruction.
    async fn send_memo(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The case in brief, for the leader.")] summary: String,
        #[graphql(desc = "Your id for the new memo (a UUID; one is made when omitted).")]
        memo_id: Option<ID>,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let memo_id = match memo_id {
            Some(id) => MemoId::parse(&id).map_err(validation)?,
            None => MemoId::from_uuid(new_id()),
        };
        let body = CaseCommand::SendMemo {
            memo_id,
            summary: text("summary", &summary)?,
        };
        created(
            run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await,
            memo_id,
        )
    }

    /// 批示: a leader's written instruction; due in 3 working days unless a deadline is given.
    async fn instruct_on_memo(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The memo (抄告单): its id or its global id.")] memo_id: ID,
        #[graphql(desc = "The instruction, as written.")] instruction: String,
        #[graphql(desc = "When it is due (default: 3 working days).")] deadline: Option<Instant>,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::InstructOnMemo {
            memo_id: MemoId::parse(&key_of(&memo_id, NodeKind::Memo)?).map_err(validation)?,
            instruction: text("instruction", &instruction)?,
            deadline: deadline.map(|i| i.0),
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// 催办: a supervisor urges a unit with an open assignment.
    async fn urge_supervision(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The unit: its code (e.g. `city-housing`) or its global id.")] unit_id: ID,
        #[graphql(desc = "The urging (催办), as sent to the unit.")] note: String,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::UrgeSupervision {
            target_unit: self::unit_id(&unit_id)?,
            note: text("note", &note)?,
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// Propose referring a rumour to the police, with legal basis and evidence. A second
    /// dispatcher must approve it.
    #[allow(clippy::too_many_arguments)]
    async fn propose_rumour_referral(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The police unit referred to: its code or global id.")] police_unit_id: ID,
        #[graphql(desc = "The law or regulation relied on.")] legal_basis: String,
        #[graphql(desc = "The evidence that the post is a rumour.")] evidence: String,
        #[graphql(desc = "Your id for the new referral (a UUID; one is made when omitted).")]
        referral_id: Option<ID>,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let police_unit = resolve_unit(ctx, &unit_id(&police_unit_id)?).await?;
        let referral_id = match referral_id {
            Some(id) => ReferralId::parse(&id).map_err(validation)?,
            None => ReferralId::from_uuid(new_id()),
        };
        let body = CaseCommand::ProposeRumourReferral {
            referral_id,
            police_unit,
            legal_basis: text("legalBasis", &legal_basis)?,
            evidence: text("evidence", &evidence)?,
        };
        created(
            run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await,
            referral_id,
        )
    }

    /// A second dispatcher approves a rumour referral (four-eyes rule).
    async fn approve_rumour_referral(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The rumour referral: its id or its global id.")] referral_id: ID,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::ApproveRumourReferral {
            referral_id: ReferralId::parse(&key_of(&referral_id, NodeKind::Referral)?)
                .map_err(validation)?,
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// The police record a referral's outcome.
    async fn record_referral_outcome(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The rumour referral: its id or its global id.")] referral_id: ID,
        #[graphql(desc = "What the police concluded.")] outcome: enums::ReferralOutcome,
        #[graphql(desc = "What the police did.")] action: String,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::RecordReferralOutcome {
            referral_id: ReferralId::parse(&key_of(&referral_id, NodeKind::Referral)?)
                .map_err(validation)?,
            outcome: outcome.into(),
            action: text("action", &action)?,
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// 辟谣: publish a rebuttal of a confirmed rumour.
    async fn rebut_rumour(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The rumour referral: its id or its global id.")] referral_id: ID,
        #[graphql(desc = "Where it was published.")] channel: enums::ResponseChannel,
        #[graphql(desc = "The rebuttal (辟谣) as published.")] content: String,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::RebutRumour {
            referral_id: ReferralId::parse(&key_of(&referral_id, NodeKind::Referral)?)
                .map_err(validation)?,
            channel: channel.into(),
            content: text("content", &content)?,
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// Ask that a case's personal data (its posts' authors) be erased, on a legal basis
    /// (dispatchers and inspectors). A second person of those roles approves.
    async fn propose_personal_data_erasure(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The law or regulation relied on.")] legal_basis: String,
        #[graphql(desc = "Your id for the erasure request (a UUID; one is made when omitted).")]
        erasure_id: Option<ID>,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let erasure_id = match erasure_id {
            Some(id) => ErasureId::parse(&id).map_err(validation)?,
            None => ErasureId::from_uuid(new_id()),
        };
        let body = AccessCommand::ProposeErasure {
            erasure_id,
            legal_basis: text("legalBasis", &legal_basis)?,
        };
        created(
            run_access(ctx, self::case_id(&case_id)?, command_id, body).await,
            erasure_id,
        )
    }

    /// A second person approves an erasure: the case's personal data is deleted, and
    /// reads show 已删除; every event, checkpoint and proof stays valid.
    async fn approve_personal_data_erasure(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "The erasure request to approve.")] erasure_id: ID,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = AccessCommand::ApproveErasure {
            erasure_id: ErasureId::parse(&erasure_id).map_err(validation)?,
        };
        run_access(ctx, self::case_id(&case_id)?, command_id, body).await
    }

    /// 办结: close a case whose assignments are all completed or withdrawn.
    async fn close_case(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "How the case ended (办结情况), for the record.")] outcome: String,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
        #[graphql(
            desc = "Refuse with CONFLICT unless the case is still at this version (its `streamVersion` when you read it)."
        )]
        expected_version: Option<StreamVersion>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::CloseCase {
            outcome: text("outcome", &outcome)?,
        };
        run_case(
            ctx,
            self::case_id(&case_id)?,
            command_id,
            expected_version,
            body,
        )
        .await
    }

    /// Reopen a closed case (次生舆情), with a reason.
    async fn reopen_case(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "Why, in words that will stand in the audit trail.")] reason: String,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::ReopenCase {
            reason: text("reason", &reason)?,
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// Declare that the case led to a mass incident (drives the one-vote veto).
    async fn declare_mass_incident(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The case: its id or its global id.")] case_id: ID,
        #[graphql(desc = "A note for the record.")] note: String,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = CaseCommand::DeclareMassIncident {
            note: text("note", &note)?,
        };
        run_case(ctx, self::case_id(&case_id)?, command_id, None, body).await
    }

    /// Register a unit (administrators).
    #[allow(clippy::too_many_arguments)]
    async fn register_unit(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The new unit's code: lower case letters, digits and hyphens, e.g. `city-housing`."
        )]
        unit_id: ID,
        #[graphql(desc = "The unit's name, in Chinese.")] name: String,
        #[graphql(desc = "What kind of unit (it decides the roles its staff may hold).")]
        kind: enums::UnitKind,
        #[graphql(desc = "The unit above it, if any: its code or global id.")]
        parent_unit_id: Option<ID>,
        #[graphql(desc = "The area the unit answers for.")] jurisdiction: Option<String>,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let unit = self::unit_id(&unit_id)?;
        let parent = match parent_unit_id {
            Some(raw) => Some(resolve_unit(ctx, &self::unit_id(&raw)?).await?),
            None => None,
        };
        let body = UnitCommand::RegisterUnit {
            name: unit_name(&name)?,
            kind: kind.into(),
            parent,
            jurisdiction: opt_text("jurisdiction", jurisdiction)?,
        };
        run_unit(ctx, &unit, command_id, body).await
    }

    /// Rename a unit (administrators); its history keeps the names it had.
    async fn rename_unit(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit: its code (e.g. `city-housing`) or its global id.")] unit_id: ID,
        #[graphql(desc = "The unit's new name.")] name: String,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = UnitCommand::RenameUnit {
            name: unit_name(&name)?,
        };
        run_unit(ctx, &self::unit_id(&unit_id)?, command_id, body).await
    }

    /// Deactivate a unit (administrators), with a reason; nothing more is assigned to it.
    async fn deactivate_unit(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit: its code (e.g. `city-housing`) or its global id.")] unit_id: ID,
        #[graphql(desc = "Why, in words that will stand in the audit trail.")] reason: String,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = UnitCommand::DeactivateUnit {
            reason: text("reason", &reason)?,
        };
        run_unit(ctx, &self::unit_id(&unit_id)?, command_id, body).await
    }

    /// 问责/扣分 against a unit (optionally naming a person) for a period [from, to).
    #[allow(clippy::too_many_arguments)]
    async fn apply_penalty(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit: its code (e.g. `city-housing`) or its global id.")] unit_id: ID,
        #[graphql(desc = "What kind of penalty (问责方式).")] kind: enums::PenaltyKind,
        #[graphql(desc = "Points (a positive whole number).")] points: u32,
        #[graphql(desc = "Why, in words that will stand in the audit trail.")] reason: String,
        #[graphql(desc = "First day of the period (Asia/Shanghai).")] period_from: Date,
        #[graphql(desc = "Day after the period's last (the period is [from, to)).")]
        period_to: Date,
        #[graphql(desc = "The person concerned, by name and post.")] person: Option<String>,
        #[graphql(
            default,
            desc = "The cases behind it (at most 100; duplicates are dropped)."
        )]
        case_ids: Vec<ID>,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let penalty_id = PenaltyId::from_uuid(new_id());
        let body = AssessmentCommand::ApplyPenalty {
            penalty_id,
            person: opt_text("person", person)?,
            kind: kind.into(),
            points,
            reason: text("reason", &reason)?,
            case_ids: case_id_list(&case_ids)?,
            period: period(period_from.0, period_to.0),
        };
        created(
            run_assessment(
                ctx,
                &self::unit_id(&unit_id)?,
                period_from.0.year(),
                command_id,
                body,
            )
            .await,
            penalty_id,
        )
    }

    /// Revoke a penalty (the assessment year is the year its period starts in).
    async fn revoke_penalty(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit: its code (e.g. `city-housing`) or its global id.")] unit_id: ID,
        #[graphql(
            desc = "The assessment year the penalty counts in (the year its period starts in)."
        )]
        year: i32,
        #[graphql(desc = "The penalty: its id.")] penalty_id: ID,
        #[graphql(desc = "Why, in words that will stand in the audit trail.")] reason: String,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = AssessmentCommand::RevokePenalty {
            penalty_id: PenaltyId::parse(&penalty_id).map_err(validation)?,
            reason: text("reason", &reason)?,
        };
        run_assessment(ctx, &self::unit_id(&unit_id)?, year, command_id, body).await
    }

    /// 表扬/加分 for a unit for a period [from, to).
    #[allow(clippy::too_many_arguments)]
    async fn award_commendation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit: its code (e.g. `city-housing`) or its global id.")] unit_id: ID,
        #[graphql(desc = "Points (a positive whole number).")] points: u32,
        #[graphql(desc = "Why, in words that will stand in the audit trail.")] reason: String,
        #[graphql(desc = "First day of the period (Asia/Shanghai).")] period_from: Date,
        #[graphql(desc = "Day after the period's last (the period is [from, to)).")]
        period_to: Date,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let commendation_id = CommendationId::from_uuid(new_id());
        let body = AssessmentCommand::AwardCommendation {
            commendation_id,
            points,
            reason: text("reason", &reason)?,
            period: period(period_from.0, period_to.0),
        };
        created(
            run_assessment(
                ctx,
                &self::unit_id(&unit_id)?,
                period_from.0.year(),
                command_id,
                body,
            )
            .await,
            commendation_id,
        )
    }

    /// 移送问责: refer a person of a unit to discipline inspection.
    #[allow(clippy::too_many_arguments)]
    async fn refer_accountability(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit: its code (e.g. `city-housing`) or its global id.")] unit_id: ID,
        #[graphql(desc = "The person concerned, by name and post.")] person: String,
        #[graphql(desc = "Why, in words that will stand in the audit trail.")] reason: String,
        #[graphql(
            default,
            desc = "The cases behind it (at most 100; duplicates are dropped)."
        )]
        case_ids: Vec<ID>,
        #[graphql(desc = "Your id for the new referral (a UUID; one is made when omitted).")]
        accountability_id: Option<ID>,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let accountability_id = match accountability_id {
            Some(id) => AccountabilityId::parse(&id).map_err(validation)?,
            None => AccountabilityId::from_uuid(new_id()),
        };
        let year = state(ctx)?.clock().now().year();
        let body = AssessmentCommand::ReferAccountability {
            accountability_id,
            person: text("person", &person)?,
            case_ids: case_id_list(&case_ids)?,
            reason: text("reason", &reason)?,
        };
        created(
            run_assessment(ctx, &self::unit_id(&unit_id)?, year, command_id, body).await,
            accountability_id,
        )
    }

    /// Record a disciplinary decision (inspectors).
    #[allow(clippy::too_many_arguments)]
    async fn record_disciplinary_decision(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit: its code (e.g. `city-housing`) or its global id.")] unit_id: ID,
        #[graphql(desc = "The assessment year it counts in.")] year: i32,
        #[graphql(desc = "The accountability referral: its id.")] accountability_id: ID,
        #[graphql(desc = "The person decided on.")] person: String,
        #[graphql(desc = "The disciplinary decision, as recorded.")] decision: String,
        #[graphql(
            default,
            desc = "The cases behind it (at most 100; duplicates are dropped)."
        )]
        case_ids: Vec<ID>,
        #[graphql(
            desc = "Your id for this command (a UUID): sending it again returns the first result and writes nothing."
        )]
        command_id: Option<ID>,
    ) -> Result<CommandResult> {
        let body = AssessmentCommand::RecordDisciplinaryDecision {
            accountability_id: AccountabilityId::parse(&accountability_id).map_err(validation)?,
            person: text("person", &person)?,
            case_ids: case_id_list(&case_ids)?,
            decision: text("decision", &decision)?,
        };
        run_assessment(ctx, &self::unit_id(&unit_id)?, year, command_id, body).await
    }
}

async fn run_unit(
    ctx: &Context<'_>,
    unit: &UnitId,
    command_id: Option<ID>,
    body: UnitCommand,
) -> Result<CommandResult> {
    let issue = issue(ctx, command_id, None)?;
    let receipt = state(ctx)?
        .handler
        .handle_unit(issue, unit, body)
        .await
        .map_err(from_command)?;
    Ok(result(receipt))
}

async fn run_assessment(
    ctx: &Context<'_>,
    unit: &UnitId,
    year: i32,
    command_id: Option<ID>,
    body: AssessmentCommand,
) -> Result<CommandResult> {
    let issue = issue(ctx, command_id, None)?;
    let receipt = state(ctx)?
        .handler
        .handle_assessment(issue, unit, year, body)
        .await
        .map_err(from_command)?;
    Ok(result(receipt))
}
