/// A row of the `products` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Product {
    /// Primary key.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Price in cents.
    pub price_cents: i64,
}

impl Product {
    /// The demo catalogue's product `id`: `"product {id}"` at `id` dollars and 99 cents.
    ///
    /// ```
    /// # use readthrough_example_smol_sqlite::Product;
    /// assert_eq!(Product::sample(3).price_cents, 399);
    /// ```
    pub fn sample(id: i64) -> Self {
        Self {
            id,
            name: format!("product {id}"),
            price_cents: id * 100 + 99,
        }
    }
}
