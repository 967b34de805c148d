"""The reports page: request a report for a period, follow its progress, download it, preview its datapoints."""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render

from emissions.api import role_refusal
from emissions.choices import Role
from frontend.access import WRITE_ROLES, membership_required, require_raw_read, require_write
from reporting.api import report_file_response
from reporting.models import Report, ReportFile
from reporting.reports.concepts import DEFAULT_TAXONOMY, taxonomy_choices
from reporting.services import report_create, report_issue


class ReportRequestForm(forms.Form):
    period = forms.CharField(
        max_length=20,
        help_text="2025-Q1, 2025-H1, 2025, 2025-03, or FY2025 / FY2025-Q1 (the organization's fiscal year)",
    )
    taxonomy = forms.ChoiceField(
        choices=taxonomy_choices,
        initial=DEFAULT_TAXONOMY,
        required=False,  # left out (older clients, scripts): the default taxonomy
        help_text="The ESRS XBRL taxonomy the report is tagged with",
    )


def _reports(organization):
    files = Prefetch("files", queryset=ReportFile.objects.defer("content"))
    return Report.objects.for_org(organization).select_related("created_by").prefetch_related(files)


def _preview(organization, report_id: str | None) -> tuple[Report | None, dict | None]:
    """The report to preview (the one asked for, else the newest finished one) and its JSON content."""
    if report_id:
        report = get_object_or_404(Report.objects.for_org(organization), pk=report_id if report_id.isdigit() else 0)
    else:
        report = Report.objects.for_org(organization).filter(status=Report.Status.DONE).first()
    stored = ReportFile.objects.filter(report=report, file_format=ReportFile.Format.JSON).first() if report else None
    return report, (json.loads(bytes(stored.content)) if stored else None)


@membership_required
def reports(request):
    """Generated reports with status and downloads, the request form and a datapoint preview."""
    organization = request.membership.organization
    form = ReportRequestForm(request.POST or None)
    if request.method == "POST" and "issue" in request.POST:
        if request.membership.role != Role.ORG_ADMIN:
            raise PermissionDenied(role_refusal(request.membership, (Role.ORG_ADMIN,), action="issue reports"))
        raw = request.POST.get("issue", "")
        pk = int(raw) if raw.isascii() and raw.isdecimal() and len(raw) < 19 else 0
        issued = get_object_or_404(Report.objects.for_org(organization), pk=pk)
        try:
            report_issue(report=issued, issued_by=request.user)
        except ValueError as exc:
            messages.error(request, str(exc))
        return redirect("reports")
    if request.method == "POST":
        require_write(request)
        if form.is_valid():
            try:
                report = report_create(
                    organization=organization,
                    period_label=form.cleaned_data["period"],
                    taxonomy=form.cleaned_data["taxonomy"] or DEFAULT_TAXONOMY,
                    created_by=request.user,
                )
                return redirect(f"/reports/?report={report.pk}")
            except ValueError as exc:
                form.add_error("period", str(exc))
    previewed, content = _preview(organization, request.GET.get("report"))
    listed = list(_reports(organization)[:50])
    context = {
        "form": form,
        "reports": listed,
        "running": any(report.status not in Report.FINISHED for report in listed),
        "previewed": previewed,
        "content": content,
        "can_write": request.membership.role in WRITE_ROLES,
        "can_issue": request.membership.role == Role.ORG_ADMIN,
        "formats": ReportFile.Format.choices,
    }
    return render(request, "frontend/reports.html", context)


@membership_required
def report_download(request, report_id: int, file_format: str):
    """One stored file of a report of the user's organization (404 for any other organization's)."""
    require_raw_read(request, "download report files")
    report = get_object_or_404(Report.objects.for_org(request.membership.organization), pk=report_id)
    return report_file_response(report, file_format)
