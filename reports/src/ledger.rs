//! The case ledger (台账): every case flagged in a period, with its assignments.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sqlx::AnyPool;
use whistle_domain::Vocabulary;
use whistle_domain::calendar::start_of_shanghai_day;
use whistle_projections::queries::{self as q, CaseFilter, CaseScope};

use crate::ExportError;
use crate::sheet::{Report, Sheet, shanghai_time};

/// The case ledger (台账): every case flagged in [from, to) with its assignments.
pub async fn ledger(pool: &AnyPool, from: NaiveDate, to: NaiveDate) -> Result<Report, ExportError> {
    if to <= from {
        return Err(ExportError::Input(format!(
            "the period [{from}, {to}) is empty"
        )));
    }
    let filter = CaseFilter {
        flagged_from: Some(start_of_shanghai_day(from)),
        flagged_to: Some(start_of_shanghai_day(to)),
        ..Default::default()
    };
    let names: BTreeMap<String, String> = q::units(pool)
        .await?
        .into_iter()
        .map(|u| (u.unit_id, u.name))
        .collect();
    let name = |code: &str| names.get(code).cloned().unwrap_or_else(|| code.to_owned());
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let page = q::list_cases(
            pool,
            &CaseScope::All,
            &filter,
            q::Window::forward(200, after),
        )
        .await?;
        for case in &page.items {
            let assignments = q::assignments_of_case(pool, case.case_id).await?;
            let units: Vec<String> = assignments
                .iter()
                .map(|a| {
                    format!(
                        "{}({}·{})",
                        a.unit_name,
                        a.role.label_zh(),
                        a.status.label_zh()
                    )
                })
                .collect();
            let categories: Vec<&str> = case.categories.iter().map(|c| c.label_zh()).collect();
            rows.push((
                case.cursor,
                vec![
                    case.case_id.to_string().into(),
                    shanghai_time(case.flagged_at).into(),
                    case.platform.label_zh().into(),
                    case.title.clone().into(),
                    case.first_url.clone().into(),
                    case.level.map(|l| l.label_zh().to_owned()).into(),
                    categories.join("、").into(),
                    case.problem_class.clone().into(),
                    case.lead_unit.as_deref().map(name).into(),
                    units.join(";").into(),
                    case.status.label_zh().into(),
                    case.closed_at.map(shanghai_time).into(),
                    case.outcome.clone().into(),
                    case.heat_total.into(),
                    case.reopen_count.into(),
                    (if case.mass_incident { "是" } else { "否" }).into(),
                ],
            ));
        }
        after = page.items.last().map(|c| c.cursor);
        if !page.has_next_page {
            break;
        }
    }
    // The case list pages newest first; the ledger reads oldest first.
    rows.sort_by_key(|(cursor, _)| *cursor);
    Ok(Report {
        sheets: vec![Sheet {
            name: "舆情事项台账".into(),
            headers: vec![
                "事项编号",
                "吹哨时间",
                "平台",
                "标题",
                "链接",
                "等级",
                "重点回应类别",
                "问题类别",
                "牵头单位",
                "转办单位(角色·状态)",
                "状态",
                "办结时间",
                "办结情况",
                "热度",
                "重新开启次数",
                "群体性事件",
            ],
            rows: rows.into_iter().map(|(_, row)| row).collect(),
        }],
    })
}
