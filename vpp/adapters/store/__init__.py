"""Read-model store: SQLAlchemy Core tables on SQLite (embedded) and MySQL-protocol servers
(TiDB in production, MariaDB/MySQL in tests and small sites)."""
