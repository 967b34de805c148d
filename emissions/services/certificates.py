"""Certificate claims recorded once: the instruments' use by each electricity block of an issued report.

When a report is issued, the Scope 2 records of its calculation say which certificates (and contracts) covered
which block of electricity, and by how many kWh. Those uses are stored (``CertificateUse``) and every later
calculation reads them for those blocks rather than replaying the allocation, so an issued claim never moves:
correcting an earlier month's meter reading, or a certificate's data, cannot re-cover a month another report
already showed or leave a later month with less (Scope 2 Guidance, Scope 2 Quality Criteria: each MWh
claimed once). Blocks of months no issued report showed are still allocated chronologically by the ledger.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction

from emissions.choices import Basis, Scope
from emissions.models import Calculation, CertificateUse, EmissionRecord, Organization


@transaction.atomic
def certificate_uses_record(*, calculation: Calculation) -> int:
    """Store the certificate uses of ``calculation``'s Scope 2 records that are not recorded yet (a block already
    claimed by an earlier issued report keeps that claim). Returns the number of uses stored."""
    records = EmissionRecord.objects.filter(
        calculation=calculation, scope=Scope.SCOPE_2, basis=Basis.OPERATIONAL, factors__has_key="market"
    ).values_list("factors", "period_start")
    already = set(
        CertificateUse.objects.for_org(calculation.organization_id).values_list("block_key", flat=True).distinct()
    )
    uses = []
    for factors, day in records:
        block = factors["market"].get("block")
        if not block or block["key"] in already:
            continue
        # A block no instrument covered is recorded too (an empty instrument id, 0 kWh): it stays uncovered, so a
        # certificate imported later cannot re-cover a month an issued report showed without cover.
        instruments = factors["market"]["instruments"] or [{"id": "", "kwh": 0.0, "g_per_kwh": 0.0}]
        for instrument in instruments:
            uses.append(
                CertificateUse(
                    organization_id=calculation.organization_id,
                    instrument_id=instrument["id"],
                    block_key=block["key"],
                    month=day.replace(day=1),
                    block_kwh=block["kwh"],
                    energy_kwh=instrument["kwh"],
                    emission_factor_g_per_kwh=instrument["g_per_kwh"],
                    calculation_id=calculation.pk,
                )
            )
    CertificateUse.objects.bulk_create(uses, ignore_conflicts=True)
    return len(uses)


def certificate_uses_recorded(*, organization: Organization) -> dict[str, list[CertificateUse]]:
    """The recorded uses per block key, in instrument order."""
    by_block: dict[str, list[CertificateUse]] = defaultdict(list)
    for use in CertificateUse.objects.for_org(organization).order_by("block_key", "instrument_id"):
        by_block[use.block_key].append(use)
    return dict(by_block)
