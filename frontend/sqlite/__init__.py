"""The embedded default's database backend: Django's SQLite, with reads that never wait for a writer."""
