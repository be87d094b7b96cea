from django.apps import AppConfig


class RunnerConfig(AppConfig):
    name = "runner"
    verbose_name = "Runner"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out
        from django_tasks.signals import task_enqueued

        from . import visitors, wakeup

        task_enqueued.connect(wakeup.on_task_enqueued, dispatch_uid="runner-wake-workers")
        user_logged_out.connect(visitors.forget_visitor, dispatch_uid="runner-forget-visitor")
