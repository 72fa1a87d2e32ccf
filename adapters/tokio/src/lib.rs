//! readthrough adapter for tokio (in progress)
