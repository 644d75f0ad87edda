"""The catalogue of internal trainings a tenant offers."""
