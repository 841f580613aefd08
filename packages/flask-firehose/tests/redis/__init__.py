"""Tests of the Redis backend: one server, a cluster, Sentinel, a slow peer, scoped keys."""
