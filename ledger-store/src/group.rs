//! Writes sent to the database together, in as few round trips as the engines allow.
//!
//! A drawdown payment is a dozen statements (entry, postings, running totals, payment, state,
//! event); sent one by one, each waited for its round trip (≈ 20 µs to SQLite's worker thread on
//! an idle machine, ≈ 70–100 µs to PostgreSQL), and the single writer's batch waited with them.
//! A [`WriteGroup`] collects them and sends them at once: SQLite runs `a; b; c` in one call,
//! PostgreSQL `WITH w1 AS (a), w2 AS (b) c` as one statement.
//!
//! The statements of a group must not read each other's rows: PostgreSQL runs all of them on
//! one snapshot. (Foreign keys are still checked, at the end of the statement.)

use std::borrow::Cow;

use crate::{dispatch, StoreError, Tx};

/// Parameters per round trip: under SQLite's limit of 32,766 and PostgreSQL's of 65,535.
const MAX_PARAMETERS: usize = 30_000;
/// Rows per multi-row INSERT.
const ROWS_PER_INSERT: usize = 1_000;
/// A statement with this many parameters goes alone: its text (a chunk of rows) then recurs,
/// so the connection prepares it once instead of once per script it would be part of (that
/// cost a SQLite import of 100,000 units a tenth of its speed). Its round trip is nothing next
/// to its rows.
const ALONE_FROM_PARAMETERS: usize = 1_000;

/// One statement parameter, borrowed where it can be (an import binds millions).
#[derive(Debug, Clone)]
pub(crate) enum Value<'a> {
    Int(i64),
    Text(Cow<'a, str>),
    Bytes(Cow<'a, [u8]>),
    Bool(bool),
    NoInt,
    NoText,
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(Cow::Borrowed(v))
    }
}

impl From<String> for Value<'_> {
    fn from(v: String) -> Self {
        Value::Text(Cow::Owned(v))
    }
}

impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(v: &'a [u8]) -> Self {
        Value::Bytes(Cow::Borrowed(v))
    }
}

impl From<Vec<u8>> for Value<'_> {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(Cow::Owned(v))
    }
}

impl From<Option<i64>> for Value<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Value::NoInt, Value::Int)
    }
}

impl<'a> From<Option<&'a str>> for Value<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Value::NoText, Value::from)
    }
}

/// Statements without results, collected to be sent together (see the module's doc).
///
/// Statements are written with anonymous `?` placeholders, their values given in the order the
/// placeholders appear: SQLite binds anonymous parameters in one pass (a named one it finds by
/// a linear scan, which made large INSERTs quadratic), and for PostgreSQL they are numbered
/// `$1, $2, …` across the whole group.
#[derive(Debug)]
pub(crate) struct WriteGroup<'a> {
    postgres: bool,
    /// Statements ready to send, each with its values; sent in order.
    parts: Vec<Part<'a>>,
}

type Part<'a> = (String, Vec<Value<'a>>);

impl<'a> WriteGroup<'a> {
    pub(crate) fn new(tx: &Tx) -> WriteGroup<'a> {
        WriteGroup { postgres: matches!(tx, Tx::Postgres(_)), parts: Vec::new() }
    }

    /// Adds one statement; `sql` holds one `?` per value.
    pub(crate) fn push(&mut self, sql: &str, values: Vec<Value<'a>>) {
        // A `?` that is not a placeholder (in a literal) would shift every value after it.
        assert_eq!(sql.matches('?').count(), values.len(), "one ? per value, and no other ?, in {sql}");
        self.parts.push((sql.to_owned(), values));
    }

    /// Adds `INSERT INTO {target} VALUES (…), (…) {suffix}` for the rows, `columns` values each,
    /// in as many statements as the rows need.
    pub(crate) fn insert_rows(&mut self, target: &str, columns: usize, suffix: &str, values: Vec<Value<'a>>) {
        debug_assert_eq!(values.len() % columns, 0, "whole rows for {target}");
        assert!(!target.contains('?') && !suffix.contains('?'), "no ? outside the placeholders");
        let row_marks = format!("({})", vec!["?"; columns].join(", "));
        let mut values = values.into_iter().peekable();
        while values.peek().is_some() {
            let chunk: Vec<Value<'a>> = values.by_ref().take(ROWS_PER_INSERT * columns).collect();
            let marks = vec![row_marks.as_str(); chunk.len() / columns].join(", ");
            let sql = format!("INSERT INTO {target} VALUES {marks} {suffix}");
            self.parts.push((sql.trim_end().to_owned(), chunk));
        }
    }

    /// Sends everything collected: in one round trip, unless statements are large.
    pub(crate) async fn send(self, tx: &mut Tx) -> Result<(), StoreError> {
        let mut pending: Vec<Part<'a>> = Vec::new();
        let mut parameters = 0;
        for part in self.parts {
            let alone = part.1.len() >= ALONE_FROM_PARAMETERS;
            if (alone || parameters + part.1.len() > MAX_PARAMETERS) && !pending.is_empty() {
                send_together(tx, self.postgres, std::mem::take(&mut pending)).await?;
                parameters = 0;
            }
            if alone {
                send_together(tx, self.postgres, vec![part]).await?;
                continue;
            }
            parameters += part.1.len();
            pending.push(part);
        }
        if !pending.is_empty() {
            send_together(tx, self.postgres, pending).await?;
        }
        Ok(())
    }
}

async fn send_together(tx: &mut Tx, postgres: bool, parts: Vec<Part<'_>>) -> Result<(), StoreError> {
    let sql = if postgres { as_one_postgres_statement(&parts) } else { as_sqlite_script(&parts) };
    let values = parts.iter().flat_map(|(_, values)| values);
    dispatch!(Tx, tx, |t| {
        let mut query = sqlx::query(&sql);
        for value in values {
            query = match value {
                Value::Int(v) => query.bind(*v),
                Value::Text(v) => query.bind(v.as_ref()),
                Value::Bytes(v) => query.bind(v.as_ref()),
                Value::Bool(v) => query.bind(*v),
                Value::NoInt => query.bind(None::<i64>),
                Value::NoText => query.bind(None::<&str>),
            };
        }
        query.execute(&mut **t).await?;
    });
    Ok(())
}

fn as_sqlite_script(parts: &[Part<'_>]) -> String {
    parts.iter().map(|(sql, _)| sql.as_str()).collect::<Vec<_>>().join(";\n")
}

/// `WITH w1 AS (a), w2 AS (b) c`, the `?` numbered `$1, $2, …` in order.
fn as_one_postgres_statement(parts: &[Part<'_>]) -> String {
    let (last, before) = parts.split_last().expect("a statement to send");
    let mut sql = String::new();
    for (i, (part, _)) in before.iter().enumerate() {
        sql.push_str(if i == 0 { "WITH " } else { ", " });
        sql.push_str(&format!("w{} AS ({part})", i + 1));
    }
    if !before.is_empty() {
        sql.push(' ');
    }
    sql.push_str(&last.0);
    numbered(&sql)
}

/// `sql` written with anonymous `?` placeholders, in the form `tx`'s engine takes: as it is for
/// SQLite, numbered `$1, $2, …` in order for PostgreSQL. Each `?` is bound on its own, so a value
/// used twice is bound twice.
pub(crate) fn for_engine<'s>(tx: &Tx, sql: &'s str) -> Cow<'s, str> {
    match tx {
        Tx::Sqlite(_) => Cow::Borrowed(sql),
        Tx::Postgres(_) => Cow::Owned(numbered(sql)),
    }
}

fn numbered(sql: &str) -> String {
    let mut numbered = String::with_capacity(sql.len() + sql.len() / 4);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            numbered.push_str(&format!("${n}"));
        } else {
            numbered.push(c);
        }
    }
    numbered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(sql: &str, n: usize) -> Part<'static> {
        (sql.to_owned(), vec![Value::Int(0); n])
    }

    #[test]
    fn postgres_gets_one_statement_numbered_across_its_parts() {
        let parts = [part("INSERT INTO a VALUES (?, ?)", 2), part("UPDATE b SET x = ? WHERE id = ?", 2)];
        assert_eq!(
            as_one_postgres_statement(&parts),
            "WITH w1 AS (INSERT INTO a VALUES ($1, $2)) UPDATE b SET x = $3 WHERE id = $4"
        );
        assert_eq!(as_one_postgres_statement(&parts[1..]), "UPDATE b SET x = $1 WHERE id = $2");
        assert_eq!(as_sqlite_script(&parts), "INSERT INTO a VALUES (?, ?);\nUPDATE b SET x = ? WHERE id = ?");
    }

    /// SQLite runs every statement of the script, with each its own values.
    #[tokio::test]
    async fn every_statement_of_a_group_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::connect(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        let mut tx = store.begin_read().await.unwrap();
        let crate::Tx::Sqlite(t) = &mut tx else { unreachable!() };
        sqlx::query("CREATE TEMP TABLE g (k TEXT PRIMARY KEY, n BIGINT)").execute(&mut **t).await.unwrap();
        let mut group = WriteGroup::new(&tx);
        group.insert_rows("g (k, n)", 2, "", vec!["a".into(), 1.into(), "b".into(), 2.into()]);
        group.push("UPDATE g SET n = n + ? WHERE k = ?", vec![10.into(), "b".into()]);
        group.push("INSERT INTO g (k, n) VALUES (?, ?)", vec!["c".into(), None::<i64>.into()]);
        group.send(&mut tx).await.unwrap();
        let crate::Tx::Sqlite(t) = &mut tx else { unreachable!() };
        let rows: Vec<(String, Option<i64>)> =
            sqlx::query_as("SELECT k, n FROM g ORDER BY k").fetch_all(&mut **t).await.unwrap();
        assert_eq!(rows, [("a".into(), Some(1)), ("b".into(), Some(12)), ("c".into(), None)]);
    }
}
