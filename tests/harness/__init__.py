"""Real services for the tests: a private nats-server and a private MariaDB."""
