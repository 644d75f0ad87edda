"""The notification outbox: rows first, mail later (issue 6). See `services.notify`."""
