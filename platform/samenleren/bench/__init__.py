"""Benchmark data and the pages benchmark's helpers (`flask --app samenleren bench ...`).

`generate` fills a database with the seed data set (Flevoland's size) or the national one (400
tenants, 200,000 employees); `bare` is the bare page the page benchmark compares every page with.
Nothing here is imported by the application itself; `make bench` (benchmarks/pages.py) uses it.
"""
