from django.urls import path

from . import exporting, feeds, views, views_search

app_name = "talks"

urlpatterns = [
    path("", views.home, name="home"),
    path("tags/", views.tag_list, name="tag_list"),
    path("tags/<slug:slug>/", views.tag, name="tag"),
    path("search/", views_search.search, name="search"),
    path("follow-ups/", views_search.follow_ups, name="follow_ups"),
    path("follow-ups/<slug:slug>/", views_search.follow_ups, name="conference_follow_ups"),
    path(
        "follow-ups/<int:pk>/resolve/",
        views_search.resolve_follow_up,
        name="resolve_follow_up",
    ),
    path("c/<slug:slug>/", views.conference, name="conference"),
    path("feeds/days.atom", feeds.DaysFeed(), name="feed"),
    path("c/<slug:slug>/days.atom", feeds.DaysFeed(), name="conference_feed"),
    path(
        "c/<slug:slug>/export.<str:fmt>",
        exporting.export_conference_view,
        name="conference_export",
    ),
    path(
        "c/<slug:conference_slug>/<slug:day_slug>/export.<str:fmt>",
        exporting.export_day_view,
        name="day_export",
    ),
    path("c/<slug:conference_slug>/<slug:day_slug>/", views.day, name="day"),
    path(
        "c/<slug:conference_slug>/<slug:day_slug>/<slug:talk_slug>/",
        views.talk,
        name="talk",
    ),
]
