"""Refuse oversized request bodies with 413 before anything reads them."""

from django.conf import settings
from django.http import JsonResponse


class RequestSizeLimitMiddleware:
    """413 for a body larger than the limit: ``IMPORT_MAX_BYTES`` for file uploads (multipart),
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` for everything else (JSON from trackers and API clients)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        multipart = request.META.get("CONTENT_TYPE", "").startswith("multipart/form-data")
        limit = settings.IMPORT_MAX_BYTES if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length > limit:
            return JsonResponse(
                {"detail": f"request body of {length:,} bytes exceeds the limit of {limit:,} bytes"}, status=413
            )
        return self.get_response(request)
