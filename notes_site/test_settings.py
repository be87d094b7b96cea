"""Settings for the test suite: the production module with a throwaway key and fast hashing."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
RUNNER_ANONYMOUS = True
RUNNER_POOL_SIZE = 0
# Engine tests keep sandboxes in pytest's private (0700) tmp dirs, which --userns-remap cannot
# traverse; tests/integration/test_faults.py runs the production default, remapped.
RUNNER_USERNS_REMAP = False
# Tests that want sandboxes take the `sandboxes` fixture (a directory of their own, reaped after
# each test). Any other test that ends up starting one starts it here, in a directory of this
# run's own (runs may overlap), which tests/conftest.py reaps when the run ends.
TEST_SANDBOXES_DIR = Path("/tmp/confnotes-test-sandboxes")  # noqa: F405,S108
RUNNER_BASE_DIR = Path(  # noqa: F405
    os.environ.get("RUNNER_BASE_DIR", TEST_SANDBOXES_DIR / f"run-{os.getpid()}")
)
RUNNER_IMAGES_DIR = Path(os.environ.get("RUNNER_IMAGES_DIR", "/tmp/confnotes-test-images"))  # noqa: F405,S108

# A file, not memory: engine tests start a real worker process that must see the test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    _name = f"test-confnotes-{os.getpid()}.sqlite3"  # one per test run: runs may overlap
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / _name)}  # noqa: F405
