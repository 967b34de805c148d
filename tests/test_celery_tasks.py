"""Every Celery task is registered under the name queued messages, the beat schedule and the routes carry, and
declares the one retry policy (emissions/task_policy.py).

A task's name is explicit (``retrying_task(name=...)``): moving its module must not rename it, or messages
already queued and the beat entries would name a task no worker knows.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from emissions.task_policy import DATABASE_AWAY, RETRY_POLICY, DatabaseTask
from frontend.celery import BEAT_SCHEDULE, app

# Task name → queue. The names are those the tasks had before they moved into <app>/tasks/ packages.
TASKS = {
    "emissions.tasks.figures_refresh_task": "default",
    "emissions.tasks.ledger_refresh_task": "default",
    "ingest.tasks.import_batch_process_task": "ingest",
    "ingest.tasks.import_batches_resume_task": "ingest",
    "ingest.tasks.import_chunk_process_task": "ingest",
    "reporting.rollup_tasks.figures_follow_task": "reporting",
    "reporting.rollup_tasks.rollup_refresh_task": "reporting",
    "reporting.tasks.report_generate_task": "reporting",
    "reporting.tasks_guild.budget_alerts_check_task": "reporting",
}


@pytest.fixture(scope="module")
def registered() -> dict:
    """The application's tasks once a worker has imported its modules (autodiscovery of every app's tasks)."""
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_autodiscovery_registers_every_task_under_its_name():
    """In a fresh interpreter, as a worker starts: only autodiscovery imports the task modules."""
    code = (
        "import json, django; django.setup(); from frontend.celery import app; "
        "app.loader.import_default_modules(); "
        "print(json.dumps(sorted(name for name in app.tasks if not name.startswith('celery.'))))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "frontend.settings", "DEBUG": "1"}
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == sorted(TASKS)


def test_the_beat_schedule_names_registered_tasks():
    assert {entry["task"] for entry in BEAT_SCHEDULE.values()} <= set(TASKS)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_each_task_goes_to_its_queue(name):
    assert app.amqp.router.route({}, name)["queue"].name == TASKS[name]


@pytest.mark.parametrize("name", sorted(TASKS))
def test_each_task_has_the_one_retry_policy(registered, name):
    task = registered[name]
    assert isinstance(task, DatabaseTask)
    assert tuple(task.autoretry_for) == DATABASE_AWAY
    assert {option: getattr(task, option) for option in RETRY_POLICY} == RETRY_POLICY
    assert task.retry_jitter is False and task.acks_late is True


def test_callers_import_tasks_from_the_packages():
    from emissions.tasks import figures_refresh_task
    from ingest.tasks import import_chunk_process_task
    from reporting.tasks import budget_alerts_check_task, report_generate_task, rollup_refresh_task

    tasks = (figures_refresh_task, import_chunk_process_task, budget_alerts_check_task, report_generate_task)
    assert all(task.name in TASKS for task in (*tasks, rollup_refresh_task))
