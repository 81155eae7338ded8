//! Readable Chinese sentences for the accountability audit trail: one per event, saying
//! who did what, to whom, with which reason. Times are shown in Asia/Shanghai.

use chrono::{DateTime, Utc};
use whistle_domain::calendar::shanghai;
use whistle_domain::{Event, UnitId, Vocabulary};

/// `2026-03-02 09:00` in Shanghai time.
pub fn shanghai_minute(instant: DateTime<Utc>) -> String {
    instant
        .with_timezone(&shanghai())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The sentence for one event. `actor` is already rendered ("张三(经办人,市住建局)");
/// `unit_name` turns a unit code into the name it had when the event happened.
pub fn describe(event: &Event, actor: &str, unit_name: &dyn Fn(&UnitId) -> String) -> String {
    use Event as E;
    match event {
        E::UnitRegistered {
            unit_id,
            name,
            kind,
            parent,
            ..
        } => match parent {
            Some(parent) => format!(
                "{actor}登记单位「{name}」({code},{kind}),上级单位:{parent_name}",
                code = unit_id,
                kind = kind.label_zh(),
                parent_name = unit_name(parent)
            ),
            None => format!("{actor}登记单位「{name}」({unit_id},{})", kind.label_zh()),
        },
        E::UnitRenamed { from, to, .. } => format!("{actor}将单位「{from}」更名为「{to}」"),
        E::UnitDeactivated { unit_id, reason } => {
            format!("{actor}停用单位「{}」,理由:{reason}", unit_name(unit_id))
        }
        E::PostFlagged { post, note, .. } => {
            let mut sentence = format!(
                "{actor}吹哨:在{}发现帖文《{}》,立为舆情事项",
                post.platform.label_zh(),
                post.title
            );
            if let Some(note) = note {
                sentence.push_str(&format!(",备注:{note}"));
            }
            sentence
        }
        E::PostAttached { post, .. } => {
            format!(
                "{actor}追加同一问题的帖文《{}》({})",
                post.title,
                post.platform.label_zh()
            )
        }
        E::HeatRecorded { heat, .. } => format!(
            "{actor}记录热度:浏览{},转发{},评论{},点赞{}",
            heat.views, heat.reposts, heat.comments, heat.likes
        ),
        E::FollowUpRecorded {
            observation,
            sentiment,
            ..
        } => {
            format!(
                "{actor}记录跟踪监测({}):{observation}",
                sentiment.label_zh()
            )
        }
        E::CaseTriaged {
            level,
            categories,
            problem_class,
            jurisdiction,
            ..
        } => {
            let categories: Vec<_> = categories.iter().map(|c| c.label_zh()).collect();
            let mut sentence = format!(
                "{actor}研判:舆情等级{},问题类别「{problem_class}」",
                level.label_zh()
            );
            if !categories.is_empty() {
                sentence.push_str(&format!(",重点回应类别:{}", categories.join("、")));
            }
            if let Some(unit) = jurisdiction {
                sentence.push_str(&format!(",属地单位:{}", unit_name(unit)));
            }
            sentence
        }
        E::CaseLevelChanged {
            from, to, reason, ..
        } => format!(
            "{actor}将舆情等级由{}调整为{},理由:{reason}",
            from.label_zh(),
            to.label_zh()
        ),
        E::CaseAssigned {
            unit_id,
            role,
            deadline,
            instruction,
            ..
        } => {
            let mut sentence = format!(
                "{actor}将事项转办给{}({}),反馈时限{}",
                unit_name(unit_id),
                role.label_zh(),
                shanghai_minute(*deadline)
            );
            if let Some(instruction) = instruction {
                sentence.push_str(&format!(",要求:{instruction}"));
            }
            sentence
        }
        E::AssignmentAccepted { .. } => format!("{actor}签收转办事项"),
        E::AssignmentReturned { reason, .. } => format!("{actor}退回转办事项,理由:{reason}"),
        E::ReturnAccepted { note, .. } => match note {
            Some(note) => format!("{actor}同意退回:{note}"),
            None => format!("{actor}同意退回"),
        },
        E::ReturnRejected { note, .. } => {
            format!("{actor}不同意退回(记为推诿扯皮),责任单位须继续办理:{note}")
        }
        E::AssignmentWithdrawn { reason, .. } => format!("{actor}撤回转办,理由:{reason}"),
        E::FactsVerified {
            finding, summary, ..
        } => {
            format!("{actor}核查情况:{}。{summary}", finding.label_zh())
        }
        E::ReplySubmitted { content, .. } => format!("{actor}提交反馈,待单位负责人审核:{content}"),
        E::ReplyApproved { note, .. } => match note {
            Some(note) => format!("{actor}审核通过反馈:{note}"),
            None => format!("{actor}审核通过反馈"),
        },
        E::ReplySentBack { note, .. } => format!("{actor}退回反馈要求修改:{note}"),
        E::ResponsePublished {
            channel, content, ..
        } => {
            format!("{actor}通过{}公开回应:{content}", channel.label_zh())
        }
        E::RectificationPromised {
            due_date, measures, ..
        } => {
            format!("{actor}承诺于{due_date}前完成整改,措施:{measures}")
        }
        E::RectificationCompleted { result, .. } => format!("{actor}报告整改完成:{result}"),
        E::AssignmentCompleted { summary, .. } => format!("{actor}报告办结:{summary}"),
        E::MemoSent { summary, .. } => format!("{actor}呈报抄告单,请领导批示:{summary}"),
        E::LeaderInstructed {
            instruction,
            deadline,
            ..
        } => format!(
            "{actor}批示:{instruction}(办理时限{})",
            shanghai_minute(*deadline)
        ),
        E::DeadlineSet { kind, due_at, .. } => {
            format!(
                "{actor}设定{},截止{}",
                kind.label_zh(),
                shanghai_minute(*due_at)
            )
        }
        E::DeadlineApproaching {
            kind,
            unit_id,
            due_at,
            ..
        } => format!(
            "{actor}预警:{}的{}将于{}到期",
            unit_id
                .as_ref()
                .map(unit_name)
                .unwrap_or_else(|| "本事项".to_owned()),
            kind.label_zh(),
            shanghai_minute(*due_at)
        ),
        E::DeadlineMissed {
            kind,
            unit_id,
            due_at,
            ..
        } => format!(
            "{actor}记录超期:{}的{}已于{}届满未完成",
            unit_id
                .as_ref()
                .map(unit_name)
                .unwrap_or_else(|| "本事项".to_owned()),
            kind.label_zh(),
            shanghai_minute(*due_at)
        ),
        E::DeadlineRescheduled {
            kind,
            previous_due_at,
            due_at,
            deadline_rule,
            ..
        } => format!(
            "{actor}重新计算{}:由{}改为{}(依据{deadline_rule})",
            kind.label_zh(),
            shanghai_minute(*previous_due_at),
            shanghai_minute(*due_at)
        ),
        E::SupervisionUrged {
            target_unit, note, ..
        } => {
            format!("{actor}向{}督办催办:{note}", unit_name(target_unit))
        }
        E::RumourReferralProposed {
            police_unit,
            legal_basis,
            evidence,
            ..
        } => format!(
            "{actor}提请将谣言线索移交{},法律依据:{legal_basis};证据:{evidence}",
            unit_name(police_unit)
        ),
        E::RumourReferralApproved { .. } => format!("{actor}复核同意移交公安机关(双人审核)"),
        E::ReferralOutcomeRecorded {
            outcome, action, ..
        } => {
            format!("{actor}反馈移交处置结果:{}。{action}", outcome.label_zh())
        }
        E::RumourRebutted {
            channel, content, ..
        } => {
            format!("{actor}通过{}发布辟谣:{content}", channel.label_zh())
        }
        E::CaseClosed { outcome, .. } => format!("{actor}办结事项:{outcome}"),
        E::CaseReopened { reason, .. } => format!("{actor}重新开启事项(次生舆情):{reason}"),
        E::MassIncidentDeclared { note, .. } => format!("{actor}认定引发群体性事件:{note}"),
        E::PenaltyApplied {
            unit_id,
            person,
            kind,
            points,
            reason,
            ..
        } => {
            let whom = match person {
                Some(person) => format!("{}({person})", unit_name(unit_id)),
                None => unit_name(unit_id),
            };
            format!(
                "{actor}对{whom}作出{},扣{points}分,理由:{reason}",
                kind.label_zh()
            )
        }
        E::PenaltyRevoked {
            unit_id, reason, ..
        } => {
            format!(
                "{actor}撤销对{}的问责扣分,理由:{reason}",
                unit_name(unit_id)
            )
        }
        E::CommendationAwarded {
            unit_id,
            points,
            reason,
            ..
        } => {
            format!(
                "{actor}表扬{},加{points}分,理由:{reason}",
                unit_name(unit_id)
            )
        }
        E::AccountabilityReferred {
            unit_id,
            person,
            reason,
            ..
        } => {
            format!(
                "{actor}将{}的{person}移送纪检监察机关问责,理由:{reason}",
                unit_name(unit_id)
            )
        }
        E::DisciplinaryDecisionRecorded {
            unit_id,
            person,
            decision,
            ..
        } => {
            format!(
                "{actor}记录对{}的{person}的处理决定:{decision}",
                unit_name(unit_id)
            )
        }
        E::PersonalDataViewed {
            case_id,
            fields,
            path,
        } => {
            let fields: Vec<&str> = fields
                .iter()
                .map(|field| match field.as_str() {
                    "post.author" => "帖文作者身份",
                    other => other,
                })
                .collect();
            format!(
                "{actor}经 {path} 查看了事项 {case_id} 的个人信息({})",
                fields.join("、")
            )
        }
        E::PersonalDataErasureProposed {
            case_id,
            legal_basis,
            ..
        } => format!("{actor}提请删除事项 {case_id} 的个人信息,依据:{legal_basis}"),
        E::PersonalDataErased {
            case_id,
            legal_basis,
            proposed_by: Some(proposed_by),
            ..
        } => format!(
            "{actor}批准删除事项 {case_id} 的个人信息(提请人 {proposed_by}),依据:{legal_basis}"
        ),
        E::PersonalDataErased {
            case_id,
            legal_basis,
            proposed_by: None,
            ..
        } => format!("{actor}删除事项 {case_id} 的个人信息,依据:{legal_basis}"),
    }
}
