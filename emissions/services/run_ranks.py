"""Live runs of one multi-rank job on one host: the node counted once, whatever the number of trackers.

Under torchrun or SLURM every rank may start its own CodeCarbon tracker, and each opens a live run. In
CodeCarbon's default ``machine`` mode each of them measures the whole machine's CPU and RAM, so their sum
counts the node once per rank (mlco2/codecarbon#544). A live run whose ``POST /runs`` names the same project,
experiment and host (OS, CPU model and count, RAM size, tracking mode) as a live run stored before it and
started within ``RANK_START_S`` of it joins that run's job as a *rank member* (``rank_of``). What a member's samples add
to its totals (``counted``):

* ``process`` mode: everything (each rank measured its own process);
* ``machine`` mode: no CPU and no RAM (the first rank counts the machine); its GPU energy only when its GPUs
  are its own: when the member and the first rank both report the same number of GPUs, two or more, each
  saw every GPU of the node and the member adds none.

Samples are kept whole for the timeline; flags ``multi_rank_member`` and ``rank_member_gpu_only`` /
``rank_member_not_counted`` say what happened. When the job's merged CSV row arrives later it merges into
the first rank, and the members' totals are cleared (``counted_in_rank_job``): the job's figures already
hold them.

The first rank must report: a member's sample that arrives while its first rank has none makes the member
the first rank (:func:`live_run_first_rank_claim`, flag ``rank_first_reassigned``). A client whose
``POST /runs`` timed out (CodeCarbon waits 2 s) opens its run again at its next upload while the server has
already stored the first one, which never gets a sample: without this the run's samples would count nothing.
A CodeCarbon 3.x client may also open its run twice at once and send its deltas to both ids, one after the
other; the two are told from two ranks by their samples' times (``_one_client_split``) and joined into the
run the client goes on writing to (flag ``rank_split_joined``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q, Sum

from emissions.models import Experiment, Run, RunSample
from emissions.records import RunSampleRecord

RANK_START_S = 60.0
SPLIT_OPEN_S = 1.0  # one client's two POST /runs of a split run (measured 13-40 ms apart)
HOST_TAGS = ("os", "tracking_mode", "ram_total_gb")
ENERGY_FIELDS = ("energy_kwh", "cpu_energy_kwh", "gpu_energy_kwh", "ram_energy_kwh")


def counted_components(run: Run) -> str:
    """What a live run's samples add to its totals: ``all``, ``gpu`` or ``none`` (see the module docstring)."""
    if "rank_member_not_counted" in run.flags or "counted_in_rank_job" in run.flags:
        return "none"
    return "gpu" if "rank_member_gpu_only" in run.flags else "all"


@transaction.atomic
def live_run_rank_assign(*, run: Run) -> Run | None:
    """Make ``run`` a rank member of an earlier live run of the same job and host; return that run or None."""
    if run.experiment_id is None:
        return None
    # Serializes the POST /runs of one experiment: two ranks arriving together cannot both become first.
    Experiment.objects.select_for_update().filter(pk=run.experiment_id).first()
    host = {key: (run.tags or {}).get(key, "") for key in HOST_TAGS}
    candidates = Run.objects.filter(
        organization_id=run.organization_id,
        project_id=run.project_id,
        experiment_id=run.experiment_id,
        source=run.source,
        rank_of__isnull=True,
        cpu_model=run.cpu_model,
        cpu_count=run.cpu_count,
        started_at__gte=run.started_at - timedelta(seconds=RANK_START_S),
        started_at__lte=run.started_at + timedelta(seconds=RANK_START_S),
        pk__lt=run.pk,  # the first rank is the first one stored: ranks' clocks and requests may cross
    ).order_by("pk")
    first = next((c for c in candidates if {k: (c.tags or {}).get(k, "") for k in HOST_TAGS} == host), None)
    if first is None:
        return None
    run.rank_of, run.flags = first, _member_flags(run, first)
    run.save(update_fields=["rank_of", "flags", "updated_at"])
    return first


MEMBER_FLAGS = ("multi_rank_member", "rank_member_not_counted", "rank_member_gpu_only")


def _member_flags(run: Run, first: Run) -> list[str]:
    """``run``'s flags as a member of ``first``'s job (what its samples add, see the module docstring)."""
    flags = {*run.flags, "multi_rank_member"} - {"rank_member_not_counted", "rank_member_gpu_only"}
    if (run.tags or {}).get("tracking_mode", "") != "process":
        shared_gpus = run.gpu_count >= 2 and run.gpu_count == first.gpu_count
        flags.add("rank_member_not_counted" if shared_gpus or not run.gpu_count else "rank_member_gpu_only")
    return sorted(flags)


@transaction.atomic
def live_run_first_rank_claim(*, run: Run, sample: RunSampleRecord | None = None) -> bool:
    """Make the rank member ``run`` its job's first rank if that rank has reported nothing yet (no sample,
    no energy from a merged record), or if the two are one client's run split in two
    (``_one_client_split``: the member then takes the first rank's samples); True if it did.

    Called before a member's ``sample`` is stored. The job's lock (its experiment, as in
    :func:`live_run_rank_assign`) and the first rank's row lock make the check and the swap atomic with
    respect to the first rank's own samples: ``run_sample_append`` checks the rank it was told before it
    adds to a run's totals, so a sample of the old first rank that races the swap is counted as a member's.
    The promoted run's totals are worked out again from its samples, all counted.
    """
    near = (F("created_at") - timedelta(seconds=SPLIT_OPEN_S), F("created_at") + timedelta(seconds=SPLIT_OPEN_S))
    unreported_or_near = Q(rank_of__samples__isnull=True) | Q(rank_of__created_at__range=near)
    if not Run.objects.filter(unreported_or_near, pk=run.pk, rank_of__isnull=False).exists():
        return False  # the usual case, without a lock: not a member, or a rank whose first rank has reported
    Experiment.objects.select_for_update(of=("self",)).filter(runs__pk=run.pk).first()
    member = Run.objects.select_for_update().get(pk=run.pk)
    if member.rank_of_id is None or "counted_in_rank_job" in member.flags:
        return False
    first = Run.objects.select_for_update().get(pk=member.rank_of_id)
    theirs = list(first.samples.values_list("recorded_at", "duration_s", "energy_kwh"))
    reported = bool(theirs) or first.energy_kwh
    if reported and not _one_client_split(member, first, theirs, sample):
        return False  # the first rank has reported (or the job's merged record holds its energy)
    # A split's samples join the member, which its client now writes to (the other id's answer came first).
    own = member.samples.values("dedupe_key")
    RunSample.objects.filter(run=first).exclude(dedupe_key__in=own).update(run=member)
    totals = member.samples.aggregate(
        energy_kwh=Sum("energy_kwh"),
        cpu_energy_kwh=Sum("cpu_energy_kwh"),
        gpu_energy_kwh=Sum("gpu_energy_kwh"),
        ram_energy_kwh=Sum("ram_energy_kwh"),
        tracker_emissions_kg_co2e=Sum("tracker_emissions_kg_co2e"),
    )
    for name in ENERGY_FIELDS:
        setattr(member, name, totals[name] or 0.0)
        setattr(first, name, 0.0)
    member.tracker_emissions_kg_co2e, first.tracker_emissions_kg_co2e = totals["tracker_emissions_kg_co2e"], None
    member.rank_of = None
    flag = "rank_split_joined" if reported else "rank_first_reassigned"
    member.flags = sorted({*member.flags, flag} - set(MEMBER_FLAGS))
    totals_fields = [*ENERGY_FIELDS, "tracker_emissions_kg_co2e"]
    member.save(update_fields=[*totals_fields, "rank_of", "flags", "updated_at"])
    Run.objects.filter(rank_of=first).exclude(pk=member.pk).update(rank_of=member)
    first.rank_of, first.flags = member, _member_flags(first, member)
    first.save(update_fields=[*totals_fields, "rank_of", "flags", "updated_at"])
    return True


def _one_client_split(
    member: Run, first: Run, theirs: list[tuple[datetime, float, float]], sample: RunSampleRecord | None
) -> bool:
    """Whether ``member`` and its first rank are one client's run opened twice: both ``POST /runs`` within
    ``SPLIT_OPEN_S`` (CodeCarbon 3.x opens its run from two threads at once when its first upload and its
    start or stop meet) and their samples (``theirs``: the first rank's time, duration and energy; the
    member's own with its ``sample``) never covering the same time
    (one tracker's deltas follow each other; two ranks measure the same seconds). A first rank holding energy
    from a merged file, not only its samples, is never taken apart."""
    if abs((member.created_at - first.created_at).total_seconds()) > SPLIT_OPEN_S or "merged_sources" in first.flags:
        return False
    if abs(first.energy_kwh - sum(energy for _, _, energy in theirs)) > 1e-9 + 1e-6 * first.energy_kwh:
        return False
    own = list(member.samples.values_list("recorded_at", "duration_s"))
    if sample is not None:
        own.append((sample.recorded_at, sample.duration_s))
    return not any(_overlapping(a_end, a_s, b_end, b_s) for a_end, a_s, _ in theirs for b_end, b_s in own)


def _overlapping(a_end: datetime, a_duration_s: float, b_end: datetime, b_duration_s: float) -> bool:
    """Whether two sample intervals (each ending at its time, lasting its duration) share more than half the
    shorter one: the clock of one tracker's consecutive deltas may cross by a fraction of a second (CodeCarbon
    truncates durations to whole seconds), two ranks' samples of the same seconds cover most of them."""
    shared_s = (
        min(a_end, b_end) - max(a_end - timedelta(seconds=a_duration_s), b_end - timedelta(seconds=b_duration_s))
    ).total_seconds()
    return shared_s > 0 and shared_s > 0.5 * min(a_duration_s, b_duration_s)


def rank_members_clear(*, run: Run) -> int:
    """The job's merged record now holds the members' energy: clear their totals (samples stay)."""
    members = list(Run.objects.filter(rank_of=run))
    for member in members:
        for name in ENERGY_FIELDS:
            setattr(member, name, 0.0)
        member.flags = sorted({*member.flags, "counted_in_rank_job"})
        member.save(update_fields=[*ENERGY_FIELDS, "flags", "updated_at"])
    return len(members)
