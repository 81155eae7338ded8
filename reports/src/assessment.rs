//! The annual assessment (年度考核): a summary sheet (score, rank, grade, veto) and a
//! sheet with every deduction and addition and the event behind it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::AnyPool;
use whistle_domain::Vocabulary;
use whistle_domain::rules::AssessmentRules;
use whistle_projections::queries as q;

use crate::ExportError;
use crate::sheet::{Report, Sheet, shanghai_time};

/// The annual assessment: a summary sheet and a sheet with every deduction and addition.
pub async fn assessment(
    pool: &AnyPool,
    year: i32,
    as_of: DateTime<Utc>,
    rules: &AssessmentRules,
) -> Result<Report, ExportError> {
    let assessments = q::annual_assessment(pool, year, as_of, rules, None).await?;
    let mut summary = Vec::new();
    let mut details = Vec::new();
    for a in &assessments {
        let deducted: i64 = a
            .items
            .iter()
            .filter(|i| i.points < 0)
            .map(|i| i.points)
            .sum();
        let added: i64 = a
            .items
            .iter()
            .filter(|i| i.points > 0)
            .map(|i| i.points)
            .sum();
        let mut by_rule: BTreeMap<&str, (usize, i64)> = BTreeMap::new();
        for item in &a.items {
            let entry = by_rule.entry(item.rule.label_zh()).or_default();
            entry.0 += 1;
            entry.1 += item.points;
        }
        let explanation: Vec<String> = by_rule
            .iter()
            .map(|(rule, (count, points))| format!("{rule}×{count}({points:+})"))
            .collect();
        summary.push(vec![
            a.rank.into(),
            a.unit_id.clone().into(),
            a.unit_name.clone().into(),
            a.score.into(),
            a.grade.label_zh().into(),
            (if a.veto { "是" } else { "否" }).into(),
            deducted.into(),
            added.into(),
            explanation.join(";").into(),
            a.rules_version.clone().into(),
        ]);
        for item in &a.items {
            details.push(vec![
                a.unit_id.clone().into(),
                a.unit_name.clone().into(),
                item.rule.label_zh().into(),
                item.points.into(),
                shanghai_time(item.recorded_at).into(),
                item.position.into(),
                item.event_id.clone().into(),
                item.case_id.clone().into(),
                item.reason.clone().into(),
            ]);
        }
    }
    Ok(Report {
        sheets: vec![
            Sheet {
                name: format!("{year}年度考核"),
                headers: vec![
                    "排名",
                    "单位代码",
                    "单位名称",
                    "得分",
                    "等级",
                    "一票否决",
                    "扣分合计",
                    "加分合计",
                    "扣加分说明",
                    "规则版本",
                ],
                rows: summary,
            },
            Sheet {
                name: "扣加分明细".into(),
                headers: vec![
                    "单位代码",
                    "单位名称",
                    "规则",
                    "分值",
                    "记录时间",
                    "事件位置",
                    "事件编号",
                    "事项编号",
                    "事由",
                ],
                rows: details,
            },
        ],
    })
}
