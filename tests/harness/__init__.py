"""The tests' helpers, in one place: waiting (``wait``), real services (``mariadb``; NATS
comes from ``vpp.adapters.nats.server``), and what the tests of one area share."""
