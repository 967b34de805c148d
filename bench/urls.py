"""The product's URLs plus ``/bench/floor``: the cheapest Django view, the framework's floor."""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from frontend.urls import urlpatterns as product_urlpatterns


@csrf_exempt
def floor(request):
    return HttpResponse(status=201)


urlpatterns = [path("bench/floor", floor), *product_urlpatterns]
