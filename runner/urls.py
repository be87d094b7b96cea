from django.urls import path

from . import views

app_name = "runner"

urlpatterns = [
    path("run/line/<int:line_id>/", views.run_line, name="run_line"),
    path("run/snippet/<int:snippet_id>/", views.run_snippet, name="run_snippet"),
    path("runs/<int:run_id>/", views.run_detail, name="run"),
    path("snippets/<int:snippet_id>/history/", views.snippet_history, name="history"),
    path("sandbox/reset/", views.sandbox_reset, name="sandbox_reset"),
]
