"""The `posthouse` command line: one module per sub-command, department code imported lazily."""
