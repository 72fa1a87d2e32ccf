//! A small smol service that caches rows of a SQLite database with readthrough.
//!
//! [`Catalog::product`] answers from the cache; on a miss one caller per product runs the query on
//! `blocking`'s thread pool ([`blocking::unblock`]) while the other callers for that product wait
//! for its row. Rows that do not exist are cached as `None`, so repeated lookups of a missing id do
//! not reach the database either.
//!
//! ```
//! use std::sync::Arc;
//! use readthrough_core::Status;
//! use readthrough_example_smol_sqlite::{Catalog, Database, Product};
//!
//! let dir = tempfile::tempdir()?;
//! let database = Database::create(dir.path().join("shop.db"), &[Product::sample(7)])?;
//! let catalog = Catalog::new(Arc::new(database), 1_000)?;
//! smol::block_on(async {
//!     let first = catalog.product(7).await?;
//!     let second = catalog.product(7).await?;
//!     assert_eq!(first.value, Some(Product::sample(7)));
//!     assert_eq!((first.status, second.status), (Status::Miss, Status::Hit));
//!     assert_eq!(catalog.database().queries_for(7), 1);
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod catalog;
mod database;
mod product;

pub use catalog::{Catalog, ProductCache};
pub use database::Database;
pub use product::Product;
