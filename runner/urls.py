from django.urls import path

from . import views, views_swarm

app_name = "runner"

urlpatterns = [
    path("run/confirm/", views.confirm, name="confirm"),
    path("run/line/<int:line_id>/", views.run_line, name="run_line"),
    path("run/snippet/<int:snippet_id>/", views.run_snippet, name="run_snippet"),
    path("runs/<int:run_id>/", views.run_detail, name="run"),
    path("snippets/<int:snippet_id>/history/", views.snippet_history, name="history"),
    path("sandbox/reset/", views.sandbox_reset, name="sandbox_reset"),
    path("swarm/", views_swarm.swarm, name="swarm"),
    path("sandbox/start/", views_swarm.sandbox_start, name="sandbox_start"),
    path("sandbox/nodes/<slug:node>/stop/", views_swarm.node_stop, name="node_stop"),
    path("sandbox/nodes/<slug:node>/start/", views_swarm.node_start, name="node_start"),
]
