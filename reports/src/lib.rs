//! Reports for evaluators and leaders: scorecards, the annual assessment and the case
//! ledger (台账) as CSV or XLSX, and the weekly bulletin (周通报) as Markdown. Each report
//! is read from the read models, built once as tables ([`sheet`]) and written in the
//! format asked for. The command line and the HTTP downloads both call these.

pub mod assessment;
pub mod bulletin;
pub mod ledger;
pub mod scorecards;
pub mod sheet;

use thiserror::Error;
use whistle_projections::ProjectionError;

pub use assessment::assessment;
pub use bulletin::{parse_iso_week, weekly_bulletin};
pub use ledger::ledger;
pub use scorecards::scorecards;
pub use sheet::{Cell, ExportFormat, Report, Sheet};

/// Why a report could not be made.
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
