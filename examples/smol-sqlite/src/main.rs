//! Creates a SQLite database of 100 products in a temporary directory, looks products up through
//! the cache (concurrently, again, and for a missing id) and prints how each lookup was served.

use std::collections::BTreeMap;
use std::sync::Arc;

use readthrough_example_smol_sqlite::{Catalog, Database, Product};
use smol::LocalExecutor;

const CONCURRENT_CALLERS: usize = 20;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let products: Vec<Product> = (1..=100).map(Product::sample).collect();
    let database = Database::create(dir.path().join("shop.db"), &products)?;
    println!(
        "database {} with {} products",
        database.path().display(),
        products.len()
    );
    let catalog = Catalog::new(Arc::new(database), 1_000)?;
    let executor = LocalExecutor::new();

    smol::block_on(executor.run(async {
        let callers: Vec<_> = (0..CONCURRENT_CALLERS)
            .map(|_| executor.spawn(catalog.product(7)))
            .collect();
        let mut statuses = BTreeMap::new();
        for caller in callers {
            let answer = caller.await?;
            *statuses.entry(answer.status.as_str()).or_insert(0) += 1;
        }
        println!(
            "{CONCURRENT_CALLERS} concurrent lookups of product 7: {statuses:?}; queries run for it: {}",
            catalog.database().queries_for(7)
        );

        let again = catalog.product(7).await?;
        println!("product 7 again: {:?} -> {:?}", again.status, again.value);

        for attempt in 1..=2 {
            let missing = catalog.product(500).await?;
            println!(
                "product 500 (no such row), lookup {attempt}: {:?} -> {:?}",
                missing.status, missing.value
            );
        }
        println!(
            "queries run in total: {}, loads in flight: {}",
            catalog.database().queries_total(),
            catalog.cache().loads_in_flight()
        );
        println!("cache stats: {:?}", catalog.cache().stats());
        Ok::<(), Box<dyn std::error::Error>>(())
    }))
}
