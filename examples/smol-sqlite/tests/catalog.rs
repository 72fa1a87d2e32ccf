//! Loads per key under concurrent callers, counted in the database layer.
//!
//! To make the callers overlap for sure, a second connection holds SQLite's exclusive lock while
//! they start: the first query for each product blocks inside SQLite (busy wait) until the test
//! commits, so every other caller arrives while that query is still running.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use readthrough_core::{Error, Status};
use readthrough_example_smol_sqlite::{Catalog, Database, Product};
use rusqlite::Connection;
use smol::{LocalExecutor, Timer};

const PATIENCE: Duration = Duration::from_secs(30);

struct Shop {
    _dir: tempfile::TempDir,
    catalog: Catalog,
}

fn shop(products: impl IntoIterator<Item = i64>) -> Shop {
    let dir = tempfile::tempdir().expect("temp dir");
    let products: Vec<Product> = products.into_iter().map(Product::sample).collect();
    let database = Database::create(dir.path().join("shop.db"), &products).expect("database");
    let catalog = Catalog::new(Arc::new(database), 1_000).expect("valid capacity");
    Shop { _dir: dir, catalog }
}

/// Opens a second connection and runs `statements` inside an exclusive transaction left open.
fn hold_exclusive_lock(database: &Database, statements: &str) -> Connection {
    let writer = Connection::open(database.path()).expect("writer connection");
    writer
        .execute_batch(&format!("BEGIN EXCLUSIVE; {statements}"))
        .expect("writer takes the lock");
    writer
}

async fn commit(writer: Connection) {
    blocking::unblock(move || writer.execute_batch("COMMIT"))
        .await
        .expect("commit");
}

async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        Timer::after(Duration::from_millis(1)).await;
    }
}

#[test]
fn concurrent_callers_run_one_query_per_product() {
    const PRODUCTS: i64 = 10;
    const CALLERS_PER_PRODUCT: usize = 50;
    let shop = shop(1..=PRODUCTS);
    let catalog = &shop.catalog;
    let writer = hold_exclusive_lock(
        catalog.database(),
        "UPDATE products SET price_cents = price_cents + 1;",
    );
    let executor = LocalExecutor::new();

    let answers = smol::block_on(executor.run(async {
        let callers: Vec<_> = (1..=PRODUCTS)
            .flat_map(|id| (0..CALLERS_PER_PRODUCT).map(move |_| id))
            .map(|id| executor.spawn(async move { (id, catalog.product(id).await) }))
            .collect();
        wait_until("the first queries are blocked on the lock", || {
            catalog.database().queries_total() >= PRODUCTS as usize
        })
        .await;
        // The callers were spawned before this future first yielded and have been polled since.
        Timer::after(Duration::from_millis(20)).await;
        assert_eq!(catalog.database().queries_total(), PRODUCTS as usize);
        assert_eq!(catalog.cache().loads_in_flight(), PRODUCTS as usize);
        commit(writer).await;
        let mut answers = Vec::new();
        for caller in callers {
            answers.push(caller.await);
        }
        answers
    }));

    let mut statuses_per_product: HashMap<i64, HashMap<Status, usize>> = HashMap::new();
    for (id, answer) in answers {
        let answer = answer.expect("query succeeds");
        let mut expected = Product::sample(id);
        expected.price_cents += 1;
        assert_eq!(answer.value, Some(expected), "the row as committed");
        *statuses_per_product
            .entry(id)
            .or_default()
            .entry(answer.status)
            .or_insert(0) += 1;
    }
    for id in 1..=PRODUCTS {
        assert_eq!(catalog.database().queries_for(id), 1, "product {id}");
        let statuses = &statuses_per_product[&id];
        assert_eq!(statuses.get(&Status::Miss), Some(&1), "{statuses:?}");
        assert_eq!(
            statuses.get(&Status::LockHit),
            Some(&(CALLERS_PER_PRODUCT - 1)),
            "{statuses:?}"
        );
    }
    assert_eq!(catalog.cache().loads_in_flight(), 0);
}

#[test]
fn a_failing_query_runs_once_and_every_waiter_gets_its_error() {
    const CALLERS: usize = 20;
    let shop = shop(1..=5);
    let catalog = &shop.catalog;
    let writer = hold_exclusive_lock(
        catalog.database(),
        "ALTER TABLE products RENAME TO retired_products;",
    );
    let executor = LocalExecutor::new();

    let outcomes = smol::block_on(executor.run(async {
        let callers: Vec<_> = (0..CALLERS)
            .map(|_| executor.spawn(catalog.product(3)))
            .collect();
        wait_until("the first query is blocked on the lock", || {
            catalog.database().queries_total() >= 1
        })
        .await;
        Timer::after(Duration::from_millis(20)).await;
        assert_eq!(catalog.database().queries_total(), 1);
        assert_eq!(catalog.cache().loads_in_flight(), 1);
        commit(writer).await;
        let mut outcomes = Vec::new();
        for caller in callers {
            outcomes.push(caller.await);
        }
        outcomes
    }));

    for outcome in &outcomes {
        match outcome {
            Err(Error::Load(error)) => {
                assert!(error.to_string().contains("no such table"), "{error}");
            }
            other => panic!("expected the shared load error, got {other:?}"),
        }
    }
    assert_eq!(catalog.database().queries_for(3), 1);
    assert_eq!(catalog.cache().loads_in_flight(), 0);

    let retried = smol::block_on(catalog.product(3));
    assert!(
        retried.is_err(),
        "errors are not cached, so this queried again"
    );
    assert_eq!(catalog.database().queries_for(3), 2);
}

#[test]
fn missing_rows_are_cached_as_none() {
    let shop = shop(1..=5);
    let catalog = &shop.catalog;
    let (first, second) = smol::block_on(async {
        (
            catalog.product(404).await.expect("query succeeds"),
            catalog.product(404).await.expect("cached"),
        )
    });
    assert_eq!((first.value, first.status), (None, Status::Miss));
    assert_eq!((second.value, second.status), (None, Status::Hit));
    assert_eq!(catalog.database().queries_for(404), 1);
}
