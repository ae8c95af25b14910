//! Throwaway databases: `CREATE DATABASE isolint_confirm_<random>` on the server, dropped
//! (`DROP DATABASE ... WITH (FORCE)` on PostgreSQL) when the value is dropped, on every way out
//! of its scope, panics included. The connection to the database the URL names is used for
//! those two statements only: nothing is created or changed there.
//!
//! A copy is `CREATE DATABASE ... TEMPLATE` on PostgreSQL. MySQL has no template databases:
//! there a copy is made from the template's own definitions as the server prints them (`SHOW
//! CREATE TABLE`, `VIEW`, `TRIGGER`, `PROCEDURE`, `FUNCTION`) and its rows.

use super::database::{Connection, Database, Flavor, query, random_suffix};

/// A database of its own on the server, gone when this is dropped.
pub struct Throwaway {
    pub name: String,
    server: Database,
    database: Database,
}

impl Throwaway {
    /// An empty database (on PostgreSQL a copy of `template0`, so that nothing a server keeps
    /// in `template1` comes along).
    pub fn create(server: &Database) -> Result<Throwaway, String> {
        Throwaway::create_from(server, Some("template0").filter(|_| is_postgres(server)))
    }

    /// A copy of `template`, which no session may be connected to.
    pub fn copy_of(server: &Database, template: &Throwaway) -> Result<Throwaway, String> {
        if is_postgres(server) {
            return Throwaway::create_from(server, Some(&template.name));
        }
        let copy = Throwaway::create_from(server, None)?;
        let mut connection = copy.connect()?;
        copy_mysql(&mut connection, &template.name)
            .map_err(|error| format!("cannot copy database {}: {error}", template.name))?;
        Ok(copy)
    }

    fn create_from(server: &Database, template: Option<&str>) -> Result<Throwaway, String> {
        let flavor = server.flavor();
        let name = format!("isolint_confirm_{}", random_suffix());
        let mut admin = server.connect()?;
        let template = template
            .map(|template| format!(" TEMPLATE {}", flavor.quote_ident(template)))
            .unwrap_or_default();
        query(
            &mut admin,
            &format!("CREATE DATABASE {}{template}", flavor.quote_ident(&name)),
        )
        .map_err(|error| format!("cannot create database {name}: {}", error.message))?;
        Ok(Throwaway {
            database: server.with_database(&name),
            server: server.clone(),
            name,
        })
    }

    pub fn connect(&self) -> Result<Connection, String> {
        self.database.connect()
    }

    pub fn database(&self) -> &Database {
        &self.database
    }
}

fn is_postgres(server: &Database) -> bool {
    server.flavor() == Flavor::Postgres
}

/// Builds in `connection`'s database what `template` has: its tables (foreign keys checked
/// only once every table exists), their rows, then its views, routines and triggers.
fn copy_mysql(connection: &mut Connection, template: &str) -> Result<(), String> {
    let quoted = Flavor::Mysql.quote_ident(template);
    let literal = super::database::quote_literal(template);
    let failed = |error: super::database::ServerError| error.message;
    let objects = query(
        connection,
        &format!(
            "SELECT 'TABLE', TABLE_NAME FROM information_schema.TABLES \
               WHERE TABLE_SCHEMA = {literal} AND TABLE_TYPE = 'BASE TABLE' \
             UNION ALL SELECT 'VIEW', TABLE_NAME FROM information_schema.VIEWS \
               WHERE TABLE_SCHEMA = {literal} \
             UNION ALL SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES \
               WHERE ROUTINE_SCHEMA = {literal} \
             UNION ALL SELECT 'TRIGGER', TRIGGER_NAME FROM information_schema.TRIGGERS \
               WHERE TRIGGER_SCHEMA = {literal}"
        ),
    )
    .map_err(failed)?;
    query(connection, "SET SESSION foreign_key_checks = 0").map_err(failed)?;
    // Tables first, then their rows, then what reads or fires on them: a trigger made before
    // the rows would fire on their copy.
    let mut ordered: Vec<(&str, &str)> = objects
        .iter()
        .filter_map(|row| match (row.first(), row.get(1)) {
            (Some(Some(kind)), Some(Some(name))) => Some((kind.as_str(), name.as_str())),
            _ => None,
        })
        .collect();
    ordered.sort_by_key(|(kind, _)| *kind != "TABLE");
    let mut rows_copied = false;
    for (kind, name) in ordered {
        if kind != "TABLE" && !rows_copied {
            copy_rows(connection, template, &objects)?;
            rows_copied = true;
        }
        let object = format!("{quoted}.{}", Flavor::Mysql.quote_ident(name));
        // The column of `SHOW CREATE ...` that holds the definition.
        let column = match kind {
            "TABLE" | "VIEW" => 1,
            _ => 2,
        };
        let shown = query(connection, &format!("SHOW CREATE {kind} {object}")).map_err(failed)?;
        let Some(Some(definition)) = shown.first().and_then(|row| row.get(column)) else {
            return Err(format!("the server shows no definition of {kind} {name}"));
        };
        // A view's definition names the template's tables with their database.
        let definition = definition.replace(&format!("{quoted}."), "");
        query(connection, &definition).map_err(failed)?;
    }
    if !rows_copied {
        copy_rows(connection, template, &objects)?;
    }
    query(connection, "SET SESSION foreign_key_checks = 1").map_err(failed)?;
    Ok(())
}

/// Copies the rows of the template's tables (`objects` lists them) into `connection`'s
/// database, generated columns left to the server.
fn copy_rows(
    connection: &mut Connection,
    template: &str,
    objects: &super::database::Rows,
) -> Result<(), String> {
    let quoted = Flavor::Mysql.quote_ident(template);
    let literal = super::database::quote_literal(template);
    let failed = |error: super::database::ServerError| error.message;
    let tables = objects
        .iter()
        .filter_map(|row| match (row.first(), row.get(1)) {
            (Some(Some(kind)), Some(Some(name))) if kind == "TABLE" => Some(name),
            _ => None,
        });
    for table in tables {
        let columns = query(
            connection,
            &format!(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = {literal} AND TABLE_NAME = {} \
                   AND EXTRA NOT LIKE '%GENERATED%' ORDER BY ORDINAL_POSITION",
                super::database::quote_literal(table)
            ),
        )
        .map_err(failed)?;
        let columns: Vec<String> = columns
            .into_iter()
            .filter_map(|row| row.into_iter().next().flatten())
            .map(|column| Flavor::Mysql.quote_ident(&column))
            .collect();
        if columns.is_empty() {
            continue;
        }
        let columns = columns.join(", ");
        let table = Flavor::Mysql.quote_ident(table);
        query(
            connection,
            &format!("INSERT INTO {table} ({columns}) SELECT {columns} FROM {quoted}.{table}"),
        )
        .map_err(failed)?;
    }
    Ok(())
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        let Ok(mut admin) = self.server.connect() else {
            eprintln!(
                "isolint: cannot connect to drop database {}; drop it by hand",
                self.name
            );
            return;
        };
        let flavor = self.server.flavor();
        let name = flavor.quote_ident(&self.name);
        let dropped = match flavor {
            // WITH (FORCE) ends the sessions still connected (PostgreSQL 13 and later).
            Flavor::Postgres => query(
                &mut admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
            .or_else(|_| query(&mut admin, &format!("DROP DATABASE IF EXISTS {name}"))),
            Flavor::Mysql => query(&mut admin, &format!("DROP DATABASE IF EXISTS {name}")),
        };
        if let Err(error) = dropped {
            eprintln!(
                "isolint: cannot drop database {}: {}; drop it by hand",
                self.name, error.message
            );
        }
    }
}
