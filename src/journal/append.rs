//! Writing the log: open (the folder and file made, the path checked), and append one line under
//! an exclusive lock: lock, read the last line to chain from (seeking from the end), write the
//! line whole, flush and sync, unlock. Two processes appending at once take turns.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::{Entry, Event, GENESIS, MAX_LINE_BYTES, now_rfc3339, sha256_hex};
use crate::error::{ErrorKind, PimError, Result};

/// How long an append (or a read) waits for another process's lock before giving up.
pub(crate) const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// A decision log, open for appending. Cheap: each append opens the file anew, so a log moved
/// aside between appends is started afresh at its path, and no handle is held between appends.
#[derive(Clone, Debug)]
pub struct DecisionLog {
    path: PathBuf,
}

fn write_failed(path: &Path, what: impl std::fmt::Display) -> PimError {
    PimError::new(
        ErrorKind::LogWriteFailed,
        format!("The decision log '{}' cannot be written: {what}.", path.display()),
    )
}

/// Why an open failed, in words.
fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => "permission denied (read-only, or not yours)".into(),
        io::ErrorKind::ReadOnlyFilesystem => "the file system is read-only".into(),
        io::ErrorKind::IsADirectory => "it is a folder".into(),
        io::ErrorKind::StorageFull => "the disk is full".into(),
        _ => e.to_string(),
    }
}

impl DecisionLog {
    /// Opens the log at `path` for appending, making its folder and the file when missing. A
    /// folder, a read-only file or an unwritable place gives `LogWriteFailed`, before anything
    /// is decided.
    pub fn open(path: impl Into<PathBuf>) -> Result<DecisionLog> {
        let path = path.into();
        if path.is_dir() {
            return Err(write_failed(&path, "it is a folder; give the path of a file, such as decisions.jsonl in it"));
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| write_failed(&path, format!("its folder cannot be made ({})", io_reason(&e))))?;
        }
        if std::fs::metadata(&path).is_ok_and(|m| m.permissions().readonly()) {
            return Err(write_failed(&path, "the file is read-only"));
        }
        let log = DecisionLog { path };
        log.open_file()?;
        Ok(log)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_file(&self) -> Result<File> {
        OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(|e| write_failed(&self.path, io_reason(&e)))
    }

    /// Appends one event, chained to the last line, and returns the line as written. Fails with
    /// `LogWriteFailed` when the line could not be written whole (nothing is left half-written
    /// when the file can be cut back), `LogTampered` when the last line is torn or not a log line
    /// (nothing is appended after it), `InvalidInput` for an event that is not one.
    pub fn append(&self, event: &Event) -> Result<Entry> {
        let mut entries = self.append_many(std::slice::from_ref(event))?;
        Ok(entries.remove(0))
    }

    /// Appends several events, in order, each chained to the one before, under one lock and with
    /// one sync: all of them or none (every event is checked before anything is written, and a
    /// write that fails is cut back). Returns the lines as written. Fails as [`Self::append`];
    /// no events is `InvalidInput`.
    pub fn append_many(&self, events: &[Event]) -> Result<Vec<Entry>> {
        if events.is_empty() {
            return Err(PimError::new(ErrorKind::InvalidInput, "No event was given to append."));
        }
        let mut entries = events.iter().map(Entry::from_event).collect::<Result<Vec<_>>>()?;
        let mut file = lock(self.open_file()?, &self.path, true)?;
        let (mut prev, mut seq) = last_line(&mut file, &self.path)?;
        let time = now_rfc3339();
        let mut bytes = Vec::new();
        for entry in &mut entries {
            seq += 1;
            entry.seq = seq;
            entry.time = time.clone();
            entry.prev = prev;
            let line = serde_json::to_vec(&*entry).map_err(|e| write_failed(&self.path, e))?;
            if line.len() > MAX_LINE_BYTES {
                return Err(PimError::new(
                    ErrorKind::InvalidInput,
                    format!("The event is {} bytes as a line; at most {MAX_LINE_BYTES} are written.", line.len()),
                ));
            }
            prev = sha256_hex(&line);
            bytes.extend_from_slice(&line);
            bytes.push(b'\n');
        }
        let start = file.seek(SeekFrom::End(0)).map_err(|e| write_failed(&self.path, e))?;
        if let Err(e) = file.write_all(&bytes).and_then(|()| file.sync_data()) {
            // Cut back what may have been written, so the log does not end torn.
            let _ = file.set_len(start).and_then(|()| file.sync_data());
            return Err(write_failed(&self.path, io_reason(&e)));
        }
        // The lock is released when the file is closed, here.
        Ok(entries)
    }
}

/// Takes the lock (exclusive or shared) and hands the file back holding it. When another
/// process holds it, waits in the kernel's queue (fair, unlike polling) on a helper thread, for
/// at most [`LOCK_TIMEOUT`]; if that passes, the helper keeps waiting and releases the lock as
/// soon as it gets it.
pub(crate) fn lock(file: File, path: &Path, exclusive: bool) -> Result<File> {
    let kind = if exclusive { ErrorKind::LogWriteFailed } else { ErrorKind::LogReadFailed };
    let failed =
        |e: io::Error| PimError::new(kind, format!("The decision log '{}' cannot be locked: {e}.", path.display()));
    match if exclusive { file.try_lock() } else { file.try_lock_shared() } {
        Ok(()) => return Ok(file),
        Err(TryLockError::WouldBlock) => {}
        Err(TryLockError::Error(e)) => return Err(failed(e)),
    }
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("pim-log-lock".into())
        .spawn(move || {
            let locked = if exclusive { file.lock() } else { file.lock_shared() };
            // If the caller gave up, this send fails and the file (and its lock) is dropped.
            let _ = tx.send(locked.map(|()| file));
        })
        .map_err(failed)?;
    match rx.recv_timeout(LOCK_TIMEOUT) {
        Ok(Ok(file)) => Ok(file),
        Ok(Err(e)) => Err(failed(e)),
        Err(_) => Err(PimError::new(
            kind,
            format!(
                "The decision log '{}' stayed locked by another process for {} seconds.",
                path.display(),
                LOCK_TIMEOUT.as_secs()
            ),
        )),
    }
}

fn tampered(path: &Path, what: &str) -> PimError {
    PimError::new(
        ErrorKind::LogTampered,
        format!(
            "The decision log '{}' {what}, so nothing more is appended to it. Check it with \
             Test-PimDecisionLog; to go on, move it aside (keep it as evidence) and a new log starts.",
            path.display()
        ),
    )
}

/// The hash to chain from and the last line's `seq`: ([`GENESIS`], 0) for an empty log. Reads
/// backwards from the end in blocks, so a long log costs no more than a short one.
fn last_line(file: &mut File, path: &Path) -> Result<(String, u64)> {
    let io_err = |e: io::Error| write_failed(path, io_reason(&e));
    let len = file.seek(SeekFrom::End(0)).map_err(io_err)?;
    if len == 0 {
        return Ok((GENESIS.to_string(), 0));
    }
    let mut tail = Vec::new();
    let mut pos = len;
    let start = loop {
        let step = pos.min(4096);
        pos -= step;
        let mut block = vec![0; step as usize];
        file.seek(SeekFrom::Start(pos)).map_err(io_err)?;
        file.read_exact(&mut block).map_err(io_err)?;
        block.extend_from_slice(&tail);
        tail = block;
        if tail.last() != Some(&b'\n') {
            return Err(tampered(path, "ends in a torn line (a write that did not finish)"));
        }
        if let Some(i) = tail[..tail.len() - 1].iter().rposition(|b| *b == b'\n') {
            break i + 1;
        }
        if pos == 0 {
            break 0;
        }
        if tail.len() > 2 * MAX_LINE_BYTES {
            return Err(tampered(path, "ends in a line far longer than any it writes"));
        }
    };
    let line = &tail[start..tail.len() - 1];
    #[derive(serde::Deserialize)]
    struct Seq {
        seq: u64,
        prev: String,
    }
    match serde_json::from_slice::<Seq>(line) {
        Ok(last) if last.prev.len() == GENESIS.len() => Ok((sha256_hex(line), last.seq)),
        _ => Err(tampered(path, "ends in a line that is not a decision log line")),
    }
}
