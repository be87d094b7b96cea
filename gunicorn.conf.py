"""gunicorn's settings for Confnotes, read from here when gunicorn starts in the project's folder.

Only Django decides whether a request came over HTTPS: BEHIND_TLS_PROXY=true sets its
SECURE_PROXY_SSL_HEADER (notes_site/settings.py). By default gunicorn would itself believe an
`X-Forwarded-Proto: https` from 127.0.0.1 (or any Unix-socket peer) and hand Django an https
request, so a plain-HTTP request claiming https escaped the HTTPS redirect whatever
BEHIND_TLS_PROXY said. Here gunicorn trusts no forwarded header from anyone; Django still reads
X-Forwarded-Proto when BEHIND_TLS_PROXY=true. Options on the command line still win over these.
"""

forwarded_allow_ips = ""  # no peer may set scheme or forwarder headers
secure_scheme_headers: dict[str, str] = {}  # and none would set the scheme (Unix sockets too)
