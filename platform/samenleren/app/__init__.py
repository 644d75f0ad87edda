"""The top layer: the application factory, blueprint and CLI registration, and the model list."""
