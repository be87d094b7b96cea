from django.urls import path

from . import views

app_name = "talks"

urlpatterns = [
    path("", views.home, name="home"),
    path("tags/", views.tag_list, name="tag_list"),
    path("tags/<slug:slug>/", views.tag, name="tag"),
    path("c/<slug:slug>/", views.conference, name="conference"),
    path("c/<slug:conference_slug>/<slug:day_slug>/", views.day, name="day"),
    path(
        "c/<slug:conference_slug>/<slug:day_slug>/<slug:talk_slug>/",
        views.talk,
        name="talk",
    ),
]
