//! `whistle calendar`: China's working-day calendar (statutory holidays and make-up
//! working days).

use clap::Subcommand;
use whistle_domain::calendar::WorkingDayCalendar;

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// Print the date N working days after DATE (YYYY-MM-DD), not counting DATE itself.
    AddWorkingDays { date: chrono::NaiveDate, days: u32 },
}

pub fn run(command: CalendarCommand) -> anyhow::Result<()> {
    match command {
        CalendarCommand::AddWorkingDays { date, days } => {
            println!(
                "{}",
                WorkingDayCalendar::china().add_working_days(date, days)?
            );
            Ok(())
        }
    }
}
