//! The vigil event log on sled: group-committed durable appends, hash chain, indexes, queries, verify, retention, export and import.
