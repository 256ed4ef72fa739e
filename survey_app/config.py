"""Built-in defaults; an installation overrides them in instance/config.py or SURVEY_* variables."""

from datetime import timedelta


class Defaults:
    # Resolved inside the instance folder by the factory when left relative.
    SQLALCHEMY_DATABASE_URI = "sqlite:///survey.sqlite"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")
    # Reverse proxies terminate TLS in production; cookies must then be Secure.
    SESSION_COOKIE_SECURE = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    # Largest request body accepted, survey answers included (a full form is ~3 KB).
    MAX_CONTENT_LENGTH = 256 * 1024
    # Failed logins per address before the login form is throttled.
    LOGIN_RATE_LIMIT = "10 per 15 minutes"
    # Submissions through a poster's open link per network address. A one-stop counter's
    # Wi-Fi puts many citizens behind one address, so this is generous.
    OPEN_LINK_RATE_LIMIT = "30 per 10 minutes"
    # Calls per API key (a kiosk or the case system).
    API_RATE_LIMIT = "600 per minute"
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = False
    # Public base URL printed on posters and forms (e.g. https://khaosat.tuyenquang.gov.vn).
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"
    # werkzeug's scrypt (N=2**15, r=8, p=1): memory-hard, in the standard library.
    PASSWORD_HASH_METHOD = "scrypt"
