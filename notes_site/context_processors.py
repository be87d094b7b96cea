from django.conf import settings
from django.http import HttpRequest

from talks.cache import ensure_csrf_cookie


def site(request: HttpRequest) -> dict[str, str]:
    """Values every page needs: the site's name for titles and the header, and the name of the
    CSRF cookie, from which static/js/site.js gives htmx requests their token. Pages hold no
    token themselves, so every page makes sure the reader has the cookie."""
    ensure_csrf_cookie(request)
    return {"site_name": settings.SITE_NAME, "csrf_cookie_name": settings.CSRF_COOKIE_NAME}
