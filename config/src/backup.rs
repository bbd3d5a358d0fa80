//! `[backup]`: where the supervisor writes backups and how often it makes them and tests them.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Ctx, Problem};
use crate::ConfigError;

/// `[backup]`. Without `dir`, the supervisor makes no backups (the CLI's `vigil backup --out`
/// still works).
///
/// ```toml
/// [backup]
/// dir = "/media/usb/vigil-backup"   # a backup root; never inside station.data_dir
/// every = "1d"                      # a new increment this often (needs dir)
/// test_every = "7d"                 # a recovery test of the latest backup this often
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackupConfig {
    /// The backup root (`vigil-backup.json` and the increments); `None` = no scheduled
    /// backups, and `vigil backup --test` then needs `--from`.
    pub dir: Option<PathBuf>,
    /// How often the supervisor makes an increment (1 s to 366 d); `None` = never.
    pub every: Option<Duration>,
    /// How often the supervisor runs a recovery test (1 s to 366 d); `None` = never.
    pub test_every: Option<Duration>,
}

/// `[backup]` as written, with spans.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawBackup {
    dir: Option<Spanned<String>>,
    #[serde(deserialize_with = "crate::duration::de_opt_in::<_, 1000, 31_622_400_000>")]
    every: Option<Duration>,
    #[serde(deserialize_with = "crate::duration::de_opt_in::<_, 1000, 31_622_400_000>")]
    test_every: Option<Duration>,
}

/// `path` made absolute (against the working directory) with `.` and `..` resolved lexically,
/// so that two spellings of a directory compare equal without the directories existing.
fn lexical_abs(path: &Path) -> PathBuf {
    let base = if path.is_absolute() {
        PathBuf::new()
    } else {
        std::env::current_dir().unwrap_or_default()
    };
    let mut out = PathBuf::new();
    for c in base.join(path).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

impl RawBackup {
    /// Check: `every`/`test_every` need `dir`; `dir` is not empty and neither the data dir, inside
    /// it, nor holding it.
    pub(crate) fn validate(self, ctx: &Ctx, data_dir: &Path) -> Result<BackupConfig, ConfigError> {
        let dir = match &self.dir {
            None => None,
            Some(d) if d.get_ref().is_empty() => {
                return Err(ctx.invalid(
                    Some(&d.span()),
                    Problem::Backup("backup.dir is empty; name a directory".into()),
                ))
            }
            Some(d) => {
                let dir = PathBuf::from(d.get_ref());
                let (b, data) = (lexical_abs(&dir), lexical_abs(data_dir));
                if b.starts_with(&data) || data.starts_with(&b) {
                    return Err(ctx.invalid(
                        Some(&d.span()),
                        Problem::Backup(format!(
                            "backup.dir \"{}\" is inside (or holds) station.data_dir \"{}\": a \
                             backup must survive the loss of the data directory; put it on \
                             another disk or directory",
                            dir.display(),
                            data_dir.display()
                        )),
                    ));
                }
                Some(dir)
            }
        };
        if dir.is_none() && (self.every.is_some() || self.test_every.is_some()) {
            let key = if self.every.is_some() {
                "backup.every"
            } else {
                "backup.test_every"
            };
            return Err(ctx.invalid(
                None,
                Problem::Backup(format!(
                    "{key} is set but backup.dir is not: name the backup root"
                )),
            ));
        }
        Ok(BackupConfig {
            dir,
            every: self.every,
            test_every: self.test_every,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;
    use std::time::Duration;

    #[test]
    fn a_backup_section_parses_and_is_checked_against_the_data_dir() {
        let c = Config::parse(
            "[station]\ndata_dir = \"/srv/vigil\"\n[backup]\ndir = \"/mnt/usb/bk\"\nevery = \"1d\"\ntest_every = \"7d\"\n",
            "t.toml",
        )
        .expect("valid");
        assert_eq!(c.backup.every, Some(Duration::from_secs(86_400)));
        assert_eq!(c.backup.test_every, Some(Duration::from_secs(7 * 86_400)));
        let inside = Config::parse(
            "[station]\ndata_dir = \"/srv/vigil\"\n[backup]\ndir = \"/srv/vigil/../vigil/bk\"\n",
            "t.toml",
        )
        .expect_err("inside the data dir");
        let text = inside.to_string();
        assert!(text.starts_with("t.toml:4:"), "{text}");
        assert!(text.contains("inside"), "{text}");
        let no_dir = Config::parse("[backup]\nevery = \"1h\"\n", "t.toml").expect_err("no dir");
        assert!(no_dir.to_string().contains("backup.dir"), "{no_dir}");
        let bad = Config::parse("[backup]\ndir = \"/b\"\nevery = \"soon\"\n", "t.toml")
            .expect_err("bad duration");
        assert!(bad.to_string().contains("t.toml:3:"), "{bad}");
    }
}
