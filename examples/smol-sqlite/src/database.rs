use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use crate::product::Product;

/// How long a query waits for another connection's write lock before failing with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A SQLite database file with a `products` table, queried through a small pool of connections.
///
/// Its methods block: call them from a blocking thread (`blocking::unblock`), never on an async
/// executor's thread. Every product query is counted, so callers can see how many actually ran.
pub struct Database {
    path: PathBuf,
    idle_connections: Mutex<Vec<Connection>>,
    queries_per_id: Mutex<HashMap<i64, usize>>,
}

impl Database {
    /// Creates the `products` table in the database file at `path` (created if missing) and
    /// inserts `products`.
    ///
    /// ```
    /// # use readthrough_example_smol_sqlite::{Database, Product};
    /// let dir = tempfile::tempdir()?;
    /// let database = Database::create(dir.path().join("shop.db"), &[Product::sample(1)])?;
    /// assert_eq!(database.product(1)?, Some(Product::sample(1)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create(path: impl Into<PathBuf>, products: &[Product]) -> Result<Self, rusqlite::Error> {
        let database = Self::open(path)?;
        let mut connection = database.connection()?;
        let transaction = connection.transaction()?;
        transaction.execute_batch(
            "CREATE TABLE IF NOT EXISTS products (
                 id INTEGER PRIMARY KEY,
                 name TEXT NOT NULL,
                 price_cents INTEGER NOT NULL
             )",
        )?;
        {
            let mut insert = transaction.prepare(
                "INSERT OR REPLACE INTO products (id, name, price_cents) VALUES (?1, ?2, ?3)",
            )?;
            for product in products {
                insert.execute(params![product.id, product.name, product.price_cents])?;
            }
        }
        transaction.commit()?;
        database.give_back(connection);
        Ok(database)
    }

    /// Opens an existing database file; connections are opened as queries need them.
    ///
    /// ```
    /// # use readthrough_example_smol_sqlite::{Database, Product};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("shop.db");
    /// Database::create(&path, &[Product::sample(1)])?;
    /// let reopened = Database::open(&path)?;
    /// assert_eq!(reopened.product(1)?, Some(Product::sample(1)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, rusqlite::Error> {
        let database = Self {
            path: path.into(),
            idle_connections: Mutex::new(Vec::new()),
            queries_per_id: Mutex::new(HashMap::new()),
        };
        let connection = database.connection()?;
        database.give_back(connection);
        Ok(database)
    }

    /// The database file.
    ///
    /// ```
    /// # use readthrough_example_smol_sqlite::Database;
    /// let dir = tempfile::tempdir()?;
    /// let database = Database::create(dir.path().join("shop.db"), &[])?;
    /// assert!(database.path().ends_with("shop.db"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads product `id` (blocking); `None` when there is no such row.
    ///
    /// ```
    /// # use readthrough_example_smol_sqlite::Database;
    /// let dir = tempfile::tempdir()?;
    /// let database = Database::create(dir.path().join("shop.db"), &[])?;
    /// assert_eq!(database.product(42)?, None);
    /// assert_eq!(database.queries_for(42), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn product(&self, id: i64) -> Result<Option<Product>, rusqlite::Error> {
        self.count_query(id);
        let connection = self.connection()?;
        let product = connection
            .prepare_cached("SELECT id, name, price_cents FROM products WHERE id = ?1")
            .and_then(|mut select| {
                select
                    .query_row([id], |row| {
                        Ok(Product {
                            id: row.get(0)?,
                            name: row.get(1)?,
                            price_cents: row.get(2)?,
                        })
                    })
                    .optional()
            });
        self.give_back(connection);
        product
    }

    /// Product queries started so far for `id`, failed ones included.
    ///
    /// ```
    /// # use readthrough_example_smol_sqlite::{Database, Product};
    /// let dir = tempfile::tempdir()?;
    /// let database = Database::create(dir.path().join("shop.db"), &[Product::sample(1)])?;
    /// database.product(1)?;
    /// database.product(1)?;
    /// assert_eq!(database.queries_for(1), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn queries_for(&self, id: i64) -> usize {
        self.queries().get(&id).copied().unwrap_or(0)
    }

    /// Product queries started so far, for all ids.
    ///
    /// ```
    /// # use readthrough_example_smol_sqlite::{Database, Product};
    /// let dir = tempfile::tempdir()?;
    /// let database = Database::create(dir.path().join("shop.db"), &[Product::sample(1)])?;
    /// database.product(1)?;
    /// database.product(2)?;
    /// assert_eq!(database.queries_total(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn queries_total(&self) -> usize {
        self.queries().values().sum()
    }

    fn queries(&self) -> std::sync::MutexGuard<'_, HashMap<i64, usize>> {
        self.queries_per_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn count_query(&self, id: i64) {
        *self.queries().entry(id).or_insert(0) += 1;
    }

    fn connection(&self) -> Result<Connection, rusqlite::Error> {
        let idle = self
            .idle_connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(connection) => Ok(connection),
            None => {
                let connection = Connection::open(&self.path)?;
                connection.busy_timeout(BUSY_TIMEOUT)?;
                Ok(connection)
            }
        }
    }

    fn give_back(&self, connection: Connection) {
        self.idle_connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(connection);
    }
}
