//! Ingested Aave v3 events on disk: block-range partitions of Parquet tables and the checkpoint
//! that says which partitions are complete.
//!
//! # Layout
//! ```text
//! OUT/
//!   _checkpoint.json                       what is complete, and for which chain and pool
//!   blocks=000000000000-000000009999/      one directory per block range (both ends included)
//!     supply.parquet                       one file per event table with rows in that range
//!     reserve_data_updated.parquet         (see events::TABLES for names and columns)
//!     ...
//! ```
//! A partition directory is written under a hidden temporary name and renamed into place only
//! when every file in it is complete and synced, so a reader never sees half of a partition. The
//! checkpoint is replaced the same way, after the partition it covers. A partition that exists on
//! disk but starts at or after the checkpoint's `next_block` is left over from a run that was
//! stopped between the two renames; [`load`] ignores it and a resumed run writes it again.

use std::{
    fs::{self, File},
    io::Write,
    path::{Path, PathBuf},
};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use super::events::{AaveEvent, Cell, ColumnKind, LogMeta, META_COLUMNS, Record, TABLES};
use crate::error::{Error, Result};

/// File name of the checkpoint inside the output directory.
pub const CHECKPOINT_FILE: &str = "_checkpoint.json";
/// Version of the checkpoint format and of the table layout.
pub const FORMAT_VERSION: u32 = 1;

/// What an ingestion run has completed, and the run's identity (chain, pool, partitioning), so a
/// resumed run can refuse to mix data from another chain or pool into the same directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// [`FORMAT_VERSION`] of the writer.
    pub version: u32,
    /// Chain id of the RPC the data came from.
    pub chain_id: u64,
    /// The Aave v3 Pool (lowercase hex).
    pub pool: String,
    /// First block of the dataset.
    pub from_block: u64,
    /// Partition width in blocks; partitions are aligned to multiples of it.
    pub partition_blocks: u64,
    /// First block not yet ingested: every block in `from_block..next_block` is complete.
    pub next_block: u64,
    /// Hash of block `next_block - 1` when it was ingested (detects a reorg below the checkpoint).
    pub last_block_hash: Option<String>,
    /// Contracts whose logs are fetched, with the block from which each is watched.
    pub contracts: Vec<WatchedContract>,
    /// Static facts about the reserves that are not in any event (token decimals, symbols).
    pub reserves: Vec<ReserveMeta>,
}

/// A contract whose logs the dataset contains.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchedContract {
    /// Address (lowercase hex).
    pub address: String,
    /// `pool`, `pool_configurator`, `aave_oracle`, `price_source`, `aggregator` or `a_token`.
    pub role: String,
    /// First block whose logs from this contract are in the dataset.
    pub since_block: u64,
    /// For an `aggregator`: the price source (Chainlink proxy) it answers for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answers_for: Option<String>,
}

/// Token facts for one reserve.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReserveMeta {
    /// Underlying asset (lowercase hex).
    pub asset: String,
    /// ERC-20 symbol (empty when the token does not answer `symbol()`).
    pub symbol: String,
    /// ERC-20 decimals.
    pub decimals: u8,
}

/// The directory name of the partition covering `start..=end`.
pub fn partition_name(start: u64, end: u64) -> String {
    format!("blocks={start:012}-{end:012}")
}

/// Parses a partition directory name back into its block range.
pub fn parse_partition_name(name: &str) -> Option<(u64, u64)> {
    let (start, end) = name.strip_prefix("blocks=")?.split_once('-')?;
    if start.len() != 12 || end.len() != 12 {
        return None;
    }
    Some((start.parse().ok()?, end.parse().ok()?))
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

/// Syncs a directory so that renames inside it survive a crash.
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_err(dir))
}

/// Reads the checkpoint in `out`, `None` when there is none yet.
///
/// A checkpoint that cannot be parsed is an error naming the file; nothing is changed on disk.
pub fn read_checkpoint(out: &Path) -> Result<Option<Checkpoint>> {
    let path = out.join(CHECKPOINT_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&path)(e)),
    };
    let checkpoint: Checkpoint = serde_json::from_str(&text).map_err(|e| Error::Checkpoint {
        path: path.clone(),
        reason: format!("not a valid checkpoint ({e})"),
    })?;
    if checkpoint.version != FORMAT_VERSION {
        return Err(Error::Checkpoint {
            path,
            reason: format!(
                "format version {} is not supported (this build writes {FORMAT_VERSION})",
                checkpoint.version
            ),
        });
    }
    if checkpoint.next_block < checkpoint.from_block || checkpoint.partition_blocks == 0 {
        return Err(Error::Checkpoint {
            path,
            reason: format!(
                "inconsistent: next_block {} < from_block {} or partition_blocks 0",
                checkpoint.next_block, checkpoint.from_block
            ),
        });
    }
    Ok(Some(checkpoint))
}

/// Replaces the checkpoint atomically (temporary file, sync, rename, sync of the directory).
pub fn write_checkpoint(out: &Path, checkpoint: &Checkpoint) -> Result<()> {
    let path = out.join(CHECKPOINT_FILE);
    let tmp = out.join(format!(".{CHECKPOINT_FILE}.tmp"));
    let mut text = serde_json::to_string_pretty(checkpoint).map_err(|e| Error::Checkpoint {
        path: path.clone(),
        reason: format!("cannot serialise: {e}"),
    })?;
    text.push('\n');
    let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
    file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(io_err(&tmp))?;
    fs::rename(&tmp, &path).map_err(io_err(&path))?;
    sync_dir(out)
}

/// Removes what a stopped run may have left behind: temporary partition directories and complete
/// partitions at or after `next_block` that the checkpoint does not cover yet. Returns what was
/// removed. Committed partitions are never touched.
pub fn remove_uncommitted(out: &Path, next_block: u64) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    if !out.is_dir() {
        return Ok(removed);
    }
    for entry in fs::read_dir(out).map_err(io_err(out))? {
        let entry = entry.map_err(io_err(out))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let stale = name.starts_with(".tmp-")
            || parse_partition_name(&name).is_some_and(|(start, _)| start >= next_block);
        if stale && path.is_dir() {
            fs::remove_dir_all(&path).map_err(io_err(&path))?;
            removed.push(path);
        }
    }
    Ok(removed)
}

/// Rows written per table for one partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionStats {
    /// `(table, rows)` for every table with at least one row.
    pub rows: Vec<(&'static str, usize)>,
}

fn frame_for(table: usize, records: &[&Record]) -> Result<DataFrame> {
    let spec = &TABLES[table];
    let mut columns: Vec<Column> = vec![
        Column::new(
            META_COLUMNS[0].into(),
            records.iter().map(|r| r.meta.block_number).collect::<Vec<u64>>(),
        ),
        Column::new(
            META_COLUMNS[1].into(),
            records.iter().map(|r| r.meta.block_timestamp).collect::<Vec<u64>>(),
        ),
        Column::new(
            META_COLUMNS[2].into(),
            records.iter().map(|r| r.meta.tx_hash.as_str()).collect::<Vec<&str>>(),
        ),
        Column::new(
            META_COLUMNS[3].into(),
            records.iter().map(|r| r.meta.log_index).collect::<Vec<u64>>(),
        ),
        Column::new(
            META_COLUMNS[4].into(),
            records.iter().map(|r| r.meta.contract.as_str()).collect::<Vec<&str>>(),
        ),
    ];
    let cells: Vec<Vec<Cell>> = records.iter().map(|r| r.event.cells()).collect();
    for (i, (name, kind)) in spec.columns.iter().enumerate() {
        let column = match kind {
            ColumnKind::Small => Column::new(
                (*name).into(),
                cells
                    .iter()
                    .map(|c| match &c[i] {
                        Cell::Small(v) => *v,
                        _ => 0,
                    })
                    .collect::<Vec<u64>>(),
            ),
            ColumnKind::Flag => Column::new(
                (*name).into(),
                cells.iter().map(|c| matches!(c[i], Cell::Flag(true))).collect::<Vec<bool>>(),
            ),
            ColumnKind::Address | ColumnKind::Uint | ColumnKind::Int => Column::new(
                (*name).into(),
                cells
                    .iter()
                    .map(|c| match &c[i] {
                        Cell::Text(s) => s.as_str(),
                        _ => "",
                    })
                    .collect::<Vec<&str>>(),
            ),
        };
        columns.push(column);
    }
    Ok(DataFrame::new(records.len(), columns)?)
}

/// Writes the partition `start..=end` of `out` atomically: every table with rows goes to a
/// temporary directory, each file is synced, and the directory is renamed into place. A
/// partition with the same range left by an earlier, stopped run is replaced.
///
/// `records` must all lie in `start..=end`; they are written in (block, log index) order.
pub fn write_partition(
    out: &Path,
    start: u64,
    end: u64,
    records: &[Record],
) -> Result<PartitionStats> {
    let name = partition_name(start, end);
    let tmp = out.join(format!(".tmp-{name}"));
    let dest = out.join(&name);
    if let Some(r) =
        records.iter().find(|r| r.meta.block_number < start || r.meta.block_number > end)
    {
        return Err(Error::Frame {
            frame: "records",
            column: "block_number".into(),
            reason: format!("block {} outside partition {name}", r.meta.block_number),
        });
    }
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
    let mut sorted: Vec<&Record> = records.iter().collect();
    sorted.sort_by_key(|r| (r.meta.block_number, r.meta.log_index));
    let mut stats = PartitionStats::default();
    for (table, spec) in TABLES.iter().enumerate() {
        let rows: Vec<&Record> =
            sorted.iter().copied().filter(|r| r.event.table_index() == table).collect();
        if rows.is_empty() {
            continue;
        }
        let mut df = frame_for(table, &rows)?;
        let path = tmp.join(format!("{}.parquet", spec.name));
        let file = File::create(&path).map_err(io_err(&path))?;
        ParquetWriter::new(&file)
            .with_compression(ParquetCompression::Zstd(None))
            .with_statistics(StatisticsOptions::full())
            .finish(&mut df)
            .map_err(|source| Error::Parquet { path: path.clone(), source })?;
        file.sync_all().map_err(io_err(&path))?;
        stats.rows.push((spec.name, rows.len()));
    }
    sync_dir(&tmp)?;
    if dest.exists() {
        fs::remove_dir_all(&dest).map_err(io_err(&dest))?;
    }
    fs::rename(&tmp, &dest).map_err(io_err(&dest))?;
    sync_dir(out)?;
    Ok(stats)
}

/// The committed partitions of `out`, in block order: every partition directory that lies inside
/// `checkpoint.from_block..checkpoint.next_block`.
pub fn committed_partitions(
    out: &Path,
    checkpoint: &Checkpoint,
) -> Result<Vec<(u64, u64, PathBuf)>> {
    let mut parts = Vec::new();
    for entry in fs::read_dir(out).map_err(io_err(out))? {
        let entry = entry.map_err(io_err(out))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some((start, end)) = parse_partition_name(&name)
            && start >= checkpoint.from_block
            && end < checkpoint.next_block
        {
            parts.push((start, end, entry.path()));
        }
    }
    parts.sort();
    Ok(parts)
}

fn read_table(path: &Path, table: usize) -> Result<Vec<Record>> {
    let spec = &TABLES[table];
    let file = File::open(path).map_err(io_err(path))?;
    let parquet = |source| Error::Parquet { path: path.to_path_buf(), source };
    let df = ParquetReader::new(file).finish().map_err(parquet)?;
    let schema_err = |column: &str, reason: String| Error::Schema {
        path: path.to_path_buf(),
        column: column.to_string(),
        reason,
    };
    let u64s = |name: &str| -> Result<Vec<u64>> {
        let c = df.column(name).map_err(|e| schema_err(name, e.to_string()))?;
        let ca = c.u64().map_err(|e| schema_err(name, e.to_string()))?;
        ca.iter().map(|v| v.ok_or_else(|| schema_err(name, "null value".into()))).collect()
    };
    let strs = |name: &str| -> Result<Vec<String>> {
        let c = df.column(name).map_err(|e| schema_err(name, e.to_string()))?;
        let ca = c.str().map_err(|e| schema_err(name, e.to_string()))?;
        ca.iter()
            .map(|v| v.map(str::to_string).ok_or_else(|| schema_err(name, "null value".into())))
            .collect()
    };
    let bools = |name: &str| -> Result<Vec<bool>> {
        let c = df.column(name).map_err(|e| schema_err(name, e.to_string()))?;
        let ca = c.bool().map_err(|e| schema_err(name, e.to_string()))?;
        ca.iter().map(|v| v.ok_or_else(|| schema_err(name, "null value".into()))).collect()
    };
    let blocks = u64s(META_COLUMNS[0])?;
    let times = u64s(META_COLUMNS[1])?;
    let txs = strs(META_COLUMNS[2])?;
    let logs = u64s(META_COLUMNS[3])?;
    let contracts = strs(META_COLUMNS[4])?;
    let mut columns: Vec<Vec<Cell>> = Vec::with_capacity(spec.columns.len());
    for (name, kind) in spec.columns {
        columns.push(match kind {
            ColumnKind::Small => u64s(name)?.into_iter().map(Cell::Small).collect(),
            ColumnKind::Flag => bools(name)?.into_iter().map(Cell::Flag).collect(),
            _ => strs(name)?.into_iter().map(Cell::Text).collect(),
        });
    }
    let mut records = Vec::with_capacity(df.height());
    for row in 0..df.height() {
        let cells: Vec<Cell> = columns.iter().map(|c| c[row].clone()).collect();
        let event = AaveEvent::from_cells(table, &cells).map_err(|reason| Error::Value {
            path: path.to_path_buf(),
            line: row + 1,
            column: spec.name.to_string(),
            value: String::new(),
            reason,
        })?;
        records.push(Record {
            meta: LogMeta {
                block_number: blocks[row],
                block_timestamp: times[row],
                tx_hash: txs[row].clone(),
                log_index: logs[row],
                contract: contracts[row].clone(),
            },
            event,
        });
    }
    Ok(records)
}

/// An ingested dataset read back: the checkpoint and every committed event in chain order.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// The checkpoint of the directory.
    pub checkpoint: Checkpoint,
    /// All events of the committed partitions, sorted by (block, log index).
    pub records: Vec<Record>,
}

/// Reads the committed part of an ingestion directory.
pub fn load(out: &Path) -> Result<Dataset> {
    let checkpoint = read_checkpoint(out)?
        .ok_or_else(|| Error::MissingFile { path: out.join(CHECKPOINT_FILE) })?;
    let mut records = Vec::new();
    for (_, _, dir) in committed_partitions(out, &checkpoint)? {
        for (table, spec) in TABLES.iter().enumerate() {
            let path = dir.join(format!("{}.parquet", spec.name));
            if path.is_file() {
                records.extend(read_table(&path, table)?);
            }
        }
    }
    records.sort_by_key(|r| (r.meta.block_number, r.meta.log_index));
    Ok(Dataset { checkpoint, records })
}

#[cfg(test)]
mod tests {
    use ruint::aliases::U256;

    use super::*;

    fn record(block: u64, log_index: u64, amount: u64) -> Record {
        Record {
            meta: LogMeta {
                block_number: block,
                block_timestamp: 1_700_000_000 + block,
                tx_hash: format!("0x{block:064x}"),
                log_index,
                contract: "0x00000000000000000000000000000000000000c0".into(),
            },
            event: AaveEvent::Supply {
                reserve: "0x00000000000000000000000000000000000000a1".into(),
                user: "0x00000000000000000000000000000000000000b1".into(),
                on_behalf_of: "0x00000000000000000000000000000000000000b1".into(),
                amount: U256::from(amount),
                referral_code: 0,
            },
        }
    }

    fn checkpoint(next_block: u64) -> Checkpoint {
        Checkpoint {
            version: FORMAT_VERSION,
            chain_id: 31337,
            pool: "0x00000000000000000000000000000000000000c0".into(),
            from_block: 0,
            partition_blocks: 100,
            next_block,
            last_block_hash: None,
            contracts: vec![],
            reserves: vec![],
        }
    }

    #[test]
    fn partition_names_round_trip() {
        assert_eq!(partition_name(0, 9_999), "blocks=000000000000-000000009999");
        assert_eq!(parse_partition_name(&partition_name(7, 42)), Some((7, 42)));
        assert_eq!(parse_partition_name("blocks=1-2"), None);
        assert_eq!(parse_partition_name("supply.parquet"), None);
    }

    #[test]
    fn partitions_round_trip_and_only_committed_ones_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let first = [record(5, 1, 10), record(3, 0, 7)];
        let stats = write_partition(out, 0, 99, &first).unwrap();
        assert_eq!(stats.rows, vec![("supply", 2)]);
        write_partition(out, 100, 199, &[record(150, 0, 99)]).unwrap();
        write_checkpoint(out, &checkpoint(100)).unwrap();
        let data = load(out).unwrap();
        // Sorted by block, and the uncommitted partition 100..=199 is not read.
        assert_eq!(data.records, vec![first[1].clone(), first[0].clone()]);
        assert_eq!(remove_uncommitted(out, 100).unwrap().len(), 1);
        assert!(!out.join(partition_name(100, 199)).exists());
        assert!(out.join(partition_name(0, 99)).join("supply.parquet").is_file());
    }

    #[test]
    fn rewriting_a_partition_gives_identical_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let recs = [record(1, 0, 1), record(2, 3, u64::MAX)];
        write_partition(dir.path(), 0, 9, &recs).unwrap();
        let path = dir.path().join(partition_name(0, 9)).join("supply.parquet");
        let first = fs::read(&path).unwrap();
        write_partition(dir.path(), 0, 9, &recs).unwrap();
        assert_eq!(fs::read(&path).unwrap(), first);
    }

    #[test]
    fn a_record_outside_its_partition_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_partition(dir.path(), 0, 9, &[record(10, 0, 1)]).unwrap_err();
        assert!(err.to_string().contains("block 10 outside partition"), "{err}");
        assert!(!dir.path().join(partition_name(0, 9)).exists());
    }

    #[test]
    fn a_corrupt_checkpoint_is_an_error_naming_the_file_and_nothing_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        write_partition(dir.path(), 0, 9, &[record(1, 0, 1)]).unwrap();
        fs::write(dir.path().join(CHECKPOINT_FILE), "{\"version\": 1, \"chain_id\": ").unwrap();
        let err = read_checkpoint(dir.path()).unwrap_err().to_string();
        assert!(err.contains(CHECKPOINT_FILE) && err.contains("not a valid checkpoint"), "{err}");
        assert!(dir.path().join(partition_name(0, 9)).join("supply.parquet").is_file());
        fs::write(
            dir.path().join(CHECKPOINT_FILE),
            serde_json::to_string(&Checkpoint { version: 9, ..checkpoint(10) }).unwrap(),
        )
        .unwrap();
        let err = read_checkpoint(dir.path()).unwrap_err().to_string();
        assert!(err.contains("format version 9"), "{err}");
    }
}
