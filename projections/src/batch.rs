//! The machinery of a batched projector: a read model's rows held in memory for one
//! batch of events, loaded once, changed in memory, written back once.
//!
//! A projector used to run several statements per event, each a round trip (to sqlx's
//! SQLite worker thread, or over the network to PostgreSQL). Now a batch of events goes
//! through three steps:
//!
//! 1. **load**: the keys the batch touches are collected first (its cases, units,
//!    penalties …), and each table's rows for those keys are read with one
//!    `SELECT … WHERE key IN (…)` per few hundred keys;
//! 2. **apply**: every event changes the rows in memory, in log order — plain,
//!    synchronous code that does no I/O;
//! 3. **write**: each table's new rows go out as multi-row `INSERT`s and its changed
//!    rows as multi-row `INSERT … ON CONFLICT (key) DO UPDATE` (upserts), a few hundred
//!    rows per statement.
//!
//! New rows are written with a plain `INSERT`, so a key that already exists outside the
//! batch still fails the batch, exactly as a per-event `INSERT` would.
//!
//! A row type is declared once with [`table_row!`]: its table, key, columns and field
//! types; the macro derives the struct, its decoding and its binding.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection};
use whistle_store::Backend;

/// Bound values per statement, well inside SQLite's 32,766 and PostgreSQL's 65,535.
const MAX_BINDS: usize = 16_000;
/// Rows per statement at most, whatever their width.
const MAX_ROWS: usize = 500;
/// Keys per `IN (…)` list when loading.
const KEYS_PER_LOAD: usize = 500;

/// A query being bound.
pub(crate) type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

/// One row of a read-model table, as the projector holds it in memory.
pub(crate) trait TableRow: Sized + Clone {
    /// The primary key's type.
    type Key: Eq + Hash + Clone;
    /// The table's name.
    const TABLE: &'static str;
    /// Every column, in the order [`TableRow::bind`] binds them.
    const COLUMNS: &'static [&'static str];
    /// The primary key's columns.
    const KEY_COLUMNS: &'static [&'static str];

    fn key(&self) -> Self::Key;
    /// The case the row belongs to, for rows kept per case.
    fn case_id(&self) -> Option<&str>;
    fn decode(row: &AnyRow) -> Result<Self, sqlx::Error>;
    /// The columns (as bits, in [`TableRow::COLUMNS`] order) whose values differ.
    fn differing(&self, other: &Self) -> u64;
    fn bind<'q>(&self, query: AnyQuery<'q>) -> AnyQuery<'q>;
}

/// Declare a read-model row: `table_row! { Name in "rm_table", key (a, b): (A, B),
/// by_case case_id, { a: A, b: B, … } }`. `by_case FIELD` is optional.
macro_rules! table_row {
    (
        $(#[$meta:meta])*
        $name:ident in $table:literal, key ($($key:ident),+): $key_type:ty
        $(, by_case $case:ident)?
        { $($field:ident: $type:ty),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub(crate) struct $name {
            $(pub(crate) $field: $type),+
        }

        impl $crate::batch::TableRow for $name {
            type Key = $key_type;
            const TABLE: &'static str = $table;
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),+];
            const KEY_COLUMNS: &'static [&'static str] = &[$(stringify!($key)),+];

            fn key(&self) -> Self::Key {
                ($(self.$key.clone()),+)
            }

            #[allow(unreachable_code)]
            fn case_id(&self) -> Option<&str> {
                $(return Some(self.$case.as_str());)?
                None
            }

            fn decode(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
                use sqlx::Row as _;
                Ok(Self { $($field: row.try_get(stringify!($field))?),+ })
            }

            fn differing(&self, other: &Self) -> u64 {
                const _: () = assert!([$(stringify!($field)),+].len() <= 64);
                let mut differing = 0;
                let mut bit = 1u64;
                $(
                    if self.$field != other.$field {
                        differing |= bit;
                    }
                    bit <<= 1;
                )+
                let _ = bit;
                differing
            }

            fn bind<'q>(&self, query: $crate::batch::AnyQuery<'q>) -> $crate::batch::AnyQuery<'q> {
                query $(.bind(self.$field.clone()))+
            }
        }
    };
}
pub(crate) use table_row;

/// Whether a row held in memory must be written, and how.
#[derive(Debug, Clone)]
enum RowState<R> {
    /// As loaded; nothing to write.
    Stored,
    /// Loaded and changed (the row as loaded beside it): its changed columns are written
    /// with an upsert.
    Changed(R),
    /// Created by this batch: written with a plain insert.
    New,
}

/// A table's rows that one batch touches, by key, with the keys of each case's rows.
#[derive(Debug)]
pub(crate) struct Rows<R: TableRow> {
    rows: HashMap<R::Key, (R, RowState<R>)>,
    by_case: HashMap<String, Vec<R::Key>>,
}

impl<R: TableRow> Default for Rows<R> {
    fn default() -> Self {
        Self {
            rows: HashMap::new(),
            by_case: HashMap::new(),
        }
    }
}

impl<R: TableRow> Rows<R> {
    fn index(&mut self, row: &R) {
        if let Some(case_id) = row.case_id() {
            self.by_case
                .entry(case_id.to_owned())
                .or_default()
                .push(row.key());
        }
    }

    /// Rows read from the table (kept as they are when a key is already held).
    pub(crate) fn add_stored(&mut self, stored: Vec<R>) {
        for row in stored {
            let key = row.key();
            if self.rows.contains_key(&key) {
                continue;
            }
            self.index(&row);
            self.rows.insert(key, (row, RowState::Stored));
        }
    }

    /// A row this batch creates. Returns false (and keeps the held row) when the key is
    /// held already, so the caller can refuse it as the table would.
    pub(crate) fn insert(&mut self, row: R) -> bool {
        let key = row.key();
        if self.rows.contains_key(&key) {
            return false;
        }
        self.index(&row);
        self.rows.insert(key, (row, RowState::New));
        true
    }

    pub(crate) fn get(&self, key: &R::Key) -> Option<&R> {
        self.rows.get(key).map(|(row, _)| row)
    }

    /// The row to change (it will be written back).
    pub(crate) fn get_mut(&mut self, key: &R::Key) -> Option<&mut R> {
        self.rows.get_mut(key).map(|(row, state)| {
            if matches!(state, RowState::Stored) {
                *state = RowState::Changed(row.clone());
            }
            row
        })
    }

    /// The rows this batch created or changed, each with the row as it was loaded (none
    /// for a new one).
    pub(crate) fn touched(&self) -> impl Iterator<Item = (Option<&R>, &R)> + '_ {
        self.rows.values().filter_map(|(row, state)| match state {
            RowState::Stored => None,
            RowState::Changed(loaded) => Some((Some(loaded), row)),
            RowState::New => Some((None, row)),
        })
    }

    /// The rows this batch created or changed, to change further before they are
    /// written.
    pub(crate) fn touched_mut(&mut self) -> impl Iterator<Item = &mut R> + '_ {
        self.rows
            .values_mut()
            .filter(|(_, state)| !matches!(state, RowState::Stored))
            .map(|(row, _)| row)
    }

    /// The keys of the rows this batch changed (not the new ones).
    pub(crate) fn changed_keys(&self) -> Vec<R::Key> {
        self.rows
            .iter()
            .filter(|(_, (_, state))| matches!(state, RowState::Changed(_)))
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// The keys of the rows `pick` selects.
    pub(crate) fn keys_where(&self, pick: impl Fn(&R) -> bool) -> Vec<R::Key> {
        self.rows
            .iter()
            .filter(|(_, (row, _))| pick(row))
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// The keys of a case's rows, in the order they were loaded or created.
    pub(crate) fn keys_of_case(&self, case_id: &str) -> Vec<R::Key> {
        self.by_case.get(case_id).cloned().unwrap_or_default()
    }

    /// A case's rows.
    pub(crate) fn of_case<'a>(&'a self, case_id: &str) -> impl Iterator<Item = &'a R> + 'a {
        self.by_case
            .get(case_id)
            .into_iter()
            .flatten()
            .filter_map(|key| self.get(key))
    }

    /// Change every row of a case that `pick` selects.
    pub(crate) fn update_case(
        &mut self,
        case_id: &str,
        pick: impl Fn(&R) -> bool,
        mut change: impl FnMut(&mut R),
    ) {
        for key in self.keys_of_case(case_id) {
            if self.get(&key).is_some_and(&pick)
                && let Some(row) = self.get_mut(&key)
            {
                change(row);
            }
        }
    }

    /// Write the new rows (plain inserts) and the changed ones: one upsert per set of
    /// changed columns, which sets only those, so indexes over the others are left alone.
    pub(crate) async fn write(&self, c: &mut AnyConnection) -> Result<(), sqlx::Error> {
        let mut new = Vec::new();
        let mut changed: BTreeMap<u64, Vec<&R>> = BTreeMap::new();
        for (row, state) in self.rows.values() {
            match state {
                RowState::New => new.push(row),
                RowState::Changed(loaded) => {
                    let columns = row.differing(loaded);
                    if columns != 0 {
                        changed.entry(columns).or_default().push(row);
                    }
                }
                RowState::Stored => {}
            }
        }
        insert_rows(c, &new, None).await?;
        for (columns, rows) in changed {
            insert_rows(c, &rows, Some(columns)).await?;
        }
        Ok(())
    }
}

/// Append `rows` groups of `width` placeholders, comma-separated, numbered on from 1:
/// the VALUES of a multi-row insert.
fn push_value_rows(backend: Backend, sql: &mut String, rows: usize, width: usize) {
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        backend.push_placeholders(sql, i * width + 1, width);
    }
}

/// Insert `rows` with multi-row statements; with `update` (columns as bits), a row whose
/// key exists has those columns of the stored one replaced instead.
pub(crate) async fn insert_rows<R: TableRow>(
    c: &mut AnyConnection,
    rows: &[&R],
    update: Option<u64>,
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let width = R::COLUMNS.len();
    let per_statement = (MAX_BINDS / width).clamp(1, MAX_ROWS);
    let conflict = if let Some(columns) = update {
        let updates: Vec<String> = R::COLUMNS
            .iter()
            .enumerate()
            .filter(|(i, column)| columns & (1 << i) != 0 && !R::KEY_COLUMNS.contains(column))
            .map(|(_, column)| format!("{column} = excluded.{column}"))
            .collect();
        format!(
            " ON CONFLICT ({}) DO UPDATE SET {}",
            R::KEY_COLUMNS.join(", "),
            updates.join(", ")
        )
    } else {
        String::new()
    };
    let backend = Backend::of(c);
    for chunk in rows.chunks(per_statement) {
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            R::TABLE,
            R::COLUMNS.join(", ")
        );
        push_value_rows(backend, &mut sql, chunk.len(), width);
        sql.push_str(&conflict);
        let mut query = sqlx::query(&sql).persistent(false);
        for row in chunk {
            query = row.bind(query);
        }
        query.execute(&mut *c).await?;
    }
    Ok(())
}

/// The rows of `R` whose `column` is one of `keys` (and that `extra`, a condition in SQL,
/// if given, selects).
pub(crate) async fn load_where_in<R: TableRow>(
    c: &mut AnyConnection,
    column: &str,
    keys: &[String],
    extra: Option<&str>,
) -> Result<Vec<R>, sqlx::Error> {
    let mut loaded = Vec::new();
    let backend = Backend::of(c);
    for chunk in keys.chunks(KEYS_PER_LOAD) {
        let mut sql = format!(
            "SELECT {} FROM {} WHERE {column} IN ",
            R::COLUMNS.join(", "),
            R::TABLE
        );
        backend.push_placeholders(&mut sql, 1, chunk.len());
        if let Some(extra) = extra {
            sql.push_str(" AND ");
            sql.push_str(extra);
        }
        let mut query = sqlx::query(&sql).persistent(false);
        for key in chunk {
            query = query.bind(key.clone());
        }
        for row in query.fetch_all(&mut *c).await? {
            loaded.push(R::decode(&row)?);
        }
    }
    Ok(loaded)
}

/// Delete the rows of `table` whose `column` is one of `keys` (and that `extra`, a
/// condition in SQL, if given, selects).
pub(crate) async fn delete_where_in(
    c: &mut AnyConnection,
    table: &str,
    column: &str,
    keys: &[String],
    extra: Option<&str>,
) -> Result<(), sqlx::Error> {
    let backend = Backend::of(c);
    let extra = extra
        .map(|extra| format!("{extra} AND "))
        .unwrap_or_default();
    for chunk in keys.chunks(KEYS_PER_LOAD) {
        let mut sql = format!("DELETE FROM {table} WHERE {extra}{column} IN ");
        backend.push_placeholders(&mut sql, 1, chunk.len());
        let mut query = sqlx::query(&sql).persistent(false);
        for key in chunk {
            query = query.bind(key.clone());
        }
        query.execute(&mut *c).await?;
    }
    Ok(())
}

/// Add each row's `values` to the row of `table` with its keys (a row not there is
/// inserted with them), in multi-row upserts: what the read models keep as sums (the
/// scorecards' and the dashboard's facts) are changed by differences.
pub(crate) async fn add_to_sums(
    c: &mut AnyConnection,
    table: &str,
    key_columns: &[&str],
    value_columns: &[&str],
    rows: &[(Vec<String>, Vec<i64>)],
) -> Result<(), sqlx::Error> {
    let width = key_columns.len() + value_columns.len();
    let per_statement = (MAX_BINDS / width).clamp(1, MAX_ROWS);
    let additions: Vec<String> = value_columns
        .iter()
        .map(|column| format!("{column} = {table}.{column} + excluded.{column}"))
        .collect();
    let backend = Backend::of(c);
    for chunk in rows.chunks(per_statement) {
        let mut sql = format!(
            "INSERT INTO {table} ({}, {}) VALUES ",
            key_columns.join(", "),
            value_columns.join(", ")
        );
        push_value_rows(backend, &mut sql, chunk.len(), width);
        sql.push_str(&format!(
            " ON CONFLICT ({}) DO UPDATE SET {}",
            key_columns.join(", "),
            additions.join(", ")
        ));
        let mut query = sqlx::query(&sql).persistent(false);
        for (keys, values) in chunk {
            debug_assert!(keys.len() == key_columns.len() && values.len() == value_columns.len());
            for key in keys {
                query = query.bind(key.clone());
            }
            for value in values {
                query = query.bind(*value);
            }
        }
        query.execute(&mut *c).await?;
    }
    Ok(())
}

/// Delete the rows of `table` whose `value_columns` are all 0 and whose `column` is one
/// of `keys` (and that `extra`, a condition in SQL, if given, selects — e.g. the leading
/// column of the key, so the key's index finds the rows): a sum that comes to nothing is
/// no row, however the log was cut into batches.
pub(crate) async fn delete_nothing(
    c: &mut AnyConnection,
    table: &str,
    value_columns: &[&str],
    column: &str,
    keys: &[String],
    extra: Option<&str>,
) -> Result<(), sqlx::Error> {
    let mut nothing: Vec<String> = value_columns.iter().map(|v| format!("{v} = 0")).collect();
    nothing.extend(extra.map(str::to_owned));
    delete_where_in(c, table, column, keys, Some(&nothing.join(" AND "))).await
}
