//! readthrough adapter for embassy (in progress)
