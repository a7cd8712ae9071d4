//! A year of service-rating files for a generated city: `rating_checks.csv`, `tickets.csv` and
//! `credit_scores.csv` (SPEC §9). Written after, and independently of, the city's other files
//! (their own random stream), so those stay byte-identical; the same seed gives the same files.
//!
//! Estates take turns at five levels of service, so a year gives some five-star estates and some
//! of two stars or fewer; tickets are answered in time about as often as the service is good.

use std::io;
use std::path::Path;

use ledger_core::csvout::CsvOut;
use ledger_core::interchange::read_estates;
use ledger_core::rating::{
    Catalogue, CHECKS_FILE, CHECK_COLUMNS, CREDIT_COLUMNS, CREDIT_FILE, TICKETS_FILE, TICKET_COLUMNS,
};

/// The year rated.
pub const RATING_YEAR: i32 = 2025;
/// Monthly totals, in tenths of a point per indicator, of the five levels of service.
/// The best and the worst come first, so that even a city of two estates shows both.
const LEVELS_TENTHS: [i64; 5] = [48, 24, 43, 32, 38];
/// Mixed into the seed so that the ratings' stream is not the city's.
const STREAM: u64 = 0x5241_5449_4E47;

/// Writes the three files into `dir`, next to its `estates.csv`.
pub fn write_ratings(dir: &Path, seed: u64) -> io::Result<()> {
    let estates = read_estates(&std::fs::read(dir.join("estates.csv"))?)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    let mut rng = fastrand::Rng::with_seed(seed ^ STREAM);
    let catalogue = Catalogue::standard();
    let mut checks = CsvOut::new(std::fs::File::create(dir.join(CHECKS_FILE))?, CHECK_COLUMNS)?;
    let mut tickets = CsvOut::new(std::fs::File::create(dir.join(TICKETS_FILE))?, TICKET_COLUMNS)?;
    let mut ticket_no = 0;
    for (k, estate) in estates.iter().enumerate() {
        let estate = &estate.value;
        let level = LEVELS_TENTHS[k % LEVELS_TENTHS.len()];
        let inspector = format!("{}检查员", ["王", "李", "张", "刘", "陈"][rng.usize(..5)]);
        for month in 1..=12u32 {
            // Now and then a month goes unchecked.
            if rng.u8(..12) == 0 {
                continue;
            }
            let period = format!("{RATING_YEAR}-{month:02}");
            let check_id = format!("RC-{}-{period}", estate.estate_id);
            for indicator in catalogue.indicators() {
                let tenths = (level + rng.i64(-4..=4)).clamp(0, 50);
                let score = format!("{}.{}", tenths / 10, tenths % 10);
                checks.row(&[&check_id, &estate.estate_id, &period, &indicator.indicator_id, &score, &inspector])?;
            }
            for _ in 0..rng.usize(0..4) {
                ticket_no += 1;
                let day = 1 + rng.u32(..28);
                let (hour, minute) = (rng.u32(7..20), rng.u32(..60));
                let on_time = rng.i64(0..50) < level;
                let wait = if on_time { rng.u32(5..=120) } else { rng.u32(121..=1440) };
                let opened = minutes(month, day, hour * 60 + minute);
                let answered = (rng.u8(..20) != 0 || on_time).then(|| minutes(month, day, hour * 60 + minute + wait));
                let closed =
                    answered.as_ref().map(|_| minutes(month, day, hour * 60 + minute + wait + rng.u32(30..600)));
                let kind = if rng.bool() { "repair" } else { "complaint" };
                tickets.row(&[
                    format!("TK{ticket_no:07}"),
                    estate.estate_id.clone(),
                    kind.to_owned(),
                    opened,
                    answered.unwrap_or_default(),
                    closed.unwrap_or_default(),
                ])?;
            }
        }
    }
    checks.finish()?;
    tickets.finish()?;
    let mut companies: Vec<&str> = estates.iter().map(|e| e.value.property_company.as_str()).collect();
    companies.sort_unstable();
    companies.dedup();
    let mut credit = CsvOut::new(std::fs::File::create(dir.join(CREDIT_FILE))?, CREDIT_COLUMNS)?;
    for (k, company) in companies.iter().enumerate() {
        // One company a year has no credit score: its totals are the quarters alone.
        if k == 1 {
            continue;
        }
        let centi = rng.i64(7000..=10000);
        credit.row(&[company.to_string(), RATING_YEAR.to_string(), format!("{}.{:02}", centi / 100, centi % 100)])?;
    }
    credit.finish()?;
    Ok(())
}

/// `YYYY-MM-DDTHH:MM` of a minute of a day of the rating year's month (minutes may run into
/// the following days).
fn minutes(month: u32, day: u32, minute_of_day: u32) -> String {
    let date = ledger_core::Date::from_ymd(RATING_YEAR, month, day).expect("days 1 to 28 exist");
    let date = date.add_days((minute_of_day / 1440) as i32);
    let m = minute_of_day % 1440;
    format!("{date}T{:02}:{:02}", m / 60, m % 60)
}
