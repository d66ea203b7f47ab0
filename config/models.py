"""No models. Django sends ``post_migrate`` only to apps with a models module, and
``config.apps`` makes the durable cache's table on it."""
