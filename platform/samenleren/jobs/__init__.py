"""Background jobs on RQ (architecture.md, "Jobs"): `@job`, `enqueue`, the periodic schedule.

```python
from samenleren.jobs import job, enqueue

@job(queue="mail")
def send_something(*, flag: int = 1) -> None: ...   # runs in its tenant, language and session

enqueue(send_something, tenant_id=tenant.id, flag=2)  # sent when the transaction commits
```
See `samenleren.jobs.core` for how a job runs and `samenleren.jobs.schedule` for periodic work.
"""

from samenleren.jobs.core import QUEUES, enqueue, job, registered_jobs, run_pending_jobs

__all__ = ["QUEUES", "enqueue", "job", "registered_jobs", "run_pending_jobs"]
