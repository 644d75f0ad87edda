"""Background jobs on RQ: the runtime (`runtime`), the periodic schedule (`schedule`), the CLI.

```python
from samenleren.core.jobs.runtime import enqueue, job

@job("exports.build", queue="reports")
def build(*, export_id: str) -> None: ...   # runs in its tenant, language and session

enqueue("exports.build", tenant_id=tenant.id, export_id=str(export.id))  # sent after commit
```
Jobs are registered under a name and enqueued by that name, so a service never imports the
module that holds its jobs. See docs/architecture.md, "Jobs".
"""
