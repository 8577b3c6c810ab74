//! The transport: accepting connections, the connection loop, and the registry of open connections.

pub mod connection;
pub mod pool;
pub mod registry;
