from django.urls import path

app_name = "runner"

urlpatterns: list = []
