//! The weekly bulletin (周通报) as Markdown: the week's numbers, the top problem classes,
//! and the units that were late or passed the buck.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sqlx::AnyPool;
use whistle_domain::Vocabulary;
use whistle_domain::calendar::start_of_shanghai_day;
use whistle_projections::queries as q;

use crate::ExportError;
use crate::sheet::shanghai_time;

/// Parse an ISO week `YYYY-Www` into its Monday.
pub fn parse_iso_week(raw: &str) -> Result<NaiveDate, ExportError> {
    let bad = || ExportError::Input(format!("`{raw}` is not an ISO week like 2026-W12"));
    let (year, week) = raw.split_once("-W").ok_or_else(bad)?;
    let year: i32 = year.parse().map_err(|_| bad())?;
    let week: u32 = week.parse().map_err(|_| bad())?;
    NaiveDate::from_isoywd_opt(year, week, chrono::Weekday::Mon).ok_or_else(bad)
}

/// The weekly bulletin (周通报) for the ISO week starting `monday`, as Markdown.
pub async fn weekly_bulletin(
    pool: &AnyPool,
    monday: NaiveDate,
    as_of: DateTime<Utc>,
) -> Result<String, ExportError> {
    let next_monday = monday + Duration::days(7);
    let from = start_of_shanghai_day(monday);
    let to = start_of_shanghai_day(next_monday);
    let week = q::dashboard(pool, as_of.min(to), Some(from), Some(to)).await?;
    let cards = q::scorecards(pool, monday, next_monday, as_of, None).await?;
    let iso = monday.iso_week();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# 网络舆情处置周通报({}年第{}周)",
        iso.year(),
        iso.week()
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "统计时间:{} 至 {}(北京时间),数据截至 {}。",
        monday,
        next_monday - Duration::days(1),
        shanghai_time(as_of)
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "## 一、总体情况");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "本周吹哨 {} 件,目前仍在办理 {} 件。",
        week.total_cases, week.open_cases
    );
    let levels: Vec<String> = week
        .by_level
        .iter()
        .map(|c| {
            format!(
                "{} {} 件",
                whistle_domain::Level::parse_key(&c.key)
                    .map(|l| l.label_zh())
                    .unwrap_or("未研判"),
                c.count
            )
        })
        .collect();
    if !levels.is_empty() {
        let _ = writeln!(out, "按等级:{}。", levels.join(","));
    }
    let counted: i64 = cards.iter().map(|c| c.counted_assignments).sum();
    let fed_back: i64 = cards.iter().map(|c| c.with_feedback).sum();
    let on_time: i64 = cards.iter().map(|c| c.on_time_feedback).sum();
    let completed: i64 = cards.iter().map(|c| c.completed).sum();
    let percent = |part: i64| {
        if counted == 0 {
            "—".to_owned()
        } else {
            format!("{:.1}%", part as f64 * 100.0 / counted as f64)
        }
    };
    let _ = writeln!(
        out,
        "本周转办 {counted} 件次,反馈率 {},按时反馈率 {},办结率 {}。",
        percent(fed_back),
        percent(on_time),
        percent(completed)
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "## 二、突出问题类别");
    let _ = writeln!(out);
    if week.by_problem_class.is_empty() {
        let _ = writeln!(out, "本周无。");
    }
    for (index, class) in week.by_problem_class.iter().take(5).enumerate() {
        let _ = writeln!(out, "{}. {}:{} 件", index + 1, class.key, class.count);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "## 三、超期与推诿单位");
    let _ = writeln!(out);
    let mut flagged: Vec<&q::Scorecard> = cards
        .iter()
        .filter(|c| c.overdue_count + c.buck_passing_count > 0)
        .collect();
    flagged.sort_by(|a, b| {
        (b.overdue_count, b.buck_passing_count)
            .cmp(&(a.overdue_count, a.buck_passing_count))
            .then(a.unit_id.cmp(&b.unit_id))
    });
    if flagged.is_empty() {
        let _ = writeln!(out, "本周无超期、推诿情况。");
    } else {
        let _ = writeln!(out, "| 单位 | 超期次数 | 推诿次数 | 被催办次数 |");
        let _ = writeln!(out, "|---|---:|---:|---:|");
        for card in flagged {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                card.unit_name, card.overdue_count, card.buck_passing_count, card.urging_count
            );
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "(本通报由 Whistle 根据事件记录自动生成,每项数字可在系统中追溯至具体事项与操作记录。)"
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_weeks_parse_to_their_monday() {
        assert_eq!(
            parse_iso_week("2026-W01").unwrap(),
            NaiveDate::from_ymd_opt(2025, 12, 29).unwrap()
        );
        assert_eq!(
            parse_iso_week("2026-W12").unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, 16).unwrap()
        );
        assert!(parse_iso_week("2026-12").is_err());
        assert!(parse_iso_week("2026-W60").is_err());
    }
}
