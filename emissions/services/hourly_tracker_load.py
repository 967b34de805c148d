"""Sites' tracker runs as hourly load, for the hourly-matched Scope 2 of months without meter data
(``emissions.services.hourly_scope2``): a run's facility kWh (IT kWh × the site's PUE, a tracker's own PUE
divided out, as in the ledger) over the UTC hours it ran, shaped by its samples where it has some
(``emissions.hourly_scope2.spread_over_hours``), else flat over its run time.

Runs without samples are most runs, and an organization can have hundreds of thousands a quarter, so on
PostgreSQL they are spread and summed by hour in one query (``generate_series`` over each run's hours);
elsewhere, and for sampled runs, in Python. Both give the same kWh (tested on both databases).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Exists, OuterRef

from emissions.hourly_scope2 import spread_over_hours
from emissions.models import Run, RunSample, Site

# Per run and hour it touches: the share of its IT kWh (tracker PUE divided out) in that hour, by time
# overlap; a run of no length puts all of it in its first hour. Summed per site and hour, hours in [start, end).
_FLAT_RUNS_SQL = """
WITH runs AS (
    SELECT r.site_id, r.started_at AS run_start,
           COALESCE(r.ended_at, r.started_at + r.duration_s * INTERVAL '1 second') AS run_end,
           r.energy_kwh / COALESCE(NULLIF(r.tracker_pue, 0), 1) AS it_kwh
    FROM emissions_run r
    WHERE r.site_id = ANY(%(sites)s) AND r.started_at < %(end)s AND (r.ended_at IS NULL OR r.ended_at >= %(start)s)
      AND NOT EXISTS (SELECT 1 FROM emissions_runsample s WHERE s.run_id = r.id)
)
SELECT site_id, EXTRACT(EPOCH FROM h)::bigint AS hour_epoch,
       SUM(CASE WHEN run_end <= run_start THEN it_kwh
                ELSE it_kwh * GREATEST(0, EXTRACT(EPOCH FROM LEAST(run_end, h + INTERVAL '1 hour')
                                                             - GREATEST(run_start, h)))
                     / EXTRACT(EPOCH FROM run_end - run_start) END)
FROM runs CROSS JOIN LATERAL generate_series(date_trunc('hour', run_start),
                                             GREATEST(run_start, run_end - INTERVAL '1 microsecond'),
                                             INTERVAL '1 hour') AS h
WHERE h >= %(start)s AND h < %(end)s
GROUP BY site_id, h
"""


def tracker_loads(
    sites: list[Site], start: datetime, end: datetime, *, in_database: bool | None = None
) -> dict[int, dict[datetime, float]]:
    """``{site id: {UTC hour: facility kWh}}`` of the sites' tracker runs, hours within [start, end).
    ``in_database``: sum the runs without samples in SQL (default: on PostgreSQL); False reads them in Python
    (the tests compare both)."""
    if not sites:
        return {}
    pue = {site.pk: site.pue for site in sites}
    loads: dict[int, dict[datetime, float]] = {site.pk: defaultdict(float) for site in sites}
    runs = Run.objects.filter(site__in=sites, started_at__lt=end).exclude(ended_at__lt=start)
    sampled = Exists(RunSample.objects.filter(run=OuterRef("pk")))
    columns = ("pk", "site_id", "started_at", "ended_at", "duration_s", "energy_kwh", "tracker_pue")
    shaped = list(runs.filter(sampled).values_list(*columns))
    if in_database is None:
        in_database = connection.vendor == "postgresql"
    if in_database:  # the same runs (the SQL's WHERE) summed in the database
        flat = []
        with connection.cursor() as cursor:
            cursor.execute(_FLAT_RUNS_SQL, {"sites": list(pue), "start": start, "end": end})
            for site_id, epoch, it_kwh in cursor.fetchall():
                loads[site_id][datetime.fromtimestamp(epoch, UTC)] += it_kwh * pue[site_id]
    else:
        flat = list(runs.filter(~sampled).values_list(*columns))
    samples: dict[int, list[tuple[datetime, datetime, float]]] = defaultdict(list)
    for run_id, recorded_at, duration_s, kwh in RunSample.objects.filter(
        run_id__in=[row[0] for row in shaped]
    ).values_list("run_id", "recorded_at", "duration_s", "energy_kwh"):
        samples[run_id].append((recorded_at - timedelta(seconds=duration_s), recorded_at, kwh))
    for run_id, site_id, started_at, ended_at, duration_s, energy_kwh, tracker_pue in [*flat, *shaped]:
        facility_kwh = energy_kwh / (tracker_pue or 1.0) * pue[site_id]
        run_end = ended_at or started_at + timedelta(seconds=duration_s)
        shape = samples.get(run_id) or [(started_at, run_end, 1.0)]
        for hour, kwh in spread_over_hours(shape, scale_to_kwh=facility_kwh).items():
            if start <= hour < end:
                loads[site_id][hour] += kwh
    return {site_id: dict(load) for site_id, load in loads.items()}
