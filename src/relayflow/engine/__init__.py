"""The workflow engine: graph spec, validation, templating, the executor, node kinds."""
