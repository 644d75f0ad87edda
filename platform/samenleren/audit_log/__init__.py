"""The audit log as the programme admin reads it: a filtered page and a CSV export."""
