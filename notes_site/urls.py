from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("talks.urls")),
    path("", include("runner.urls")),
]

handler404 = "talks.views.page_not_found"
