"""The imports page (``/imports/``): upload a file (its source detected unless chosen), follow its batches."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render

from frontend.access import WRITE_ROLES, membership_required, require_raw_read, require_write
from frontend.forms import ImportUploadForm
from ingest.models import ImportBatch
from ingest.parsers import PARSERS
from ingest.services import import_batch_create, import_options_for


@membership_required
def imports(request):
    """Import batches with live progress, and the upload form (the source detected unless chosen)."""
    require_raw_read(request, "see imports")
    organization = request.membership.organization
    form = ImportUploadForm(request.POST or None, request.FILES or None, organization=organization)
    if request.method == "POST":
        require_write(request)
        if form.is_valid():
            upload, source = form.cleaned_data["file"], form.cleaned_data["source"]
            batch = import_batch_create(
                organization=organization,
                source=source,
                filename=upload.name,
                stream=upload,
                created_by=request.user,
                options=form.options() | import_options_for(request.membership),
            )
            how = "detected from the file" if form.detected else "as chosen"
            messages.success(
                request,
                f"{upload.name} received as {PARSERS[source].label} ({how}): batch {batch.pk} is being imported, "
                "its progress is in the table below.",
            )
            return redirect("imports")
        messages.error(request, "The file was not imported: " + " ".join(form.error_lines()))
    batches = ImportBatch.objects.for_org(organization).select_related("created_by")[:50]
    context = {"form": form, "batches": batches, "can_write": request.membership.role in WRITE_ROLES}
    # A refused upload is the form again with its errors and a message, answered 200 as Django forms are (a 400
    # page load is also a console error in the browser).
    return render(request, "frontend/imports.html", context)
