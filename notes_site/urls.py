from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView


class FaviconView(RedirectView):
    """Pages name their icon (base.html); the admin's do not, and browsers then ask for this.
    Resolved per request: the static file's hashed name is known once collectstatic ran."""

    permanent = False

    def get_redirect_url(self, *args, **kwargs) -> str:
        return static("img/favicon.svg")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("favicon.ico", FaviconView.as_view()),
    path("", include("talks.urls")),
    path("", include("runner.urls")),
]

handler404 = "talks.views.page_not_found"
# A paste too large for DATA_UPLOAD_MAX_MEMORY_SIZE is refused before any view runs (the CSRF
# check reads the body): on the import page this answers with the form and a clear message.
handler400 = "talks.admin_import.bad_request"
