import os
import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notes_site.settings")
try:
    application = get_wsgi_application()
except ImproperlyConfigured as error:
    # A setting's value at fault (notes_site/env.py names the variable): say so in one line;
    # the server then stops for want of an application.
    print(f"Configuration error: {error}", file=sys.stderr)
    raise SystemExit(3) from None
