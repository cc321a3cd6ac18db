"""NATS JetStream adapter: subjects, streams, the nats-server process, publishers, consumers."""
