from django.apps import AppConfig


class RunnerConfig(AppConfig):
    name = "runner"
    verbose_name = "Runner"

    def ready(self) -> None:
        from django_tasks.signals import task_enqueued

        from . import wakeup

        task_enqueued.connect(wakeup.on_task_enqueued, dispatch_uid="runner-wake-workers")
