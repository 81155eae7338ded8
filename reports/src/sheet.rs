//! A report as tables: sheets of cells, written as UTF-8 CSV with a byte-order mark (the
//! first sheet) or as an XLSX workbook (every sheet).
//!
//! In XLSX, rates keep their full value and show as percentages (`69.2%`), hours show
//! with one decimal, and each column is as wide as its widest cell *as displayed*: a
//! Chinese character takes two columns of width, a digit one (rust_xlsxwriter's
//! `autofit` counts every character as one, which left Chinese columns half as wide as
//! their text in WPS, Excel and LibreOffice). Sheets print landscape, one page wide,
//! with the header row repeated.

use chrono::{DateTime, Utc};
use rust_xlsxwriter::{Format, Workbook};
use unicode_width::UnicodeWidthStr;
use whistle_domain::calendar::shanghai;

use crate::ExportError;

/// The file formats of tabular reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

impl std::str::FromStr for ExportFormat {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        match raw {
            "csv" => Ok(ExportFormat::Csv),
            "xlsx" => Ok(ExportFormat::Xlsx),
            other => Err(format!(
                "`{other}` is not a report format: choose csv or xlsx"
            )),
        }
    }
}

/// A cell of a report.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
    /// A rate (0.875 = 87.5%): a percentage with one decimal in XLSX.
    Rate(f64),
    /// Hours: one decimal in XLSX.
    Hours(f64),
    Empty,
}

impl Cell {
    /// A rate, or an empty cell when there is none (nothing was counted).
    pub fn rate(value: Option<f64>) -> Self {
        value.map(Cell::Rate).unwrap_or(Cell::Empty)
    }

    /// Hours, or an empty cell.
    pub fn hours(value: Option<f64>) -> Self {
        value.map(Cell::Hours).unwrap_or(Cell::Empty)
    }

    /// How the cell shows in a spreadsheet, for sizing its column.
    fn displayed(&self) -> String {
        match self {
            Cell::Text(text) => text.clone(),
            Cell::Number(n) => format_number(*n),
            Cell::Rate(r) => format!("{:.1}%", r * 100.0),
            Cell::Hours(h) => format!("{h:.1}"),
            Cell::Empty => String::new(),
        }
    }
}

/// The widest a column gets (in character widths); longer text shows cut at the column's
/// edge (the cell keeps all of it).
const MAX_COLUMN_WIDTH: usize = 60;

/// A column's width in character widths: its widest cell as displayed (a CJK character
/// counts two, as spreadsheet programs draw it), a margin of two, at most
/// [`MAX_COLUMN_WIDTH`].
fn column_width<'a>(displayed: impl Iterator<Item = &'a str>) -> f64 {
    let widest = displayed.map(UnicodeWidthStr::width).max().unwrap_or(0);
    (widest + 2).min(MAX_COLUMN_WIDTH) as f64
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
                Cell::Number(n) | Cell::Rate(n) | Cell::Hours(n) => format_number(*n),
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
        let percent = Format::new().set_num_format("0.0%");
        let one_decimal = Format::new().set_num_format("0.0");
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
                        Cell::Rate(r) => {
                            worksheet.write_number_with_format(
                                row_number,
                                column as u16,
                                *r,
                                &percent,
                            )?;
                        }
                        Cell::Hours(h) => {
                            worksheet.write_number_with_format(
                                row_number,
                                column as u16,
                                *h,
                                &one_decimal,
                            )?;
                        }
                        Cell::Empty => {}
                    }
                }
            }
            worksheet.set_freeze_panes(1, 0)?;
            // Printed (or saved as PDF) landscape, every column on the page's width, the
            // header row on every page.
            worksheet.set_landscape();
            worksheet.set_print_fit_to_pages(1, 0);
            worksheet.set_repeat_rows(0, 0)?;
            for (column, header) in sheet.headers.iter().enumerate() {
                let cells: Vec<String> = sheet
                    .rows
                    .iter()
                    .filter_map(|row| row.get(column))
                    .map(Cell::displayed)
                    .collect();
                let width =
                    column_width(std::iter::once(*header).chain(cells.iter().map(String::as_str)));
                worksheet.set_column_width(column as u16, width)?;
            }
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

pub(crate) fn shanghai_time(instant: DateTime<Utc>) -> String {
    instant
        .with_timezone(&shanghai())
        .format("%Y-%m-%d %H:%M")
        .to_string()
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
    fn columns_are_as_wide_as_their_text_displayed() {
        // A CJK character is two columns wide; `转办数` needs 6 and a margin.
        assert_eq!(column_width(["转办数"].into_iter()), 8.0);
        assert_eq!(column_width(["等级", "重大"].into_iter()), 6.0);
        assert_eq!(column_width(["得分", "100"].into_iter()), 6.0);
        let long = "很".repeat(100);
        assert_eq!(column_width([long.as_str()].into_iter()), 60.0);
        assert_eq!(Cell::Rate(0.6923076923076923).displayed(), "69.2%");
        assert_eq!(Cell::Hours(25.999166666666667).displayed(), "26.0");
    }

    #[test]
    fn xlsx_is_a_zip_workbook() {
        let xlsx = sample().to_xlsx().unwrap();
        assert!(xlsx.starts_with(b"PK"), "an XLSX file is a zip archive");
        assert!(xlsx.len() > 1000);
    }
}
