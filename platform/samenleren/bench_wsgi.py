"""WSGI entry point of the page benchmark: the application plus the bare page (bench.bare).

`gunicorn samenleren.bench_wsgi:app`, started by `make bench` (benchmarks/pages.py) only.
"""

from samenleren import create_app
from samenleren.app.serving import ready_to_serve
from samenleren.bench.bare import add_bare_page

app = create_app()
add_bare_page(app)
ready_to_serve(app)
