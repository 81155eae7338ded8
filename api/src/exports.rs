//! Reports for evaluators and leaders: scorecards, the annual assessment and the case
//! ledger (台账) as CSV or XLSX, and the weekly bulletin (周通报) as Markdown. Each report
//! is built once as tables and written in the format asked for.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rust_xlsxwriter::{Format, Workbook};
use sqlx::AnyPool;
use thiserror::Error;
use whistle_domain::Vocabulary;
use whistle_domain::calendar::{shanghai, start_of_shanghai_day};
use whistle_domain::rules::AssessmentRules;
use whistle_projections::ProjectionError;
use whistle_projections::queries::{self as q, CaseFilter, CaseScope};

#[derive(Debug, Error)]
pub enum ExportError {
    #[error(transparent)]
    ReadModels(#[from] ProjectionError),
    #[error("writing CSV failed: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing XLSX failed: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("{0}")]
    Input(String),
}

/// The file formats of tabular reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

/// A cell of a report.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_owned())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}
impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Number(n as f64)
    }
}
impl From<Option<f64>> for Cell {
    fn from(n: Option<f64>) -> Self {
        n.map(Cell::Number).unwrap_or(Cell::Empty)
    }
}
impl From<Option<String>> for Cell {
    fn from(s: Option<String>) -> Self {
        s.map(Cell::Text).unwrap_or(Cell::Empty)
    }
}

/// One sheet of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    pub name: String,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

/// A report: its first sheet is what CSV carries; XLSX carries every sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub sheets: Vec<Sheet>,
}

impl Report {
    pub fn write(&self, format: ExportFormat) -> Result<Vec<u8>, ExportError> {
        match format {
            ExportFormat::Csv => self.to_csv(),
            ExportFormat::Xlsx => self.to_xlsx(),
        }
    }

    /// UTF-8 CSV with a byte-order mark, so spreadsheet programs read the Chinese right.
    pub fn to_csv(&self) -> Result<Vec<u8>, ExportError> {
        let sheet = self
            .sheets
            .first()
            .ok_or_else(|| ExportError::Input("empty report".into()))?;
        let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
        writer.write_record(&sheet.headers)?;
        for row in &sheet.rows {
            writer.write_record(row.iter().map(|cell| match cell {
                Cell::Text(text) => text.clone(),
                Cell::Number(n) => format_number(*n),
                Cell::Empty => String::new(),
            }))?;
        }
        writer
            .into_inner()
            .map_err(|e| ExportError::Input(e.to_string()))
    }

    pub fn to_xlsx(&self) -> Result<Vec<u8>, ExportError> {
        let mut workbook = Workbook::new();
        let bold = Format::new().set_bold();
        for sheet in &self.sheets {
            let worksheet = workbook.add_worksheet();
            worksheet.set_name(&sheet.name)?;
            for (column, header) in sheet.headers.iter().enumerate() {
                worksheet.write_string_with_format(0, column as u16, *header, &bold)?;
            }
            for (index, row) in sheet.rows.iter().enumerate() {
                let row_number = index as u32 + 1;
                for (column, cell) in row.iter().enumerate() {
                    match cell {
                        Cell::Text(text) => {
                            worksheet.write_string(row_number, column as u16, text)?;
                        }
                        Cell::Number(n) => {
                            worksheet.write_number(row_number, column as u16, *n)?;
                        }
                        Cell::Empty => {}
                    }
                }
            }
            worksheet.set_freeze_panes(1, 0)?;
            worksheet.autofit();
        }
        Ok(workbook.save_to_buffer()?)
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n:.4}")
    }
}

fn shanghai_time(instant: DateTime<Utc>) -> String {
    instant
        .with_timezone(&shanghai())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

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
                c.feedback_rate.into(),
                c.on_time_rate.into(),
                c.completion_rate.into(),
                c.first_response_median_hours.into(),
                c.first_response_mean_hours.into(),
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

/// The annual assessment: a summary sheet and a sheet with every deduction and addition.
pub async fn assessment(
    pool: &AnyPool,
    year: i32,
    as_of: DateTime<Utc>,
    rules: &AssessmentRules,
) -> Result<Report, ExportError> {
    let assessments = q::annual_assessment(pool, year, as_of, rules).await?;
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
        let page = q::list_cases(pool, &CaseScope::All, &filter, 200, after).await?;
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

    fn sample() -> Report {
        Report {
            sheets: vec![Sheet {
                name: "测试".into(),
                headers: vec!["单位", "得分", "反馈率"],
                rows: vec![
                    vec!["市住建局".into(), 93i64.into(), Some(0.875f64).into()],
                    vec![
                        "市交通局,北区".into(),
                        Cell::Empty,
                        Option::<f64>::None.into(),
                    ],
                ],
            }],
        }
    }

    #[test]
    fn csv_has_a_bom_quotes_commas_and_keeps_chinese() {
        let csv = sample().to_csv().unwrap();
        assert!(csv.starts_with(b"\xEF\xBB\xBF"));
        let text = String::from_utf8(csv[3..].to_vec()).unwrap();
        assert_eq!(
            text,
            "单位,得分,反馈率\n市住建局,93,0.8750\n\"市交通局,北区\",,\n"
        );
    }

    #[test]
    fn xlsx_is_a_zip_workbook() {
        let xlsx = sample().to_xlsx().unwrap();
        assert!(xlsx.starts_with(b"PK"), "an XLSX file is a zip archive");
        assert!(xlsx.len() > 1000);
    }

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
