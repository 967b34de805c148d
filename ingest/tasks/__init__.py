"""Celery tasks of ingest: thin adapters over the import of batches (policy: emissions/task_policy.py).

Autodiscovery imports this package (``frontend/celery.py``), so it imports every task module, and callers
keep importing tasks from here (``from ingest.tasks import import_chunk_process_task``).
"""

from ingest.tasks.imports import import_batch_process_task, import_batches_resume_task, import_chunk_process_task

__all__ = ["import_batch_process_task", "import_batches_resume_task", "import_chunk_process_task"]
