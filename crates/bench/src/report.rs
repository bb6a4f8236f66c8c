//! What every `mach bench` report records besides its figures: the command to rerun, the build,
//! the machine and the date, and the writer of `docs/benchmarks.md` sections. A leaf module: every
//! benchmark module uses it, it uses none of them.

use anyhow::{Context, Result};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// How to rerun the command with the same build profile.
pub fn cargo_run() -> &'static str {
    if cfg!(debug_assertions) {
        "cargo run -p mach --"
    } else {
        "cargo run --release -p mach --"
    }
}

/// The build profile, for the record.
pub fn build() -> &'static str {
    if cfg!(debug_assertions) {
        "debug (dependencies optimized)"
    } else {
        "release"
    }
}

/// Shows a benchmark's section (on standard output unless `quiet`, when the caller prints JSON
/// instead) and, with `write`, replaces section `id` of that file with it.
pub fn publish(body: &str, id: &str, write: Option<&Path>, quiet: bool) -> Result<()> {
    if !quiet {
        print!("{body}");
    }
    if let Some(path) = write {
        write_section(path, id, body)?;
        eprintln!("updated {}", path.display());
    }
    Ok(())
}

/// Replaces the text between `<!-- bench:ID -->` and `<!-- /bench:ID -->` in `path`, appending
/// the section if it is not there yet, and creating the file if needed.
pub fn write_section(path: &Path, id: &str, body: &str) -> Result<()> {
    let begin = format!("<!-- bench:{id} -->");
    let end = format!("<!-- /bench:{id} -->");
    let current = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "# Benchmarks\n\nFigures measured on real hardware; each section names the command \
             that reproduces it.\n"
                .to_string()
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let section = format!("{begin}\n{body}{end}");
    let updated = match (current.find(&begin), current.find(&end)) {
        (Some(start), Some(stop)) if stop > start => {
            format!(
                "{}{section}{}",
                &current[..start],
                &current[stop + end.len()..]
            )
        }
        _ => format!("{}\n\n{section}\n", current.trim_end()),
    };
    std::fs::write(path, updated).with_context(|| format!("cannot write {}", path.display()))
}

/// CPU model and core count, from /proc/cpuinfo where available.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!(
        "{model}, {cores} cores, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// Today's date (UTC) as YYYY-MM-DD.
pub fn today() -> String {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Proleptic Gregorian date of a count of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_781), (2026, 11, 24));
    }

    #[test]
    fn sections_are_replaced_in_place() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("b.md");
        std::fs::write(
            &path,
            "# B\n\nintro\n\n<!-- bench:other -->\nx\n<!-- /bench:other -->\n",
        )
        .unwrap();
        write_section(&path, "keys", "one\n").unwrap();
        write_section(&path, "keys", "two\n").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("<!-- bench:keys -->\ntwo\n<!-- /bench:keys -->"),
            "{text}"
        );
        assert!(!text.contains("one"));
        assert!(text.contains("<!-- bench:other -->\nx\n<!-- /bench:other -->"));
    }
}
