//! Throwaway databases: `CREATE DATABASE isolint_confirm_<random>` on the server, dropped with
//! `DROP DATABASE ... WITH (FORCE)` when the value is dropped, on every way out of its scope,
//! panics included. The connection to the database the URL names is used for those two
//! statements only: nothing is created or changed there.

use postgres::Client;

use super::database::{Database, describe, quote_ident, random_suffix};

/// A database of its own on the server, gone when this is dropped.
pub struct Throwaway {
    pub name: String,
    server: Database,
    database: Database,
}

impl Throwaway {
    /// An empty database (a copy of `template0`, so that nothing a server keeps in
    /// `template1` comes along).
    pub fn create(server: &Database) -> Result<Throwaway, String> {
        Throwaway::create_from(server, "template0")
    }

    /// A copy of `template`, which no session may be connected to.
    pub fn copy_of(server: &Database, template: &Throwaway) -> Result<Throwaway, String> {
        Throwaway::create_from(server, &template.name)
    }

    fn create_from(server: &Database, template: &str) -> Result<Throwaway, String> {
        let name = format!("isolint_confirm_{}", random_suffix());
        let mut admin = server.connect()?;
        admin
            .batch_execute(&format!(
                "CREATE DATABASE {} TEMPLATE {}",
                quote_ident(&name),
                quote_ident(template)
            ))
            .map_err(|error| format!("cannot create database {name}: {}", describe(&error)))?;
        Ok(Throwaway {
            database: server.with_database(&name),
            server: server.clone(),
            name,
        })
    }

    pub fn connect(&self) -> Result<Client, String> {
        self.database.connect()
    }

    pub fn database(&self) -> &Database {
        &self.database
    }
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
        let name = quote_ident(&self.name);
        // WITH (FORCE) ends the sessions still connected (PostgreSQL 13 and later).
        let dropped = admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .or_else(|_| admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")));
        if let Err(error) = dropped {
            eprintln!(
                "isolint: cannot drop database {}: {}; drop it by hand",
                self.name,
                describe(&error)
            );
        }
    }
}
