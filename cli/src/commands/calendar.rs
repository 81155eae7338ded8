//! `whistle calendar`: China's working-day calendar (statutory holidays and make-up
//! working days), with any year files given by `--calendar` loaded over the compiled
//! years.

use clap::Subcommand;

use crate::args::CalendarArgs;

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// Print the date N working days after DATE (YYYY-MM-DD), not counting DATE itself.
    AddWorkingDays {
        date: chrono::NaiveDate,
        days: u32,
        #[command(flatten)]
        calendar: CalendarArgs,
    },
    /// Check holiday-cn year files (a file or a folder) and list the years the calendar
    /// then knows: what `serve --calendar` would load.
    Check {
        #[command(flatten)]
        calendar: CalendarArgs,
    },
}

pub fn run(command: CalendarCommand) -> anyhow::Result<()> {
    match command {
        CalendarCommand::AddWorkingDays {
            date,
            days,
            calendar,
        } => {
            println!("{}", calendar.load()?.add_working_days(date, days)?);
            Ok(())
        }
        CalendarCommand::Check { calendar } => {
            let loaded = calendar.load()?;
            let years = loaded.known_years();
            println!(
                "the calendar knows {} years: {}-{}",
                years.len(),
                years.first().copied().unwrap_or_default(),
                years.last().copied().unwrap_or_default()
            );
            if let Some(warning) =
                whistle_app::calendar_files::next_year_warning(&loaded, chrono::Utc::now())
            {
                eprintln!("warning: {warning}");
            }
            Ok(())
        }
    }
}
