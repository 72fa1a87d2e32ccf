use std::sync::Arc;
use std::time::Duration;

use readthrough_core::{Answer, BuildError, Error};

use crate::database::Database;
use crate::product::Product;

/// Product rows by id (`None` for ids with no row), on smol's timers.
pub type ProductCache = readthrough_smol::Cache<i64, Option<Product>, rusqlite::Error>;

/// How long a row is served from the cache before it is read again.
const ROW_TTL: Duration = Duration::from_secs(30);

/// Product lookups served from a cache in front of the database.
pub struct Catalog {
    database: Arc<Database>,
    cache: ProductCache,
}

impl Catalog {
    /// A catalogue caching up to `capacity` rows of `database` for 30 s each.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use readthrough_example_smol_sqlite::{Catalog, Database};
    /// let dir = tempfile::tempdir()?;
    /// let database = Arc::new(Database::create(dir.path().join("shop.db"), &[])?);
    /// assert!(Catalog::new(Arc::clone(&database), 0).is_err());
    /// assert!(Catalog::new(database, 100).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(database: Arc<Database>, capacity: usize) -> Result<Self, BuildError> {
        let cache = readthrough_smol::builder()
            .capacity(capacity)
            .ttl(ROW_TTL)
            .build()?;
        Ok(Self { database, cache })
    }

    /// Product `id` (`None` if there is no such row) and how it was served. Database errors are
    /// shared with every caller that waited for the failing query and are not cached.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use readthrough_example_smol_sqlite::{Catalog, Database};
    /// let dir = tempfile::tempdir()?;
    /// let catalog = Catalog::new(Arc::new(Database::create(dir.path().join("shop.db"), &[])?), 10)?;
    /// let missing = smol::block_on(catalog.product(5))?;
    /// assert_eq!(missing.value, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn product(
        &self,
        id: i64,
    ) -> Result<Answer<Option<Product>>, Error<rusqlite::Error>> {
        self.cache
            .get_or_load(&id, |id: &i64| {
                let id = *id;
                let database = Arc::clone(&self.database);
                blocking::unblock(move || database.product(id))
            })
            .await
    }

    /// The database behind the cache.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use readthrough_example_smol_sqlite::{Catalog, Database};
    /// let dir = tempfile::tempdir()?;
    /// let catalog = Catalog::new(Arc::new(Database::create(dir.path().join("shop.db"), &[])?), 10)?;
    /// assert_eq!(catalog.database().queries_total(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// The row cache, for its statistics and its in-flight loads.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use readthrough_example_smol_sqlite::{Catalog, Database};
    /// let dir = tempfile::tempdir()?;
    /// let catalog = Catalog::new(Arc::new(Database::create(dir.path().join("shop.db"), &[])?), 10)?;
    /// assert_eq!(catalog.cache().loads_in_flight(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cache(&self) -> &ProductCache {
        &self.cache
    }
}
