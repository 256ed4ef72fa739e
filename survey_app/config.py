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
    # Calls per API key (the case system or another integration).
    API_RATE_LIMIT = "600 per minute"
    # Counter tablets (kiosk mode, /kiosk): submissions per kiosk (no one fills in the
    # form in less; a faster tablet is refused with a "please wait" page, nothing stored,
    # and the quality flag kiosk_pace marks one merely fast), the seconds the thank-you
    # page with the receipt stays before a fresh form, and how long an enrolment link
    # stays usable.
    KIOSK_RATE_LIMIT = "1 per 20 seconds"
    KIOSK_RETURN_SECONDS = 8
    KIOSK_ENROL_HOURS = 24
    RATELIMIT_STORAGE_URI = "memory://"
    # Reverse proxies in front of the app that set X-Forwarded-For/-Proto/-Host (nginx: 1).
    # 0 trusts no such header: the address is the connection's.
    PROXY_COUNT = 0
    RATELIMIT_HEADERS_ENABLED = False
    # Public base URL printed on posters and forms (e.g. https://khaosat.tuyenquang.gov.vn).
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"
    # Append every response to the tamper-evident ledger. Only the benchmark turns this off,
    # to measure what the ledger costs; an installation must never do so.
    LEDGER_ENABLED = True
    # The answer tally is kept in steps: a submission counts the responses after the
    # campaign's tally mark once they span this many response ids (readers count the few
    # in between from their answers). 1: every submission counts its own.
    TALLY_STEP = 64
    # Serve an untouched survey page and a complete, valid submission without the
    # framework's per-request machinery (survey_app/citizen/fast.py); everything else goes
    # to the Flask views either way. Off only to compare the two.
    CITIZEN_FAST_PATH = True
    # werkzeug's scrypt (N=2**15, r=8, p=1): memory-hard, in the standard library.
    PASSWORD_HASH_METHOD = "scrypt"
    # Results: bootstrap replicates behind element and service intervals, their seed, and
    # the most respondents per group bootstrapped (above it, a seeded random sample).
    RESULTS_BOOTSTRAP = 1000
    RESULTS_SEED = 0
    RESULTS_BOOTSTRAP_CAP = 2000
    # Pages skip that bootstrap above this many responses (`flask report` never does).
    RESULTS_BOOTSTRAP_MAX_RESPONSES = 1_000_000
    # Breakdowns an officer or a published report shows (counts per channel, per profile
    # answer…) hide a group of fewer respondents than this, and whatever would give it
    # away from the totals (analysis.disclosure).
    MIN_CELL = 5
    # Read-aloud audio (survey_app/speech): the engine that voices a questionnaire (its
    # name in speech.engine.ENGINES), the Ogg Opus bitrate of every clip (speech in mono
    # at 10 kbit/s: a question read with its answers is 5–15 KB), the largest recording
    # an administrator may upload, the folder of the clips (empty: instance/audio), and
    # how often a process looks again (one stat of a file) for clips made by another
    # process: the survey page is otherwise served from memory.
    SPEECH_ENGINE = "espeak-ng"
    AUDIO_BITRATE_KBPS = 10
    AUDIO_MAX_UPLOAD_BYTES = 2 * 1024 * 1024
    AUDIO_FOLDER = ""
    AUDIO_RECHECK_SECONDS = 60
    # Quality flags for the auditor: overrides of analysis.quality.Thresholds, e.g.
    # {"speeder_ratio": 0.4, "burst_count": 8}. Unknown names are refused at use.
    QUALITY_THRESHOLDS: dict = {}
    # Invitations after a one-stop case (docs/operator.md, "Thư mời sau hồ sơ một cửa").
    # An import file's largest size and number of rows.
    INVITE_IMPORT_MAX_BYTES = 5 * 1024 * 1024
    INVITE_IMPORT_MAX_ROWS = 20_000
    # Attempts per invitation before it is given up (its form voided, its contact erased),
    # the wait before the second attempt (doubled before each further one), and the most
    # messages per second the sender hands to the SMTP server or the SMS gateway.
    INVITE_MAX_ATTEMPTS = 3
    INVITE_RETRY_SECONDS = 300
    INVITE_RATE_PER_SECOND = 5.0
    # E-mail over SMTP: MAIL_USE_TLS is STARTTLS (port 587), MAIL_USE_SSL implicit TLS
    # (port 465). No MAIL_SERVER: no e-mail is sent.
    MAIL_SERVER = ""
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME = ""
    MAIL_PASSWORD = ""
    MAIL_FROM = ""
    MAIL_TIMEOUT = 20
    # SMS through the provider's HTTP gateway. INVITE_SMS_URL is a template with {phone}
    # (0xxxxxxxxx), {phone84} (84xxxxxxxxx) and {message}, each URL-encoded, e.g.
    # "https://sms.example.vn/api/send?to={phone84}&text={message}"; with POST,
    # INVITE_SMS_BODY is a form-encoded template with the same placeholders. Credentials:
    # HTTP basic (INVITE_SMS_USERNAME/PASSWORD) and/or extra headers, e.g.
    # {"Authorization": "Bearer …"}. Any 2xx answer counts as sent. No URL: no SMS is sent.
    INVITE_SMS_URL = ""
    INVITE_SMS_METHOD = "GET"
    INVITE_SMS_BODY = ""
    INVITE_SMS_USERNAME = ""
    INVITE_SMS_PASSWORD = ""
    INVITE_SMS_HEADERS: dict = {}
    INVITE_SMS_TIMEOUT = 20
    # Observability (docs/deployment.md, "Giám sát / Monitoring"). Logs: "text" (as
    # `make run` shows them) or "json", one object a line with the request's id.
    LOG_FORMAT = "text"
    # A log line for every request (method, path without a link's token, status, time).
    # nginx keeps the access log already; a 5xx is logged whatever this says.
    ACCESS_LOG = False
    # Networks (CIDR) whose addresses may read /metrics (after PROXY_COUNT's headers are
    # applied); anyone else gets 404. With nginx in front, the scraper should reach
    # gunicorn directly or through a location nginx keeps to itself.
    METRICS_ALLOWED = ("127.0.0.1/32", "::1/128")
