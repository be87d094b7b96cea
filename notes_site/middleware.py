"""Error pages readers see: the site's own 404 in development too, and a page for a 405; the
import form's own answer to a paste too large in development too; and the
Content-Security-Policy on that 404 page too."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

from csp.constants import HEADER
from csp.middleware import CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, get_resolver
from django.utils.http import url_has_allowed_host_and_scheme


class ReaderErrorPagesMiddleware:
    """Goes last in MIDDLEWARE, so its pages have the session, user and CSP nonce.

    - With DEBUG on (``make run``, the documented demo) a 404 would be Django's technical page,
      which lists every route: readers get the site's own (``handler404``) instead, for a
      ``Http404`` a view raised and for an address no URL pattern matches. Other errors keep
      their debug page with the traceback. With DEBUG off Django already does this.
    - An empty 405 (``require_POST`` and the like: an action's address opened in the browser)
      becomes a page saying what the address is for, keeping the status and ``Allow``; htmx
      requests keep the short answer.
    - With DEBUG on, a POST too large for ``DATA_UPLOAD_MAX_MEMORY_SIZE`` would be Django's
      technical 400 page: where the site's ``handler400`` has an answer of its own (the import
      form, saying how much to paste: ``talks.admin_import.bad_request``), that is given
      instead, as with DEBUG off. Others keep the debug page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.DEBUG and _may_be_too_large(request):
            try:
                request.POST  # noqa: B018 (read as CsrfViewMiddleware would, just before)
            except RequestDataTooBig as exception:
                request._mark_post_parse_error()  # as Django does before its handler400
                handler = get_resolver(getattr(request, "urlconf", None)).resolve_error_handler(400)
                page = handler(request, exception=exception)
                if getattr(page, "site_own_answer", False):
                    return page
                raise  # Django's technical page, as without this middleware
        response = self.get_response(request)
        if response.status_code == 404 and settings.DEBUG:
            # An address no pattern matches reaches here as Django's technical page; only
            # then is it resolved again (a view's own 404 answer matches a pattern).
            try:
                get_resolver(getattr(request, "urlconf", None)).resolve(request.path_info)
            except Resolver404 as exception:
                return _not_found_page(request, exception)
        if response.status_code == 405 and not _has_body(response) and not request.htmx:
            return _not_allowed_page(request, response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if settings.DEBUG and isinstance(exception, Http404):
            return _not_found_page(request, exception)
        return None


def _may_be_too_large(request: HttpRequest) -> bool:
    """Whether reading the form data could raise RequestDataTooBig: only a body larger than
    the limit can (a small one is left alone, to be read where it always is)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    length = request.META.get("CONTENT_LENGTH") or ""
    return (
        request.method == "POST" and limit is not None and length.isdigit() and int(length) > limit
    )


def _not_found_page(request: HttpRequest, exception: Http404) -> HttpResponse:
    """The page of the URLconf's ``handler404``, as Django renders it with DEBUG off."""
    resolver = get_resolver(getattr(request, "urlconf", None))
    page = resolver.resolve_error_handler(404)(request, exception=exception)
    page.site_not_found_page = True  # for SiteCSPMiddleware
    return page


class SiteCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, which sends no policy with a 404 or 500 when DEBUG is on, for
    Django's technical pages (inline styles and script); the site's own 404 page, which
    readers get with DEBUG on too (above), keeps to the policy and gets it."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        response = super().process_response(request, response)
        if getattr(response, "site_not_found_page", False) and HEADER not in response:
            parts = self.get_policy_parts(request=request, response=response)
            response[HEADER] = build_policy(**asdict(parts))
        return response


def _has_body(response: HttpResponse) -> bool:
    return response.streaming or bool(response.content)


def _not_allowed_page(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    page = render(request, "405.html", {"path": request.path, "back": _back(request)}, status=405)
    if allow := response.get("Allow"):
        page["Allow"] = allow
    return page


def _back(request: HttpRequest) -> str:
    """The page the reader came from, if it is one of ours (and not this address)."""
    back = request.headers.get("Referer", "")
    ours = url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure())
    return back if ours and back != request.build_absolute_uri() else ""
