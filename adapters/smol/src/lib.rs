//! readthrough adapter for smol (in progress)
