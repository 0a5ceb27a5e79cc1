"""Storage: the database models and the one place that reads and writes them."""
