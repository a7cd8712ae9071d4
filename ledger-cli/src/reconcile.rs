//! `mfund reconcile`: read the files (or the database), fold the journal, compare, report.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use ledger_core::interchange::{self, InputError, Located, StatementLine, UnitBalance};
use ledger_core::recon::scan::JournalFolder;
use ledger_core::recon::{self, BankFiles, CityIndex, JournalFacts, Report};

use crate::args::ReconcileArgs;
use crate::files::{read_optional, ReadError};
use crate::{progress, Outcome};

/// Bytes of journal read and scanned at a time: bounds memory whatever the file's size.
const BLOCK_BYTES: usize = 64 << 20;
/// Pieces per block per thread, so a slow piece does not leave a core idle.
const PIECES_PER_THREAD: usize = 2;

/// Phase timings for `--timings`, printed on stderr as the phases end.
struct Phases {
    enabled: bool,
    start: std::time::Instant,
}

impl Phases {
    fn done(&self, phase: &str) {
        if self.enabled {
            eprintln!("{phase:>18}: {:6.2} s", self.start.elapsed().as_secs_f64());
        }
    }
}

/// The bank's two files, parsed.
struct BankInput {
    unit_balances: Option<Vec<Located<UnitBalance>>>,
    statement: Option<Vec<Located<StatementLine>>>,
}

pub async fn run(db: &str, args: ReconcileArgs, json: bool) -> anyhow::Result<Outcome> {
    if let Some(report) = &args.report {
        // A report left from an earlier run must not pass for this one's if this one fails.
        match std::fs::remove_file(report) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("cannot replace {}", report.display()))
            }
            _ => {}
        }
    }
    let phases = Phases { enabled: args.timings, start: std::time::Instant::now() };
    let report = report_for(db, &args, &phases).await?;
    if let Some(path) = &args.report {
        write_atomically(path, &serde_json::to_vec_pretty(&report)?)?;
    }
    phases.done("report written");
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_summary(&report, args.report.as_deref());
    }
    Ok(if report.summary.discrepancies > 0 { Outcome::Discrepancies } else { Outcome::Clean })
}

/// The report for the files of `args.dir`, or for the database when there is none.
async fn report_for(db: &str, args: &ReconcileArgs, phases: &Phases) -> anyhow::Result<Report> {
    match &args.dir {
        Some(dir) => reconcile_dir(dir, args, phases),
        None => reconcile_db(db, args, phases).await,
    }
}

/// Reconciles without phase timings, for the demo.
pub async fn quiet_report(db: &str, args: &ReconcileArgs) -> anyhow::Result<Report> {
    report_for(db, args, &Phases { enabled: false, start: std::time::Instant::now() }).await
}

fn bank_path(explicit: &Option<PathBuf>, dir: Option<&Path>, name: &str) -> Option<PathBuf> {
    explicit.clone().or_else(|| dir.map(|d| d.join(name)))
}

fn read_bank(args: &ReconcileArgs, dir: Option<&Path>) -> Result<BankInput, ReadError> {
    let read = |path: Option<PathBuf>, required: bool| -> Result<Option<Vec<u8>>, ReadError> {
        let Some(path) = path else { return Ok(None) };
        let (folder, name) = (
            path.parent().unwrap_or(Path::new(".")),
            path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        );
        match read_optional(folder, &name)? {
            None if required => Err(ReadError::Io(anyhow::anyhow!("cannot read {}: no such file", path.display()))),
            other => Ok(other),
        }
    };
    // An error names the file as given (`--statement c/bank-dec.csv`), not the SPEC's default name.
    let named = |path: &Option<PathBuf>| {
        let shown = path.as_ref().map(|p| p.display().to_string());
        move |mut error: InputError| {
            if let Some(shown) = &shown {
                error.file.clone_from(shown);
            }
            error
        }
    };
    let balances =
        read(bank_path(&args.unit_balances, dir, interchange::UNIT_BALANCES_FILE), args.unit_balances.is_some())?;
    let statement = read(bank_path(&args.statement, dir, interchange::STATEMENT_FILE), args.statement.is_some())?;
    Ok(BankInput {
        unit_balances: balances
            .map(|b| interchange::read_unit_balances(&b).map_err(named(&args.unit_balances)))
            .transpose()?,
        statement: statement.map(|b| interchange::read_statement(&b).map_err(named(&args.statement))).transpose()?,
    })
}

fn reconcile_dir(dir: &Path, args: &ReconcileArgs, phases: &Phases) -> anyhow::Result<Report> {
    // Only the bank's two files are optional: without the registry every unit would look unknown.
    let required =
        [interchange::ESTATES_FILE, interchange::BUILDINGS_FILE, interchange::UNITS_FILE, interchange::JOURNAL_FILE];
    if let Some(missing) = required.iter().find(|name| !dir.join(name).is_file()) {
        anyhow::bail!(
            "cannot read {}: no such file (reconciling needs {})",
            dir.join(missing).display(),
            required.join(", ")
        );
    }
    let spinner = progress::spinner("reading registry");
    let registry = crate::files::read_city_registry(dir)?;
    let city = CityIndex::build(&registry.estates, &registry.buildings, &registry.units).map_err(ReadError::Form)?;
    drop(registry);
    spinner.finish_and_clear();
    phases.done("registry read");
    let facts = fold_journal_file(&city, &dir.join(interchange::JOURNAL_FILE))?;
    phases.done("journal folded");
    let spinner = progress::spinner("reading bank files");
    let bank = read_bank(args, Some(dir))?;
    phases.done("bank files read");
    spinner.set_message("reconciling");
    let report = reconcile_all(&city, &facts, &bank)?;
    spinner.finish_and_clear();
    phases.done("reconciled");
    Ok(report)
}

async fn reconcile_db(db: &str, args: &ReconcileArgs, phases: &Phases) -> anyhow::Result<Report> {
    let bank = read_bank(args, None)?;
    phases.done("bank files read");
    let store = ledger_store::Store::connect(db).await?;
    let bar = progress::bar("reading ledger", "entries");
    let loaded = store.reconciliation_facts(args.as_of, &progress::reporter(&bar)).await;
    bar.finish_and_clear();
    let (city, facts) = loaded?;
    phases.done("ledger read");
    let spinner = progress::spinner("reconciling");
    let report = reconcile_all(&city, &facts, &bank)?;
    spinner.finish_and_clear();
    phases.done("reconciled");
    Ok(report)
}

fn reconcile_all(city: &CityIndex, facts: &JournalFacts, bank: &BankInput) -> anyhow::Result<Report> {
    let files = BankFiles { unit_balances: bank.unit_balances.as_deref(), statement: bank.statement.as_deref() };
    Ok(recon::reconcile(city, facts, files, true)?)
}

/// Streams journal.csv through the folder block by block, with a progress bar in bytes.
fn fold_journal_file(city: &CityIndex, path: &Path) -> Result<JournalFacts, ReadError> {
    let io =
        |e: std::io::Error| ReadError::Io(anyhow::Error::new(e).context(format!("cannot read {}", path.display())));
    let mut file = File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let bar = progress::bytes_bar("journal", size);
    let pieces = rayon::current_num_threads() * PIECES_PER_THREAD;
    let mut folder = JournalFolder::new(city, pieces, true);
    let mut buffer: Vec<u8> = Vec::with_capacity(BLOCK_BYTES * 2);
    let mut at_end = false;
    while !at_end {
        let start = buffer.len();
        buffer.resize(start + BLOCK_BYTES, 0);
        let read = read_full(&mut file, &mut buffer[start..]).map_err(io)?;
        buffer.truncate(start + read);
        at_end = read == 0 || (start + read) < start + BLOCK_BYTES;
        let consumed = folder.feed(&buffer, at_end).map_err(ReadError::Form)?;
        buffer.drain(..consumed);
        bar.inc(read as u64);
    }
    bar.finish_and_clear();
    folder.finish().map_err(ReadError::Form)
}

fn read_full(file: &mut File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Writes to a temporary file beside `path`, then renames: a reader never sees half a report.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut temp =
        tempfile::NamedTempFile::new_in(folder).with_context(|| format!("cannot write into {}", folder.display()))?;
    std::io::Write::write_all(&mut temp, bytes)?;
    temp.persist(path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

pub fn print_summary(report: &Report, written_to: Option<&Path>) {
    let s = &report.summary;
    println!(
        "Reconciled {} units in {} buildings of {} estates; {} entries, {} postings read.",
        s.units, s.buildings, s.estates, s.entries, s.postings
    );
    let bank_total = s.unit_bank_total.map_or_else(|| "no bank balances given".to_owned(), |t| t.to_string());
    println!("  unit sub-ledgers: ledger {}, bank {bank_total}", s.unit_ledger_total);
    let control = if s.control_difference.fen() == 0 {
        "balanced".to_owned()
    } else {
        format!("OFF by {}", s.control_difference)
    };
    println!("  special account book balance {}; control check {control}", s.book_bank_balance);
    if let Some(bank) = &report.bank_reconciliation {
        println!(
            "  statement: {} matched; book {} − statement {} = {}",
            bank.matched, bank.book_total, bank.statement_total, bank.difference
        );
    }
    println!("Discrepancies: {}", s.discrepancies);
    for (kind, count) in report.discrepancy_counts() {
        if count > 0 {
            println!("  {count:>8}  {kind}");
        }
    }
    println!(
        "Notices: {} overdrawn units, {} units need a top-up",
        report.overdrawn_units.len(),
        report.topup_required.len()
    );
    let worst = recon::worst_estates(report, 5);
    if !worst.is_empty() {
        println!("Estates with most mismatched units:");
        for e in worst {
            println!("  {:<12} {:>6} of {} units", e.estate_id, e.mismatched_units, e.units);
        }
    }
    if let Some(path) = written_to {
        println!("Report written to {}", path.display());
    }
}
