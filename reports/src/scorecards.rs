//! Unit scorecards for a period: the measures of docs/domain/measures.md, one row per
//! unit.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::AnyPool;
use whistle_projections::queries as q;

use crate::ExportError;
use crate::sheet::{Cell, Report, Sheet};

/// Unit scorecards for [from, to), as of `as_of`.
pub async fn scorecards(
    pool: &AnyPool,
    from: NaiveDate,
    to: NaiveDate,
    as_of: DateTime<Utc>,
) -> Result<Report, ExportError> {
    if to <= from {
        return Err(ExportError::Input(format!(
            "the period [{from}, {to}) is empty"
        )));
    }
    let cards = q::scorecards(pool, from, to, as_of, None).await?;
    let rows = cards
        .into_iter()
        .map(|c| {
            vec![
                c.unit_id.into(),
                c.unit_name.into(),
                c.period_from.to_string().into(),
                c.period_to.to_string().into(),
                c.counted_assignments.into(),
                c.with_feedback.into(),
                c.on_time_feedback.into(),
                c.completed.into(),
                Cell::rate(c.feedback_rate),
                Cell::rate(c.on_time_rate),
                Cell::rate(c.completion_rate),
                Cell::hours(c.first_response_median_hours),
                Cell::hours(c.first_response_mean_hours),
                c.overdue_count.into(),
                c.buck_passing_count.into(),
                c.urging_count.into(),
            ]
        })
        .collect();
    Ok(Report {
        sheets: vec![Sheet {
            name: "单位考核统计".into(),
            headers: vec![
                "单位代码",
                "单位名称",
                "统计起",
                "统计止(不含)",
                "转办数",
                "已反馈",
                "按时反馈",
                "已办结",
                "反馈率",
                "按时反馈率",
                "办结率",
                "首次响应中位数(小时)",
                "首次响应平均(小时)",
                "超期次数",
                "推诿次数",
                "催办次数",
            ],
            rows,
        }],
    })
}
