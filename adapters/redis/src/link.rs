//! The connection a tier talks through: one server (or a proxy in front of several), or the
//! nodes of a Redis Cluster. Every command goes through redis-rs's `ConnectionLike`, so the
//! tier's code is the same for both; a cluster connection routes each command by its key's
//! slot (the tier's names share a hash tag per key, so a key's commands land on one node).

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::{Cmd, Pipeline, RedisFuture, Value};

#[derive(Clone)]
pub(crate) enum Link {
    /// One server, reconnected by redis-rs's `ConnectionManager`.
    Server(ConnectionManager),
    /// A Redis Cluster, through redis-rs's cluster connection (slot routing, redirections,
    /// reconnection and resubscription are its own).
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(&'a mut self, command: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Link::Server(connection) => connection.req_packed_command(command),
            #[cfg(feature = "cluster")]
            Link::Cluster(connection) => connection.req_packed_command(command),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Link::Server(connection) => connection.req_packed_commands(pipeline, offset, count),
            #[cfg(feature = "cluster")]
            Link::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Link::Server(connection) => connection.get_db(),
            #[cfg(feature = "cluster")]
            Link::Cluster(connection) => connection.get_db(),
        }
    }
}
